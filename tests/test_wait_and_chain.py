"""Waiting for an answer (issue_call wait_for) and call_until_answered."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.infocaller.api import CallResult, InfocallerRejectedError, Stage
from custom_components.infocaller.api.report import ProgressReport
from custom_components.infocaller.const import (
    DOMAIN,
    EVENT_CALL_PROGRESS,
    EVENT_CALL_RESULT,
)

from .conftest import add_saved_call

NOW = "2030-03-01 12:00:00+00:00"
PEOPLE = ["+34611000001", "+34611000002", "+34611000003"]


def _progress(entry: MockConfigEntry) -> Any:
    return entry.runtime_data.progress


def _report(entry: MockConfigEntry, stage: Stage, call_id: str, **extra: str) -> None:
    _progress(entry).async_report(ProgressReport(stage=stage, call_id=call_id, **extra))


async def _settle(hass: HomeAssistant) -> None:
    """Let the task under test run until it waits for call progress again.

    The first call in a process may load phone-number metadata in an
    executor job, which the task under test (not one of Home Assistant's)
    starts as a background job: that is waited for too, and so are the
    journal writes it makes in the executor. Nothing here sleeps for a
    time, since some tests freeze the clock the event loop reads.
    """
    progress = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.progress
    for _ in range(500):
        await hass.async_block_till_done(wait_background_tasks=True)
        if any(progress.waiters.waiting.values()):
            return
        # A round trip through the executor: the pipeline's journal writes
        # run there, and on a loaded machine a thread needs real time.
        await hass.async_add_executor_job(lambda: None)
    pytest.fail("the action under test never waited for call progress")


def _pass_time(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass, dt_util.utcnow())


def _issue(hass: HomeAssistant, **data: Any) -> asyncio.Task[Any]:
    # Not hass.async_create_task: async_block_till_done would wait for it.
    return asyncio.create_task(
        hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": PEOPLE[0], "rule_group": "Aviso", **data},
            blocking=True,
            return_response=True,
        )
    )


def _chain(hass: HomeAssistant, **data: Any) -> asyncio.Task[Any]:
    return asyncio.create_task(
        hass.services.async_call(
            DOMAIN,
            "call_until_answered",
            {
                key: value
                for key, value in {
                    "targets": PEOPLE,
                    "rule_group": "Alarma",
                    "wait": 60,
                    **data,
                }.items()
                if value is not None
            },
            blocking=True,
            return_response=True,
        )
    )


# -- issue_call with wait_for -------------------------------------------------


@pytest.mark.usefixtures("call_ids")
async def test_wait_for_answered(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """The action returns once the call is answered, and says so."""
    task = _issue(hass, wait_for="answered", timeout=60)
    await _settle(hass)
    assert not task.done()
    _report(progress_integration, Stage.ANSWERED, "C1")
    response = await task
    assert response["status"] == "answered"
    assert response["answered"] is True
    assert response["acknowledged"] is False
    assert response["call_id"] == "C1"
    assert _progress(progress_integration).waiters.waiting == {}


@pytest.mark.usefixtures("call_ids")
async def test_wait_for_acknowledged_keeps_waiting_after_answered(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """Answered is not enough when the script must acknowledge."""
    task = _issue(hass, wait_for="acknowledged", timeout=60)
    await _settle(hass)
    _report(progress_integration, Stage.ANSWERED, "C1")
    await _settle(hass)
    assert not task.done()
    _report(progress_integration, Stage.DIGITS, "C1", digits="1")
    response = await task
    assert (response["status"], response["digits"]) == ("digits", "1")
    assert response["acknowledged"] is True


@pytest.mark.usefixtures("call_ids")
async def test_wait_ends_when_the_call_is_not_answered(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """An ended call nobody answered ends the wait early."""
    task = _issue(hass, wait_for="answered", timeout=600)
    await _settle(hass)
    _report(progress_integration, Stage.ENDED, "C1")
    await _settle(hass)
    assert not task.done()  # a late "answered" may still come
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=10))
    response = await task
    assert response["status"] == "not_answered"
    assert response["answered"] is False


@pytest.mark.usefixtures("call_ids")
async def test_wait_times_out(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Nothing within the timeout: the call is still queued, not answered."""
    freezer.move_to(NOW)
    task = _issue(hass, wait_for="answered", timeout=30)
    await _settle(hass)
    _pass_time(hass, freezer, 29)
    await _settle(hass)
    assert not task.done()
    _pass_time(hass, freezer, 2)
    response = await task
    assert (response["status"], response["answered"]) == ("queued", False)
    assert _progress(progress_integration).waiters.waiting == {}


@pytest.mark.usefixtures("call_ids")
async def test_cancelling_the_wait_leaves_nothing(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """Stopping the script that waits: no waiter, the call still followed."""
    task = _issue(hass, wait_for="answered", timeout=600)
    await _settle(hass)
    assert _progress(progress_integration).waiters.waiting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _progress(progress_integration).waiters.waiting == {}
    assert list(progress_integration.runtime_data.progress.tracked) == ["C1"]


@pytest.mark.usefixtures("setup_integration")
async def test_waiting_needs_call_progress(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """Without call progress, a wait is refused before anything is sent."""
    with pytest.raises(ServiceValidationError) as err:
        await _issue(hass, wait_for="answered")
    assert err.value.translation_key == "call_progress_off"
    assert "field" not in err.value.translation_placeholders
    mock_infocaller.issue_call.assert_not_called()
    with pytest.raises(ServiceValidationError) as err:
        await _chain(hass)
    assert err.value.translation_key == "chain_call_progress_off"
    mock_infocaller.issue_call.assert_not_called()


@pytest.mark.usefixtures("progress_integration")
async def test_wait_after_a_refusal_raises_the_refusal(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """A refused call is never waited for."""
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=11, result_text="Saldo insuficiente")
    )
    with pytest.raises(HomeAssistantError) as err:
        await _issue(hass, wait_for="answered")
    assert err.value.translation_key == "result_insufficient_balance"


async def test_unload_ends_a_waiter_with_an_error(
    hass: HomeAssistant, progress_integration: MockConfigEntry, call_ids: list[str]
) -> None:
    """Unloading the line ends a wait: placed, outcome unknown (not "no answer")."""
    task = _issue(hass, wait_for="answered", timeout=600)
    await _settle(hass)
    await hass.config_entries.async_unload(progress_integration.entry_id)
    with pytest.raises(HomeAssistantError) as err:
        await task
    assert err.value.translation_key == "wait_line_unloaded"
    assert err.value.translation_placeholders == {
        "title": progress_integration.title,
        "phone": PEOPLE[0],
        "call_id": "C1",
    }


# -- call_until_answered ------------------------------------------------------


async def test_first_person_answers(
    hass: HomeAssistant, progress_integration: MockConfigEntry, call_ids: list[str]
) -> None:
    """The chain stops at the first answer."""
    results = async_capture_events(hass, EVENT_CALL_RESULT)
    task = _chain(hass)
    await _settle(hass)
    _report(progress_integration, Stage.ANSWERED, "C1")
    response = await task
    assert response["answered_by"] == {
        "round": 1,
        "phone": PEOPLE[0],
        "saved_call": None,
        "call_id": "C1",
        "status": "answered",
        "error": None,
    }
    assert response["attempts"] == [response["answered_by"]]
    assert call_ids == ["C1"]
    assert [event.data["source"] for event in results] == ["chain"]


async def test_third_answers_after_two_not_answered(
    hass: HomeAssistant, progress_integration: MockConfigEntry, call_ids: list[str]
) -> None:
    """Two calls end unanswered; the third person answers."""
    progress_events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    task = _chain(hass)
    for call_id in ("C1", "C2"):
        await _settle(hass)
        _report(progress_integration, Stage.ENDED, call_id)
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=10))
    await _settle(hass)
    _report(progress_integration, Stage.ANSWERED, "C3")
    response = await task
    assert [a["status"] for a in response["attempts"]] == [
        "not_answered",
        "not_answered",
        "answered",
    ]
    assert response["answered_by"]["phone"] == PEOPLE[2]
    stages = [e.data["stage"] for e in progress_events]
    assert stages.count("not_answered") == 2


