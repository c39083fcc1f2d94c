"""Tests for the entities: states (snapshots), translation keys, event entity."""

from __future__ import annotations

import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.infocaller.const import ALL_RESULT_KEYS, DOMAIN

from .conftest import LINE, answer_json

ENTITIES = {
    "binary_sensor.infocaller_34910000000_line_problem": "line_problem",
    "event.infocaller_34910000000_call_result": "call_result",
    "sensor.infocaller_34910000000_accepted_calls": "accepted_calls",
    "sensor.infocaller_34910000000_last_call": "last_call",
    "sensor.infocaller_34910000000_last_result": "last_result",
    "sensor.infocaller_34910000000_refused_calls": "refused_calls",
}


def _states(hass: HomeAssistant) -> dict[str, Any]:
    """States as plain JSON, so both Home Assistant legs share one snapshot."""
    return json.loads(
        json.dumps(
            {
                entity_id: {
                    "state": hass.states.get(entity_id).state,
                    "attributes": dict(hass.states.get(entity_id).attributes),
                }
                for entity_id in ENTITIES
            },
            default=str,
        )
    )


async def test_entities(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
    mock_answer: Any,
) -> None:
    """Every entity, before and after a call, with its translation key."""
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
    assert _states(hass) == snapshot(name="before")

    mock_answer(answer_json(0, "4711"))
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "Aviso"},
        blocking=True,
    )
    freezer.tick(60)
    mock_answer(answer_json(11))
    with pytest.raises(Exception):  # noqa: B017, PT011 - checked in test_services
        await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": "+34611222334", "rule_group": "Aviso"},
            blocking=True,
        )
    assert _states(hass) == snapshot(name="after")


@pytest.mark.usefixtures("init_integration")
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


@pytest.mark.usefixtures("init_integration")
async def test_sensor_options_are_the_result_keys(hass: HomeAssistant) -> None:
    """The enum sensor lists every key, so each has a translated state."""
    state = hass.states.get("sensor.infocaller_34910000000_last_result")
    assert state.attributes["options"] == list(ALL_RESULT_KEYS)
