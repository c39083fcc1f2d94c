"""The call-result event entity."""

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

from custom_components.infocaller.const import ALL_RESULT_KEYS, DOMAIN


@pytest.mark.usefixtures("setup_integration")
async def test_event_entity_fires_each_result(hass: HomeAssistant) -> None:
    """The event entity's type follows every result."""
    entity_id = "event.infocaller_34910000000_call_result"
    assert hass.states.get(entity_id).attributes["event_types"] == list(ALL_RESULT_KEYS)
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "A"},
        blocking=True,
    )
    state = hass.states.get(entity_id)
    assert state.attributes["event_type"] == "accepted"
    assert state.attributes["call_id"] == "4711"
    assert state.attributes["source"] == "action"


@pytest.mark.parametrize("init_platform", [Platform.EVENT], indirect=True)
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
