"""What keeps a call cheap and start-up light (issue: performance).

The figures themselves come from ``scripts/bench`` (which also checks that
the duplicate guard's cost does not grow with the numbers called); these
tests check what can be seen from outside: modules imported, executor jobs,
state writes, diagnostics and the client the line builds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import timedelta
import subprocess
import sys
from typing import Any
from unittest.mock import MagicMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller.const import DOMAIN
from custom_components.infocaller.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.infocaller.entity import InfocallerStateEntity
from custom_components.infocaller.event import (
    InfocallerCallProgressEvent,
    InfocallerCallResultEvent,
)
from custom_components.infocaller.records import CallRecord, LineUpdate
from custom_components.infocaller.validation import normalize_phone

from .conftest import ROOT_DIR

REFUSED = "sensor.infocaller_34910000000_refused_calls"
ACCEPTED = "sensor.infocaller_34910000000_accepted_calls"
LINE_PROBLEM = "binary_sensor.infocaller_34910000000_line_problem"


def test_importing_the_integration_does_not_import_phonenumbers() -> None:
    """Phonenumbers is imported on first use, in an executor, never at start.

    Everything else of the integration is imported plainly.
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
        "print('phonenumbers' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.usefixtures("setup_integration")
async def test_a_known_number_skips_the_executor(hass: HomeAssistant) -> None:
    """Only a number not seen before costs a trip to the executor.

    Normalising a number (phonenumbers) blocks, so it runs in an executor
    job; the same number again is served without one. (The duplicate
    guard's journal has executor jobs of its own: not counted.)
    """

    jobs = []
    with patch.object(
        hass, "async_add_executor_job", wraps=hass.async_add_executor_job
    ) as executor:
        for rule_group in ("A", "B", "C"):
            executor.reset_mock()
            await hass.services.async_call(
                DOMAIN,
                "issue_call",
                # A number no other test calls: the first call is its first.
                {"phone": "611 98 76 54", "rule_group": rule_group},
                blocking=True,
            )
            jobs.append(
                sum(c.args[0] is normalize_phone for c in executor.call_args_list)
            )
    assert jobs == [1, 0, 0]


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
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": "+34611222334", "rule_group": "A"},
            blocking=True,
        )
    assert err.value.translation_key == "outcome_unknown"
    assert hass.states.get(LINE_PROBLEM).last_reported == answered
    assert hass.states.get(ACCEPTED).last_reported == accepted
    assert hass.states.get(REFUSED).last_reported == before[REFUSED]
    assert (
        hass.states.get("sensor.infocaller_34910000000_last_result").state
        == "no_answer"
    )


@pytest.mark.parametrize("call_progress", [False, True])
async def test_an_action_runs_each_entity_handler_once(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    call_progress: bool,
) -> None:
    """An accepted call reaches each entity that shows the line once.

    The request's way to Infocaller (on its way, over) concerns call
    progress only, and the incoming-call event shows none of the line's
    records: neither runs an entity's handler.
    """
    runs: list[str | None] = []

    def counted(original: Callable[[Any, LineUpdate], None]) -> Any:
        @callback
        def handler(self: Any, update: LineUpdate) -> None:
            runs.append(self.entity_id)
            original(self, update)

        return handler

    with (
        patch.object(
            InfocallerStateEntity,
            "_handle_line_update",
            counted(InfocallerStateEntity._handle_line_update),
        ),
        patch.object(
            InfocallerCallResultEvent,
            "_handle_line_update",
            counted(InfocallerCallResultEvent._handle_line_update),
        ),
        patch.object(
            InfocallerCallProgressEvent,
            "_handle_line_update",
            counted(InfocallerCallProgressEvent._handle_line_update),
        ),
    ):
        mock_config_entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(
            mock_config_entry,
            options={"call_progress": call_progress, "webhook_id": "a" * 64},
        )
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        runs.clear()
        await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": "+34611222333", "rule_group": "A"},
            blocking=True,
        )
        await hass.async_block_till_done()
    line_entities = [
        entity.entity_id
        for entity in er.async_entries_for_config_entry(
            er.async_get(hass), mock_config_entry.entry_id
        )
        if entity.domain != "event" or entity.translation_key != "incoming_call"
    ]
    assert sorted(runs) == sorted(line_entities)
    assert len(runs) == 8
    # The call reached what the entities show.
    assert hass.states.get(ACCEPTED).state == "1"


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
    # Each reader gets a dict of its own.
    mine = record.as_dict()
    mine["phone"] = "changed"
    assert record.as_dict()["phone"] == "+34611222333"


@pytest.mark.usefixtures("setup_integration")
async def test_event_response_and_sensor_tell_the_same_call(
    hass: HomeAssistant,
) -> None:
    """The event, the action's response and the last-result sensor agree."""
    events = async_capture_events(hass, f"{DOMAIN}_call_result")
    response = await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "A"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["call_id"] == "4711"
    state = hass.states.get("sensor.infocaller_34910000000_last_result")
    data = dict(events[0].data)
    assert data.pop("config_entry_id")
    assert data.pop("saved_call_id") is None  # the event names the saved call
    assert data == response
    assert state.attributes["call_id"] == response["call_id"]
    assert state.attributes["time"] == response["time"]


@pytest.mark.usefixtures("setup_integration")
async def test_the_guard_forgets_what_left_its_window(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The duplicate guard remembers only the window's calls (diagnostics)."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    # 30 calls to one number: without the hourly limit of 10.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "max_calls_per_number": 0}
    )
    await hass.async_block_till_done()
    for index in range(30):
        await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": "+34611222333", "rule_group": "A", "variables": {"N": index}},
            blocking=True,
        )
    guard = (await async_get_config_entry_diagnostics(hass, entry))["guard"]
    assert guard["recently_sent"] == 30
    assert guard["numbers_called_last_hour"] == 1
    freezer.tick(timedelta(seconds=61))
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34622333444", "rule_group": "B"},
        blocking=True,
    )
    guard = (await async_get_config_entry_diagnostics(hass, entry))["guard"]
    assert guard["recently_sent"] == 1
    assert guard["numbers_called_last_hour"] == 2
    assert guard["in_flight"] == 0
    # An hour later, the numbers of the hour are forgotten too.
    freezer.tick(timedelta(hours=1))
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34633444555", "rule_group": "C"},
        blocking=True,
    )
    guard = (await async_get_config_entry_diagnostics(hass, entry))["guard"]
    assert guard["recently_sent"] == 1
    assert guard["numbers_called_last_hour"] == 1


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("Asia/Tokyo", "Asia/Tokyo"), ("Mars/Olympus_Mons", "US/Pacific")],
)
async def test_the_client_gets_the_account_time_zone(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller_class: MagicMock,
    zone: str,
    expected: str,
) -> None:
    """Set-up and reload build the client in the account's zone.

    A zone this system does not know falls back to Home Assistant's (the
    test harness runs in US/Pacific).
    """
    assert str(dt_util.get_default_time_zone()) == "US/Pacific"
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={"time_zone": zone}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    zones = [c.kwargs["time_zone"] for c in mock_infocaller_class.call_args_list]
    assert [str(zone) for zone in zones] == [expected, expected]
