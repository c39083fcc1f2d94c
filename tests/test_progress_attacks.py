"""Regression tests for what an attacker found in call progress and chains.

Each test failed before its fix (issue 19's follow-up review of progress.py,
matching.py and chain.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import time
import tracemalloc
from typing import Any, cast
from unittest.mock import MagicMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller.api import CallResult, InfocallerRejectedError, Stage
from custom_components.infocaller.api.report import ProgressReport
from custom_components.infocaller.const import EVENT_CALL_PROGRESS, Source
from custom_components.infocaller.matching import (
    MATCH_CALL_ID,
    MATCH_NONE,
    MATCH_PHONE,
)
from custom_components.infocaller.progress import PENDING_REPORTS
from custom_components.infocaller.progress_state import (
    FINISHED_IDS_KEPT,
    IDS_PER_CALL,
    MARKS_PER_CALL,
    progress_store,
)

from .conftest import issue_call
from .test_wait_and_chain import _chain, _pass_time, _settle

NOW = "2030-03-01 12:00:00+00:00"
A = "+34611000001"
B = "+34611000002"
C = "+34611000003"


@pytest.fixture
def progress(progress_integration: MockConfigEntry) -> Any:
    """The line's call progress, as set up (a reload sets up another)."""
    return progress_integration.runtime_data.progress


@pytest.fixture
def on_request(
    mock_infocaller: MagicMock, call_ids: list[str]
) -> dict[int, Callable[[], None]]:
    """What happens while Infocaller holds the n-th request (from 1).

    Then Infocaller accepts it with the next of ``call_ids`` (C1, C2, ...),
    unless what happened raised.
    """
    hooks: dict[int, Callable[[], None]] = {}
    accept = mock_infocaller.issue_call.side_effect
    requests = 0

    async def issue(request: Any) -> CallResult:
        nonlocal requests
        requests += 1
        if (hook := hooks.get(requests)) is not None:
            hook()
        return cast(CallResult, await accept(request))

    mock_infocaller.issue_call.side_effect = issue
    return hooks


def _record(progress: Any, call_id: str) -> Any:
    # A call with a call id is followed (and kept when finished) by it.
    if (record := progress.call(call_id)) is None:
        raise AssertionError(call_id)
    return record


def _answered(progress: Any, call_id: str) -> bool:
    return _record(progress, call_id).answered_at is not None


# -- 9. Progress after a reload reaches the records ---------------------------


async def test_progress_after_a_reload_reaches_the_records(
    hass: HomeAssistant, progress_integration: MockConfigEntry, call_ids: list[str]
) -> None:
    """The followed call is a copy after a reload: records match it by key."""
    await issue_call(hass, A)
    assert await hass.config_entries.async_reload(progress_integration.entry_id)
    await hass.async_block_till_done()
    progress_integration.runtime_data.progress.async_report(
        ProgressReport(stage=Stage.ANSWERED, call_id="C1")
    )
    records = progress_integration.runtime_data.records
    assert records.last_progress is not None
    assert records.last_progress.status == "answered"
    assert records.recent[-1].status == "answered"
    assert records.last_answer is not None
    assert records.last_answer.status == "answered"


# -- 4. Bounded memory and time under forged reports --------------------------


async def test_ids_learned_by_number_are_capped_per_call(
    hass: HomeAssistant, progress: Any, call_ids: list[str]
) -> None:
    """5,000 reports with new call ids, matched by number, keep few ids."""
    await issue_call(hass, A)
    for n in range(5000):
        progress.async_report(
            ProgressReport(
                stage=Stage.DIGITS, call_id=f"F{n}", called=A, digits=str(n % 10)
            )
        )
    assert list(progress.as_dict()["ids"]) == [f"F{n}" for n in range(IDS_PER_CALL)]
    # A report with one of the learned ids still matches by it, as does
    # one with the call's own id; one with an id past the cap does not.
    digits = ProgressReport(stage=Stage.DIGITS, call_id="F0", digits="99")
    assert progress.async_report(digits) == MATCH_PHONE
    assert _record(progress, "C1").digits == "99"
    own = ProgressReport(stage=Stage.DIGITS, call_id="C1", digits="98")
    assert progress.async_report(own) == MATCH_CALL_ID
    past = ProgressReport(stage=Stage.DIGITS, call_id=f"F{IDS_PER_CALL}", digits="1")
    assert progress.async_report(past) == MATCH_NONE


