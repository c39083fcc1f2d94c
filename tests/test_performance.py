"""What keeps a call cheap and start-up light (issue: performance).

The figures themselves come from ``scripts/bench``; these tests pin the
mechanisms so that they cannot silently regress.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
import subprocess
import sys
from typing import Any
from unittest.mock import MagicMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller import caller, validation
from custom_components.infocaller.const import DEFAULT_TIME_ZONE, DOMAIN
from custom_components.infocaller.records import CallRecord

from .conftest import ROOT_DIR

REFUSED = "sensor.infocaller_34910000000_refused_calls"
ACCEPTED = "sensor.infocaller_34910000000_accepted_calls"
LINE_PROBLEM = "binary_sensor.infocaller_34910000000_line_problem"


def test_importing_the_integration_does_not_import_phonenumbers() -> None:
    """Phonenumbers (about 27 ms) and the chain are imported on first use.

    Both in Home Assistant's executors, never at its start. So is the
    call-progress receiver and its report reader (about 2 ms): only a line
    with call progress loads them, when it is set up.
    """
    modules = ", ".join(
        f"custom_components.infocaller.{name}"
        for name in (
            "config_flow",
            "sensor",
            "binary_sensor",
            "event",
            "button",
            "notify",
            "intent",
            "diagnostics",
            "logbook",
        )
    )
    code = (
        f"import custom_components.infocaller, {modules}; import sys; "
        "print(*(name in sys.modules for name in ('phonenumbers', "
        "'custom_components.infocaller.chain', "
        "'custom_components.infocaller.receiver', "
        "'custom_components.infocaller.api.progress')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False False False False", result.stderr


@pytest.mark.usefixtures("setup_integration")
async def test_a_known_number_skips_the_executor(hass: HomeAssistant) -> None:
    """Only a number not seen before is normalised in the executor."""
    validation._normalized.clear()
    with (
        patch.object(
            validation, "normalize_phone", wraps=validation.normalize_phone
        ) as normalize,
        patch.object(
            hass, "async_add_executor_job", wraps=hass.async_add_executor_job
        ) as executor,
    ):
        for rule_group in ("A", "B", "C"):
            await hass.services.async_call(
                DOMAIN,
                "issue_call",
                {"phone": "611 22 23 33", "rule_group": rule_group},
                blocking=True,
            )
    hops = [call for call in executor.call_args_list if call.args[0] is normalize]
    assert len(hops) == 1
    # Computed once; the other two calls were served from the cache.
    assert normalize.call_count == 1


@pytest.mark.usefixtures("setup_integration")
async def test_sensors_that_cannot_change_are_not_written(
    hass: HomeAssistant, mock_infocaller: MagicMock, freezer: FrozenDateTimeFactory
) -> None:
    """An accepted call does not rewrite the refused-calls sensor, and so on."""
    from custom_components.infocaller.api import InfocallerTimeoutError

    before = {e: hass.states.get(e).last_reported for e in (REFUSED, LINE_PROBLEM)}
    freezer.tick(timedelta(seconds=5))
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "A"},
        blocking=True,
    )
    assert hass.states.get(REFUSED).last_reported == before[REFUSED]
    assert hass.states.get(ACCEPTED).state == "1"
    # A second accepted call leaves the line-problem sensor alone too.
    problem = hass.states.get(LINE_PROBLEM).last_reported
    freezer.tick(timedelta(seconds=5))
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222335", "rule_group": "A"},
        blocking=True,
    )
    assert hass.states.get(LINE_PROBLEM).last_reported == problem
    assert hass.states.get(ACCEPTED).state == "2"
    # No answer at all: neither counter nor the line problem can change.
    answered = hass.states.get(LINE_PROBLEM).last_reported
    accepted = hass.states.get(ACCEPTED).last_reported
    freezer.tick(timedelta(seconds=5))
    mock_infocaller.issue_call.side_effect = InfocallerTimeoutError("slow")
    with pytest.raises(Exception):  # noqa: B017, PT011 - checked in test_services
        await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": "+34611222334", "rule_group": "A"},
            blocking=True,
        )
    assert hass.states.get(LINE_PROBLEM).last_reported == answered
    assert hass.states.get(ACCEPTED).last_reported == accepted
    assert hass.states.get(REFUSED).last_reported == before[REFUSED]
    assert (
        hass.states.get("sensor.infocaller_34910000000_last_result").state
        == "no_answer"
    )


def test_record_dict_has_every_field() -> None:
    """The hand-written as_dict (no deep copy) keeps every field of the record."""
    record = CallRecord.from_dict(
        {
            "time": "2030-01-01T00:00:00+00:00",
            "source": "action",
            "phone": "+34611222333",
            "rule_group": "A",
            "scheduled_for": None,
            "result": 0,
            "result_key": "accepted",
            "result_text": "Aceptada",
            "call_id": "1",
        }
    )
    assert set(record.as_dict()) == {f.name for f in fields(CallRecord) if f.init}
    assert CallRecord.from_dict(record.as_dict()) == record
    # Each caller gets its own copy of the one dict.
    mine = record.as_dict()
    mine["phone"] = "changed"
    assert record.as_dict()["phone"] == "+34611222333"


@pytest.mark.usefixtures("setup_integration")
async def test_a_call_builds_its_record_dict_once(hass: HomeAssistant) -> None:
    """Event, event entity, last-result sensor and response share one dict."""
    events = async_capture_events(hass, f"{DOMAIN}_call_result")
    with patch.object(
        CallRecord, "_make_dict", autospec=True, side_effect=CallRecord._make_dict
    ) as make:
        response = await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": "+34611222333", "rule_group": "A"},
            blocking=True,
            return_response=True,
        )
    assert make.call_count == 1
    state = hass.states.get("sensor.infocaller_34910000000_last_result")
    data = dict(events[0].data)
    assert data.pop("config_entry_id")
    assert data == response
    assert state.attributes["call_id"] == response["call_id"]
    assert state.attributes["time"] == response["time"]


@pytest.mark.usefixtures("setup_integration")
async def test_the_guard_forgets_what_left_its_window(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The duplicate guard's memory holds only the window's calls."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    # 30 calls to one number: without the hourly limit of 10.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "max_calls_per_number": 0}
    )
    await hass.async_block_till_done()
    guard = entry.runtime_data.caller.guard
    for index in range(30):
        await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": "+34611222333", "rule_group": "A", "variables": {"N": index}},
            blocking=True,
        )
    assert len(guard._sent) == 30
    freezer.tick(timedelta(seconds=61))
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "B"},
        blocking=True,
    )
    assert len(guard._sent) == 1


@pytest.mark.usefixtures("setup_integration")
async def test_the_guard_never_scans_every_number(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Checking a call costs O(expired), not O(numbers called this hour).

    A scan of every number on every call made bursts O(n²) (measured: 0.3 ms
    a call with a few thousand numbers in the hour).
    """
    from collections import deque

    from custom_components.infocaller.api import CallRequest

    entry = hass.config_entries.async_entries(DOMAIN)[0]
    guard = entry.runtime_data.caller.guard

    class NoScan(dict[str, deque[float]]):
        def __iter__(self) -> Any:
            raise AssertionError("the guard scanned every number")

        def keys(self) -> Any:
            raise AssertionError("the guard scanned every number")

        def items(self) -> Any:
            raise AssertionError("the guard scanned every number")

    guard._by_number = NoScan(guard._by_number)
    for index in range(3000):
        ticket = guard.async_check(
            CallRequest(phone=f"+34622{index:06d}", rule_group="A")
        )
        guard.async_sent(ticket)
    assert len(guard._by_number) == 3000
    # An hour later, the next check forgets them all, one by one.
    freezer.tick(timedelta(hours=1, seconds=1))
    guard.async_sent(
        guard.async_check(CallRequest(phone="+34611000000", rule_group="A"))
    )
    assert dict.__len__(guard._by_number) == 1
    assert len(guard._number_log) == 1
    guard._by_number = dict(dict.items(guard._by_number))  # saving may scan


