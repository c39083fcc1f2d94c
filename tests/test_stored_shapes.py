"""Stored records of the wrong shape, and values from a newer version.

A record's every field is checked as it is read (``CallRecord.from_dict``):
a file holding one of the wrong kind is moved aside (``test_attack3_storage``),
a journal entry is skipped alone. A value of a known field this version
does not know is kept, and the enum sensors show it as unknown.
"""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.infocaller.records import (
    CallRecord,
    InfocallerRecords,
    records_store,
)
from custom_components.infocaller.saving import UnreadableStateError

from .conftest import WEBHOOK_ID, issue_call

NOW = "2030-03-01 12:00:00+00:00"
LAST_RESULT = "sensor.infocaller_34910000000_last_result"
STATUS = "sensor.infocaller_34910000000_last_call_status"


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "time": "2030-03-01T11:59:00+00:00",
        "source": "action",
        "phone": "+34611222333",
        "rule_group": "Aviso",
        "scheduled_for": "2030-03-01T12:30:00+01:00",
        "result": 0,
        "result_key": "accepted",
        "result_text": "Aceptada",
        "call_id": "4700",
        "saved_call": None,
        "status": "answered",
        "window_end": "2030-03-01T12:05:30+00:00",
        "answered_at": "2030-03-01T12:00:10+00:00",
        "ended_at": None,
        "talk_seconds": 12.5,
        "digits": "1",
    }
    record.update(changes)
    return record


def test_a_record_of_the_right_kinds_is_read_back() -> None:
    """Every field of the right kind: read back as it was written."""
    record = CallRecord.from_dict(_record(talk_seconds=12, result=None))
    assert record.as_dict() == _record(talk_seconds=12, result=None)


@pytest.mark.parametrize(
    "changes",
    [
        {"time": None},
        {"time": 12},
        {"time": "yesterday"},
        {"time": "2030-03-01T11:59:00"},  # no offset
        {"time": "2030-13-01T11:59:00+00:00"},  # well formed, no such day
        {"phone": 34611222333},
        {"result_key": ["accepted"]},
        {"call_id": 4700},
        {"saved_call": {}},
        {"status": 1},
        {"digits": 1},
        {"scheduled_for": 12},
        {"scheduled_for": "tomorrow"},
        {"window_end": "2030-03-01T12:05:30"},
        {"answered_at": True},
        {"ended_at": ["2030-03-01T12:05:30+00:00"]},
        {"result": "0"},
        {"result": False},
        {"result": 0.0},
        {"talk_seconds": "12"},
        {"talk_seconds": True},
        {"talk_seconds": float("nan")},
    ],
)
def test_a_field_of_the_wrong_kind_makes_the_record_unreadable(
    changes: dict[str, Any],
) -> None:
    """A value of the wrong kind, or a time that is not one, is refused."""
    with pytest.raises(UnreadableStateError):
        CallRecord.from_dict(_record(**changes))


def test_a_newer_versions_values_are_kept() -> None:
    """A result key or status this version does not know is kept as it is."""
    record = CallRecord.from_dict(
        _record(result_key="a_newer_key", status="a_newer_status", newer_field=1)
    )
    assert (record.result_key, record.status) == ("a_newer_key", "a_newer_status")


async def test_a_journal_entry_of_the_wrong_kind_is_skipped_alone(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """One bad entry in the records' journal: the others are taken."""
    entry_id = mock_config_entry.entry_id
    journal = Path(f"{records_store(hass, entry_id).path}.journal")
    lines = [
        {"s": 1, "c": None, "r": _record(call_id="4700")},
        {"s": 2, "c": None, "r": _record(call_id="4701", window_end=12)},
        {"s": 3, "c": None, "r": _record(call_id="4702")},
    ]

    def write() -> None:
        journal.parent.mkdir(parents=True, exist_ok=True)
        journal.write_text("".join(f"{json.dumps(line)}\n" for line in lines))

    await hass.async_add_executor_job(write)
    records = InfocallerRecords(hass, entry_id)
    assert not await records.async_load()
    assert [record.call_id for record in records.recent] == ["4700", "4702"]
    assert records.accepted_calls == 2


async def test_a_newer_versions_values_show_as_unknown(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The enum sensors show unknown; their attributes keep the record."""
    freezer.move_to(NOW)
    key = records_store(hass, mock_config_entry.entry_id).key
    record = _record(result_key="a_newer_key", status="a_newer_status")
    hass_storage[key] = {
        "version": 1,
        "minor_version": 2,
        "key": key,
        "data": {
            "accepted_calls": 1,
            "recent": [record],
            "last_answer": record,
            "last_progress": record,
            "seq": 0,
        },
    }
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    result, status = hass.states.get(LAST_RESULT), hass.states.get(STATUS)
    assert (result.state, status.state) == ("unknown", "unknown")
    assert result.attributes["result_key"] == "a_newer_key"
    assert status.attributes["status"] == "a_newer_status"


async def test_call_progress_turned_off_keeps_what_was_reported(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
    hass_client_no_auth: Any,
) -> None:
    """Only a call still queued loses its status: an answered one stays so."""
    response = await issue_call(hass, "+34611222333")
    client = await hass_client_no_auth()
    answered = await client.get(
        f"/api/webhook/{WEBHOOK_ID}",
        params={"event": "answered", "call_id": response["call_id"]},
    )
    assert answered.status == 200
    await hass.async_block_till_done()
    assert hass.states.get(STATUS).state == "answered"
    hass.config_entries.async_update_entry(
        progress_integration,
        options={**progress_integration.options, "call_progress": False},
    )
    await hass.async_block_till_done()
    freezer.tick(timedelta(days=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(STATUS).state == "answered"


async def test_call_progress_turned_off_lets_a_queued_call_go(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """The queued call's record keeps no status: the sensor shows unknown."""
    await issue_call(hass, "+34611222333")
    assert hass.states.get(STATUS).state == "queued"
    hass.config_entries.async_update_entry(
        progress_integration,
        options={**progress_integration.options, "call_progress": False},
    )
    await hass.async_block_till_done()
    state = hass.states.get(STATUS)
    assert state.state == "unknown"
    assert state.attributes["status"] is None
    assert hass.states.get(LAST_RESULT).attributes["status"] is None