async def test_cycling_digits_are_not_applied_again_past_the_cap(
    hass: HomeAssistant, progress: Any, call_ids: list[str]
) -> None:
    """Distinct digits past the cap are ignored: an old value never comes back."""
    await issue_call(hass, A)
    for n in range(MARKS_PER_CALL + 5):
        progress.async_report(
            ProgressReport(stage=Stage.DIGITS, call_id="C1", digits=str(n))
        )
    assert _record(progress, "C1").digits == str(MARKS_PER_CALL - 1)
    progress.async_report(ProgressReport(stage=Stage.DIGITS, call_id="C1", digits="0"))
    assert _record(progress, "C1").digits == str(MARKS_PER_CALL - 1)
    # Nor are they remembered: a flood of distinct digits leaves no trace.
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for n in range(10_000):
            progress.async_report(
                ProgressReport(stage=Stage.DIGITS, call_id="C1", digits=f"9{n}")
            )
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 100_000, grown
    # The genuine end of the call still applies.
    progress.async_report(ProgressReport(stage=Stage.ENDED, call_id="C1"))
    assert _record(progress, "C1").ended_at is not None


async def test_trimming_finished_ids_is_linear(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    hass_storage: dict[str, Any],
) -> None:
    """A call with 50,000 ids finishing trims to the cap without a rescan.

    Its ids come from the progress store (reports could not give it so many).
    """
    await issue_call(hass, A)
    saved = progress_integration.runtime_data.progress.as_dict()
    saved["ids"] = {f"F{n:012d}": "C1" for n in range(50_000)}
    key = progress_store(hass, progress_integration.entry_id).key
    assert await hass.config_entries.async_unload(progress_integration.entry_id)
    hass_storage[key] = {"version": 1, "key": key, "data": saved}
    assert await hass.config_entries.async_setup(progress_integration.entry_id)
    await hass.async_block_till_done()
    progress = progress_integration.runtime_data.progress
    progress.async_report(ProgressReport(stage=Stage.ANSWERED, call_id="C1"))
    start = time.perf_counter()
    progress.async_report(ProgressReport(stage=Stage.ENDED, call_id="C1"))
    elapsed = time.perf_counter() - start
    assert "C1" not in progress.tracked
    assert len(progress.finished_ids) == FINISHED_IDS_KEPT
    assert "F000000049999" in progress.finished_ids
    assert elapsed < 0.5, elapsed


# -- 3. Only reports that can change a followed call use its budget ----------


async def test_replays_of_a_finished_call_do_not_starve_a_followed_one(
    hass: HomeAssistant, progress: Any, call_ids: list[str]
) -> None:
    """C1 finished; its FIN replayed 1,000 times; C2's INICIO still passes."""
    await issue_call(hass, A)
    progress.async_report(ProgressReport(stage=Stage.ANSWERED, call_id="C1"))
    progress.async_report(ProgressReport(stage=Stage.ENDED, call_id="C1"))
    assert "C1" not in progress.tracked
    await issue_call(hass, B)
    for _ in range(1000):
        progress.async_receive(ProgressReport(stage=Stage.ENDED, call_id="C1"))
    assert progress.async_receive(ProgressReport(stage=Stage.ANSWERED, call_id="C2"))
    assert _answered(progress, "C2")


async def test_repeats_of_a_followed_calls_report_do_not_starve_another(
    hass: HomeAssistant, progress: Any, call_ids: list[str]
) -> None:
    """Repeats of C1's INICIO change nothing: C2's INICIO still passes."""
    await issue_call(hass, A)
    await issue_call(hass, B)
    for _ in range(1000):
        progress.async_receive(ProgressReport(stage=Stage.ANSWERED, call_id="C1"))
    for n in range(1000):  # digits past the cap change nothing either
        progress.async_receive(
            ProgressReport(stage=Stage.DIGITS, call_id="C1", digits=str(n))
        )
    assert progress.async_receive(ProgressReport(stage=Stage.ANSWERED, call_id="C2"))
    assert _answered(progress, "C2")


# -- 1. An early report of call 2 is not given to call 1 by number -----------


async def test_early_report_of_call_2_is_not_given_to_call_1(
    hass: HomeAssistant, progress: Any, on_request: dict[int, Callable[[], None]]
) -> None:
    """C2's INICIO comes while C2's request waits for its answer: C2's, not C1's."""
    # Infocaller rings C2 before answering us.
    on_request[2] = lambda: progress.async_report(
        ProgressReport(stage=Stage.ANSWERED, call_id="C2", called=A)
    )
    await issue_call(hass, A)
    await issue_call(hass, A, rule_group="Alarma")
    assert (
        _answered(progress, "C1"),
        _answered(progress, "C2"),
    ) == (
        False,
        True,
    )


async def test_report_kept_before_call_1_is_not_given_to_it(
    hass: HomeAssistant, progress: Any, call_ids: list[str]
) -> None:
    """A report naming C2 that came before C1 was placed is only C2's."""
    progress.async_report(ProgressReport(stage=Stage.ANSWERED, call_id="C2", called=A))
    await issue_call(hass, A)
    await issue_call(hass, A, rule_group="Alarma")
    assert (
        _answered(progress, "C1"),
        _answered(progress, "C2"),
    ) == (
        False,
        True,
    )


