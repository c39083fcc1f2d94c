"""The line's sensors: last result, last call, call counts."""

from __future__ import annotations

from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.infocaller.const import ALL_RESULT_KEYS, DOMAIN


@pytest.mark.usefixtures("setup_integration")
async def test_sensor_options_are_the_result_keys(hass: HomeAssistant) -> None:
    """The enum sensor lists every key, so each has a translated state."""
    state = hass.states.get("sensor.infocaller_34910000000_last_result")
    assert state.attributes["options"] == list(ALL_RESULT_KEYS)


PLUMBER_RESULT = "sensor.call_el_fontanero_last_result"
MUM_RESULT = "sensor.call_mama_last_result"


async def test_saved_call_result_sensor(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Each saved call's device shows the result of its own last call."""
    from homeassistant.exceptions import HomeAssistantError

    from custom_components.infocaller.api import CallResult, InfocallerRejectedError

    from .conftest import BUTTON, NOTIFY

    assert hass.states.get(PLUMBER_RESULT).state == "unknown"
    assert hass.states.get(PLUMBER_RESULT).attributes["options"] == list(
        ALL_RESULT_KEYS
    )

    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    state = hass.states.get(PLUMBER_RESULT)
    assert state.state == "accepted"
    assert (state.attributes["saved_call"], state.attributes["source"]) == (
        "El fontanero",
        "button",
    )
    # The action and another saved call do not touch it.
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34699000001", "rule_group": "A"},
        blocking=True,
    )
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=11, result_text="Saldo insuficiente")
    )
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": NOTIFY, "message": "hola"},
            blocking=True,
        )
    assert hass.states.get(MUM_RESULT).state == "insufficient_balance"
    assert hass.states.get(PLUMBER_RESULT).state == "accepted"
    assert hass.states.get(PLUMBER_RESULT).attributes["call_id"] == "4711"


@pytest.mark.usefixtures("mock_infocaller")
async def test_saved_call_results_survive_a_restart(
    hass: HomeAssistant,
    saved_calls_entry: MockConfigEntry,
    hass_storage: dict,
) -> None:
    """Restored from the records; a deleted saved call's record is dropped."""
    from custom_components.infocaller.records import CallRecord

    record = {
        "time": "2030-04-30T07:00:00+00:00",
        "source": "intent",
        "phone": "+34611222333",
        "rule_group": "Aviso",
        "scheduled_for": None,
        "result": 0,
        "result_key": "accepted",
        "result_text": "Aceptada",
        "call_id": "9",
        "saved_call": "El fontanero",
    }
    hass_storage[f"{DOMAIN}.{saved_calls_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{saved_calls_entry.entry_id}",
        "data": {
            "accepted_calls": 1,
            "refused_calls": 0,
            "last_answer": record,
            "recent": [record],
            "by_saved_call": {"plumber01": record, "deleted99": record},
        },
    }
    saved_calls_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(saved_calls_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(PLUMBER_RESULT).state == "accepted"
    assert hass.states.get(PLUMBER_RESULT).attributes["call_id"] == "9"
    records = saved_calls_entry.runtime_data.records
    assert set(records.by_saved_call) == {"plumber01"}
    assert records.by_saved_call["plumber01"] == CallRecord.from_dict(record)


async def test_saved_call_result_follows_call_progress(
    hass: HomeAssistant,
    saved_calls_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The saved call's Last result shows its call answered, then ended."""
    from .conftest import BUTTON, WEBHOOK_ID

    freezer.move_to("2030-03-01 12:00:00+00:00")
    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    state = hass.states.get(PLUMBER_RESULT)
    assert state.state == "accepted"
    assert state.attributes["status"] == "queued"
    assert state.attributes["answered_at"] is None

    client = await hass_client_no_auth()
    freezer.tick(20)
    response = await client.get(
        f"/api/webhook/{WEBHOOK_ID}", params={"event": "answered", "call_id": "4711"}
    )
    assert response.status == 200
    await hass.async_block_till_done()
    state = hass.states.get(PLUMBER_RESULT)
    assert state.state == "accepted"
    assert state.attributes["status"] == "answered"
    assert state.attributes["answered_at"] == "2030-03-01T12:00:20+00:00"

    freezer.tick(42)
    response = await client.get(
        f"/api/webhook/{WEBHOOK_ID}", params={"event": "ended", "call_id": "4711"}
    )
    assert response.status == 200
    await hass.async_block_till_done()
    state = hass.states.get(PLUMBER_RESULT)
    assert state.attributes["ended_at"] == "2030-03-01T12:01:02+00:00"
    assert state.attributes["talk_seconds"] == 42.0
    # The other saved call's sensor is not touched.
    assert hass.states.get(MUM_RESULT).state == "unknown"


@pytest.mark.parametrize("init_platform", [Platform.SENSOR], indirect=True)
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
