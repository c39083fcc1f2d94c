"""Attack 3: files of the wrong shape that stop the line from loading.

``saving.py`` promises: a file this version cannot use (values of the wrong
kind included) never stops the line from loading: it is moved aside, a
repair issue says what was lost, the line starts empty.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.const import DOMAIN
from custom_components.infocaller.progress_state import progress_store
from custom_components.infocaller.records import records_store
from custom_components.infocaller.saving import lost_issue_id

from .conftest import WEBHOOK_ID

NOW = "2030-03-01 12:00:00+00:00"


def _record(**changes: Any) -> dict[str, Any]:
    record = {
        "time": "2030-03-01T11:59:00+00:00",
        "source": "action",
        "phone": "+34611222333",
        "rule_group": "Aviso",
        "scheduled_for": None,
        "result": 0,
        "result_key": "accepted",
        "result_text": "Aceptada",
        "call_id": "4700",
        "saved_call": None,
        "status": "queued",
        "window_end": "2030-03-01T12:05:30+00:00",
        "answered_at": None,
        "ended_at": None,
        "talk_seconds": None,
        "digits": None,
    }
    record.update(changes)
    return record


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={"call_progress": True, "webhook_id": WEBHOOK_ID}
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "changes",
    [
        {"window_end": 12},
        {"answered_at": 12},
        {"window_end": ["2030-03-01T12:05:30+00:00"]},
    ],
    ids=["window_end_int", "answered_at_int", "window_end_list"],
)
async def test_attack3_progress_file_with_a_wrong_kind_of_time_loads(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    changes: dict[str, Any],
) -> None:
    """A followed call whose time is not text: the file goes aside, the line loads."""
    freezer.move_to(NOW)
    key = progress_store(hass, mock_config_entry.entry_id).key
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"tracked": [_record(**changes)]},
    }
    await _set_up(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, lost_issue_id(key)) is not None


@pytest.mark.parametrize(
    "changes",
    [{"scheduled_for": 12}, {"window_end": 12}, {"ended_at": 12}],
    ids=["scheduled_for_int", "window_end_int", "ended_at_int"],
)
async def test_attack3_records_file_with_a_wrong_kind_of_time_loads(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    changes: dict[str, Any],
) -> None:
    """A followed call in the records' recent results whose time is not text.

    With no progress file (a new line's first set-up after an upgrade, or a
    progress file moved aside), progress reads the records' recent calls.
    """
    freezer.move_to(NOW)
    key = records_store(hass, mock_config_entry.entry_id).key
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"accepted_calls": 1, "recent": [_record(**changes)], "seq": 0},
    }
    await _set_up(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, lost_issue_id(key)) is not None


async def test_attack3_a_newer_versions_result_key_keeps_the_sensors(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A records file of a newer minor version with a result key this one lacks.

    "A newer minor version of the same major: extra fields are ignored"
    (saving.py); a new value in a known field makes the enum sensors fail
    to be added: the line's last result and last call status are gone.
    """
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
    await _set_up(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    for entity_id in (
        "sensor.infocaller_34910000000_last_result",
        "sensor.infocaller_34910000000_last_call_status",
    ):
        assert hass.states.get(entity_id) is not None, entity_id


async def test_attack3_a_followed_call_whose_number_is_not_text_breaks_no_report(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    hass_client_no_auth: Any,
) -> None:
    """A progress file whose followed call has a number that is not text.

    It loads (nothing checks a record's field kinds), and then every
    report that names a number fails in ``same_number`` (an
    AttributeError in the webhook, which Home Assistant logs and answers
    200): no report naming a number is applied or even counted while that
    call is followed.
    """
    freezer.move_to(NOW)
    key = progress_store(hass, mock_config_entry.entry_id).key
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"tracked": [_record(phone=34611222333, call_id="4700")]},
    }
    await _set_up(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    client = await hass_client_no_auth()
    response = await client.get(
        f"/api/webhook/{WEBHOOK_ID}",
        params={"event": "answered", "called": "+34699000000"},
    )
    assert response.status == 200
    # Matched nothing: counted (and kept for a call not followed yet).
    assert mock_config_entry.runtime_data.progress.unmatched_reports == 1


async def test_attack3_an_older_records_files_followed_call_without_a_time_loads(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A records file from before progress had its own store (``tracked``).

    ``records._restore`` keeps any tracked item whose time is text; progress
    takes them with ``_restore`` outside ``async_load_state``: a time that
    is not a time raises ValueError out of the set-up.
    """
    freezer.move_to(NOW)
    key = records_store(hass, mock_config_entry.entry_id).key
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": {"accepted_calls": 1, "tracked": [_record(time="yesterday")]},
    }
    await _set_up(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