async def test_held_report_with_infocallers_own_id_goes_to_the_call(
    hass: HomeAssistant, progress: Any, on_request: dict[int, Callable[[], None]]
) -> None:
    """Held while C2's request waits; no call has its id: C2's by number."""

    def report_during_c2() -> None:
        progress.async_report(
            ProgressReport(stage=Stage.ANSWERED, call_id="90002", called=A)
        )
        assert progress.pending  # held, not given to C1

    on_request[2] = report_during_c2
    await issue_call(hass, A)
    progress.async_report(ProgressReport(stage=Stage.ANSWERED, call_id="C1", called=A))
    await issue_call(hass, A, rule_group="Alarma")
    assert _answered(progress, "C2")
    assert not progress.pending


async def test_held_report_goes_on_when_the_request_is_refused(
    hass: HomeAssistant, progress: Any, on_request: dict[int, Callable[[], None]]
) -> None:
    """Held for C2's request; C2 refused: matched by number to C1."""

    def refuse_c2() -> None:
        progress.async_report(
            ProgressReport(stage=Stage.ANSWERED, call_id="90001", called=A)
        )
        raise InfocallerRejectedError(
            CallResult(result=5, result_text="Número no válido", call_id="")
        )

    on_request[2] = refuse_c2
    await issue_call(hass, A)
    with pytest.raises(Exception):  # noqa: B017, PT011 (the refusal; any kind)
        await issue_call(hass, A, rule_group="Alarma")
    await hass.async_block_till_done()
    assert _answered(progress, "C1")
    assert not progress.pending


async def test_held_report_is_matched_as_the_refusal_is_recorded(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    progress: Any,
    mock_infocaller: MagicMock,
) -> None:
    """Held for C2's request; C2 refused: C1's at once, not a turn later.

    Nothing is left to run when the line stops right after: the report is
    applied by then (it was lost before, left to a callback that found the
    line stopped), and no progress is announced after the stop.
    """
    pipeline = progress_integration.runtime_data.pipeline
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id="C1"
    )
    await pipeline.async_call({"phone": A, "rule_group": "Aviso"}, Source.ACTION)

    async def refuse(request: Any) -> CallResult:
        progress.async_report(
            ProgressReport(stage=Stage.ANSWERED, call_id="90001", called=A)
        )
        assert progress.pending  # held for the request on its way
        raise InfocallerRejectedError(
            CallResult(result=5, result_text="Número no válido", call_id="")
        )

    mock_infocaller.issue_call.side_effect = refuse
    with pytest.raises(Exception):  # noqa: B017, PT011 (the refusal; any kind)
        await pipeline.async_call({"phone": A, "rule_group": "Alarma"}, Source.ACTION)
    # No turn of the event loop since the refusal was read.
    assert _answered(progress, "C1")
    assert not progress.pending
    progress.async_stop()
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    await hass.async_block_till_done()
    assert events == []


# -- 2. A flood of junk does not push out a genuine early report -------------


async def test_junk_flood_does_not_evict_a_kept_genuine_report(
    hass: HomeAssistant, progress: Any, on_request: dict[int, Callable[[], None]]
) -> None:
    """C1's INICIO comes while C1's request waits; then a flood of junk.

    The work per report is bounded: the kept reports never exceed their cap,
    and keeping one ranks at most the reports already kept (counted, not
    timed: a wall-clock bound failed on a loaded machine).
    """
    ranked = 0
    rank = progress._likelihood

    def counted(report: ProgressReport, held: bool) -> int:
        nonlocal ranked
        ranked += 1
        return rank(report, held)

    def flood_during_c1() -> None:
        assert progress.async_receive(
            ProgressReport(stage=Stage.ANSWERED, call_id="C1", called=A)
        )
        reports = 0
        with patch.object(progress, "_likelihood", counted):
            for n in range(10 * PENDING_REPORTS):  # junk, with and without numbers
                for report in (
                    ProgressReport(
                        stage=Stage.ANSWERED, call_id=f"X{n}", called=f"6990{n:05d}"
                    ),
                    ProgressReport(stage=Stage.ANSWERED, call_id=f"Y{n}"),
                ):
                    progress.async_report(report)
                    reports += 1
                    assert len(progress.pending) <= PENDING_REPORTS
                    assert ranked <= reports * PENDING_REPORTS
        assert len(progress.pending) == PENDING_REPORTS

    on_request[1] = flood_during_c1
    await issue_call(hass, A)
    assert _answered(progress, "C1")


