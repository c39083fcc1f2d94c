"""The call-result event entity."""

from __future__ import annotations

from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.infocaller.const import ALL_RESULT_KEYS, DOMAIN

from .conftest import check_line_entities

ENTITIES = {
    "event.infocaller_34910000000_call_result": "call_result",
    "event.infocaller_34910000000_call_progress": "call_progress",
}


async def test_event_entities(
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
