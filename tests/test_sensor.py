"""The line's sensors: last result, last call, call counts."""

from __future__ import annotations

from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.infocaller.const import ALL_RESULT_KEYS

from .conftest import LINE, place_two_calls, states_json

ENTITIES = {
    "sensor.infocaller_34910000000_accepted_calls": "accepted_calls",
    "sensor.infocaller_34910000000_last_call": "last_call",
    "sensor.infocaller_34910000000_last_result": "last_result",
    "sensor.infocaller_34910000000_refused_calls": "refused_calls",
}


async def test_sensor_entities(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Each entity with its translation key and unique id; states before and after."""
    freezer.move_to("2030-03-01 12:00:00+00:00")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    for entity_id, key in ENTITIES.items():
        entry = entity_registry.async_get(entity_id)
        assert entry is not None, entity_id
        assert entry.translation_key == key
        assert entry.unique_id == f"{LINE}_{key}"
        assert entry.has_entity_name
    assert states_json(hass, list(ENTITIES)) == snapshot(name="before")
    await place_two_calls(hass, mock_infocaller, freezer)
    assert states_json(hass, list(ENTITIES)) == snapshot(name="after")


@pytest.mark.usefixtures("setup_integration")
async def test_sensor_options_are_the_result_keys(hass: HomeAssistant) -> None:
    """The enum sensor lists every key, so each has a translated state."""
    state = hass.states.get("sensor.infocaller_34910000000_last_result")
    assert state.attributes["options"] == list(ALL_RESULT_KEYS)
