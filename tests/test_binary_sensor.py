"""The line-problem binary sensor."""

from __future__ import annotations

from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from .conftest import check_line_entities

ENTITIES = {
    "binary_sensor.infocaller_34910000000_line_problem": "line_problem",
}


async def test_binary_sensor_entities(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Each entity with its translation key and unique id; states before and after."""
    await check_line_entities(
        hass, mock_config_entry, mock_infocaller, freezer, snapshot, ENTITIES
    )