async def test_junk_without_numbers_does_not_evict_a_report_with_one(
    hass: HomeAssistant, progress: Any, call_ids: list[str]
) -> None:
    """Reports naming no number go first when the kept reports are full."""
    progress.async_report(ProgressReport(stage=Stage.ANSWERED, call_id="C1", called=A))
    for n in range(PENDING_REPORTS):
        progress.async_report(ProgressReport(stage=Stage.ANSWERED, call_id=f"X{n}"))
    await issue_call(hass, A)
    assert _answered(progress, "C1")


# -- 7. Number-only reports: round 2's call to a person gets the answer ------


async def test_round_two_answer_by_number_goes_to_the_round_two_call(
    hass: HomeAssistant,
    progress: Any,
    call_ids: list[str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Chain [A, B], wait 30, 2 rounds: A picks up C3 while C1's window is open."""
    freezer.move_to(NOW)
    task = _chain(hass, targets=[A, B], wait=30, rounds=2)
    for _ in range(2):  # C1 (A), C2 (B): nobody within 30 s
        await _settle(hass)
        _pass_time(hass, freezer, 31)
    await _settle(hass)
    assert call_ids == ["C1", "C2", "C3"]
    assert "C1" in progress.tracked  # its window is open
    # A picks up C3; Infocaller's report has an id of its own.
    progress.async_report(
        ProgressReport(stage=Stage.ANSWERED, call_id="998877", called=A)
    )
    for _ in range(50):
        await hass.async_block_till_done()
        await asyncio.sleep(0)
    assert task.done(), "the chain still waits: the answer went to C1"
    assert (await task)["answered_by"]["call_id"] == "C3"
    assert not _answered(progress, "C1")


# -- 6. Two chains sharing a person -------------------------------------------


async def test_second_chain_waits_on_the_person_ringing_for_the_first(
    hass: HomeAssistant,
    progress: Any,
    call_ids: list[str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Chain 2 [A, B] while chain 1 waits on A: it waits on C1, not calls B."""
    freezer.move_to(NOW)
    first = _chain(hass, targets=[A, C], wait=120)
    await _settle(hass)
    assert call_ids == ["C1"]
    second = _chain(hass, targets=[A, B], wait=120)
    await _settle(hass)
    assert call_ids == ["C1"]  # A refused as a duplicate; B not called
    progress.async_report(ProgressReport(stage=Stage.ANSWERED, call_id="C1"))
    one, two = await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert one["answered_by"]["call_id"] == "C1"
    assert two["answered_by"] == {
        "round": 1,
        "phone": A,
        "saved_call": None,
        "call_id": "C1",
        "status": "answered",
        "error": "duplicate_call",
    }
    assert call_ids == ["C1"]


async def test_chain_refused_as_duplicate_waits_before_the_next_person(
    hass: HomeAssistant,
    progress: Any,
    mock_infocaller: MagicMock,
) -> None:
    """A's request still on its way (not followed yet): the chain waits its wait."""
    release = asyncio.Event()
    phones: list[str] = []

    async def issue(request: Any) -> CallResult:
        phones.append(request.phone)
        if len(phones) == 1:
            await release.wait()
        return CallResult(result=0, result_text="Aceptada", call_id=f"C{len(phones)}")

    mock_infocaller.issue_call.side_effect = issue
    first = asyncio.create_task(issue_call(hass, A, rule_group="Alarma"))
    # Its write-ahead goes through the executor: real time on a loaded machine.
    for _ in range(200):
        await hass.async_block_till_done()
        if phones:
            break
        await hass.async_add_executor_job(lambda: None)
    assert phones == [A]
    chain = _chain(hass, targets=[A, B], wait=60)
    for _ in range(200):
        await hass.async_block_till_done()
        if progress.waiters.pausing or len(phones) > 1:
            break
        await hass.async_add_executor_job(lambda: None)
    try:
        assert phones == [A]  # B not called at once
        assert progress.waiters.pausing
    finally:
        chain.cancel()
        release.set()
        await asyncio.gather(first, chain, return_exceptions=True)
    assert not progress.waiters.pausing


async def test_chain_goes_on_when_the_persons_earlier_call_is_over(
    hass: HomeAssistant,
    progress: Any,
    call_ids: list[str],
) -> None:
    """A refused as a duplicate, but A's call is over: B is called at once."""
    await issue_call(hass, A, rule_group="Alarma")
    progress.async_report(ProgressReport(stage=Stage.ANSWERED, call_id="C1"))
    progress.async_report(ProgressReport(stage=Stage.ENDED, call_id="C1"))
    chain = _chain(hass, targets=[A, B], wait=60)
    await _settle(hass)
    assert call_ids == ["C1", "C2"]
    chain.cancel()
    await asyncio.gather(chain, return_exceptions=True)
