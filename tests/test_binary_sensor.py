"""The line-problem binary sensor."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion


@pytest.mark.parametrize("init_platform", [Platform.BINARY_SENSOR], indirect=True)
async def test_entities(
    hass: HomeAssistant,
    init_platform: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    platform_snapshot: SnapshotAssertion,
) -> None:
    """The platform's entities: registry entries and states, after two calls."""
    await snapshot_platform(
        hass, entity_registry, platform_snapshot, init_platform.entry_id
    )