async def test_the_account_time_zone_is_read_once(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller_class: MagicMock,
) -> None:
    """Set-up, reload and an options change look the time zone up once.

    Home Assistant's ``async_get_time_zone`` goes to the executor on every
    call (its cache is never filled on CPython); an unknown zone is not
    kept, so it is looked up again (and falls back to Home Assistant's).
    """
    caller._TIME_ZONES.clear()
    mock_config_entry.add_to_hass(hass)
    with patch.object(
        caller.dt_util, "async_get_time_zone", wraps=caller.dt_util.async_get_time_zone
    ) as lookup:
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
        hass.config_entries.async_update_entry(
            mock_config_entry, options={"repeat_window": 30}
        )
        await hass.async_block_till_done()
        assert lookup.await_count == 1
        zones = [c.kwargs["time_zone"] for c in mock_infocaller_class.call_args_list]
        assert len(zones) == 3
        assert all(zone is zones[0] for zone in zones)
        assert str(zones[0]) == DEFAULT_TIME_ZONE

        assert await caller.async_time_zone("Mars/Olympus_Mons") is None
        assert await caller.async_time_zone("Mars/Olympus_Mons") is None
        assert lookup.await_count == 3
        assert "Mars/Olympus_Mons" not in caller._TIME_ZONES