async def test_nobody_answers_in_two_rounds(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Each person waited for in turn, twice; nobody answered."""
    freezer.move_to(NOW)
    task = _chain(hass, targets=PEOPLE[:2], rounds=2, wait=30)
    for _ in range(4):
        await _settle(hass)
        _pass_time(hass, freezer, 31)
    response = await task
    assert response["answered_by"] is None
    assert [(a["round"], a["phone"], a["status"]) for a in response["attempts"]] == [
        (1, PEOPLE[0], "queued"),
        (1, PEOPLE[1], "queued"),
        (2, PEOPLE[0], "queued"),
        (2, PEOPLE[1], "queued"),
    ]
    assert call_ids == ["C1", "C2", "C3", "C4"]


async def test_stop_on_acknowledged(
    hass: HomeAssistant, progress_integration: MockConfigEntry, call_ids: list[str]
) -> None:
    """Answered but not acknowledged: the next person is called."""
    task = _chain(hass, stop_on="acknowledged")
    await _settle(hass)
    _report(progress_integration, Stage.ANSWERED, "C1")
    _report(progress_integration, Stage.ENDED, "C1")
    await _settle(hass)
    _report(progress_integration, Stage.ACKNOWLEDGED, "C2")
    response = await task
    assert [a["status"] for a in response["attempts"]] == ["answered", "acknowledged"]
    assert response["answered_by"]["call_id"] == "C2"


async def test_a_refused_attempt_goes_on_with_the_next(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Infocaller refuses the first call; the second person is called."""
    answers = [
        InfocallerRejectedError(CallResult(result=5, result_text="Teléfono no válido")),
        CallResult(result=0, result_text="Aceptada", call_id="C2"),
    ]
    mock_infocaller.issue_call.side_effect = answers
    task = _chain(hass, targets=PEOPLE[:2])
    await _settle(hass)
    _report(progress_integration, Stage.ANSWERED, "C2")
    response = await task
    assert response["attempts"][0] == {
        "round": 1,
        "phone": PEOPLE[0],
        "saved_call": None,
        "call_id": None,
        "status": None,
        "error": "result_invalid_phone",
    }
    assert response["answered_by"]["phone"] == PEOPLE[1]


async def test_stopping_the_chain_stops_calling(
    hass: HomeAssistant, progress_integration: MockConfigEntry, call_ids: list[str]
) -> None:
    """Cancelled while waiting for the first: nobody else is called."""
    task = _chain(hass)
    await _settle(hass)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await hass.async_block_till_done()
    assert call_ids == ["C1"]
    runtime = progress_integration.runtime_data
    assert runtime.running_chains == set()
    assert runtime.progress.waiters.waiting == {}
    # The same list can run again. Person 1 may still be ringing from C1
    # (refused as a duplicate): the chain waits on that call, and their
    # answer counts; nobody is called twice.
    task = _chain(hass)
    await _settle(hass)
    _report(progress_integration, Stage.ANSWERED, "C1")
    answered_by = (await task)["answered_by"]
    assert (answered_by["call_id"], answered_by["error"]) == ("C1", "duplicate_call")
    assert call_ids == ["C1"]


async def test_a_second_identical_chain_is_refused(
    hass: HomeAssistant, progress_integration: MockConfigEntry, call_ids: list[str]
) -> None:
    """While a chain runs, the same list is not started again."""
    first = _chain(hass)
    await _settle(hass)
    with pytest.raises(ServiceValidationError) as err:
        await _chain(hass, targets=["611000001", "611 000 002", "+34611000003"])
    assert err.value.translation_key == "chain_running"
    _report(progress_integration, Stage.ANSWERED, "C1")
    await first
    assert call_ids == ["C1"]


@pytest.mark.usefixtures("progress_integration")
async def test_a_bad_number_changes_nothing(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """Every number is checked first; the error names the field."""
    with pytest.raises(ServiceValidationError) as err:
        await _chain(hass, targets=[PEOPLE[0], "12"])
    assert err.value.translation_key == "invalid_phone"
    mock_infocaller.issue_call.assert_not_called()
    with pytest.raises(ServiceValidationError) as err:
        await _chain(hass, rule_group=None, targets=[PEOPLE[0]])
    assert err.value.translation_key == "chain_rule_group_required"


async def test_saved_calls_in_the_list(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    mock_infocaller: MagicMock,
) -> None:
    """A saved call's name calls it with its own rule group and variables."""
    result = await add_saved_call(
        hass,
        progress_integration,
        {
            "name": "Vecino",
            "phone": "622 333 444",
            "rule_group": "Click to Call",
            "variables": {"PISO": "2"},
        },
    )
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    task = _chain(hass, targets=["vecino"], rule_group=None, variables={"ALARMA": 1})
    await _settle(hass)
    _report(progress_integration, Stage.ANSWERED, "C1")
    response = await task
    assert response["answered_by"]["saved_call"] == "Vecino"
    request = mock_infocaller.issue_call.await_args.args[0]
    assert request.phone == "+34622333444"
    assert request.rule_group == "Click to Call"
    assert dict(request.variables) == {"PISO": "2", "ALARMA": "1"}


# -- a chain or a wait belongs to its line ------------------------------------


async def _reload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_reload(entry.entry_id)


async def _unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)


async def _disable(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    from homeassistant.config_entries import ConfigEntryDisabler

    assert await hass.config_entries.async_set_disabled_by(
        entry.entry_id, ConfigEntryDisabler.USER
    )


async def _delete(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await hass.config_entries.async_remove(entry.entry_id)


@pytest.mark.parametrize(
    "end_the_line",
    [_reload, _unload, _disable, _delete],
    ids=["reload", "unload", "disable", "delete"],
)
async def test_a_chain_ends_with_its_line_and_calls_nobody_else(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    end_the_line: Any,
) -> None:
    """While waiting on person 1 the line goes: only person 1 was called."""
    results = async_capture_events(hass, EVENT_CALL_RESULT)
    task = _chain(hass, wait=120)
    await _settle(hass)
    await end_the_line(hass, progress_integration)
    with pytest.raises(HomeAssistantError) as err:
        await task
    assert err.value.translation_key == "chain_line_unloaded"
    assert err.value.translation_placeholders == {
        "title": progress_integration.title,
        "called": PEOPLE[0],
    }
    await hass.async_block_till_done()
    assert call_ids == ["C1"]
    assert [event.data["phone"] for event in results] == [PEOPLE[0]]


async def test_an_unloaded_line_places_no_call(
    hass: HomeAssistant, progress_integration: MockConfigEntry, call_ids: list[str]
) -> None:
    """The pipeline of a line that was reloaded refuses, translated."""
    from custom_components.infocaller.const import Source

    old = progress_integration.runtime_data
    await _reload(hass, progress_integration)
    with pytest.raises(HomeAssistantError) as err:
        await old.pipeline.async_call(
            {"phone": PEOPLE[1], "rule_group": "Aviso"}, Source.ACTION
        )
    assert err.value.translation_key == "line_unloaded"
    assert call_ids == []
    # The new pipeline calls.
    await _issue(hass)
    assert call_ids == ["C1"]


async def test_nothing_is_scheduled_or_applied_after_unload(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """An unloaded line's progress sets no timer and infers nothing."""
    freezer.move_to(NOW)
    await _issue(hass)
    old = progress_integration.runtime_data.progress
    await _unload(hass, progress_integration)
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    # "ended" would start the grace timer, then infer "not answered".
    old.async_report(ProgressReport(stage=Stage.ENDED, call_id="C1"))
    _pass_time(hass, freezer, 3600)
    await hass.async_block_till_done()
    assert events == []
    assert old.waiters.current(old.tracked["C1"]).status == "queued"
