"""Which call a progress report belongs to: the rules alone, without hass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custom_components.infocaller.api import Stage
from custom_components.infocaller.api.report import ProgressReport
from custom_components.infocaller.matching import (
    EARLY_SLACK,
    MATCH_CALL_ID,
    MATCH_NONE,
    MATCH_PHONE,
    FollowedCall,
    Match,
    belongs_to,
    by_number,
    for_this_line,
    match_report,
    may_ring,
)

LINE = "34910000000"
ACCEPTED = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
TOMORROW = ACCEPTED + timedelta(days=1)


def _call(
    key: str = "C1",
    *,
    phone: str = "+34611222333",
    scheduled_for: datetime | None = None,
    answered: bool = False,
) -> FollowedCall:
    start = scheduled_for or ACCEPTED
    return FollowedCall(
        key=key,
        call_id=key,
        phone=phone,
        accepted_at=ACCEPTED,
        scheduled_for=scheduled_for,
        window_end=start + timedelta(minutes=6, seconds=30),
        answered=answered,
    )


def _match(
    report: ProgressReport,
    calls: list[FollowedCall],
    at: datetime = ACCEPTED,
    *,
    ids: dict[str, str] | None = None,
    finished: frozenset[str] = frozenset(),
) -> Match:
    return match_report(
        report,
        line_id=LINE,
        calls={call.key: call for call in calls},
        ids={call.key: call.key for call in calls} if ids is None else ids,
        finished_ids=finished,
        at=at,
    )


def test_scheduled_call_is_matched_by_number_only_near_its_time() -> None:
    """A call for tomorrow cannot be answered by number today (item 5)."""
    call = _call(scheduled_for=TOMORROW)
    report = ProgressReport(stage=Stage.ANSWERED, called="611222333")
    assert not may_ring(call, ACCEPTED + timedelta(seconds=5))
    assert _match(report, [call], ACCEPTED + timedelta(seconds=5)) == Match(
        None, MATCH_NONE
    )
    assert not may_ring(call, TOMORROW - EARLY_SLACK - timedelta(seconds=1))
    assert may_ring(call, TOMORROW - EARLY_SLACK)
    assert _match(report, [call], TOMORROW) == Match("C1", MATCH_PHONE)
    assert not may_ring(call, TOMORROW + timedelta(minutes=7))


def test_call_id_matches_at_any_time() -> None:
    """By call id, a scheduled call may be reported on whenever it rings."""
    call = _call(scheduled_for=TOMORROW)
    report = ProgressReport(stage=Stage.ANSWERED, call_id="C1")
    assert _match(report, [call], ACCEPTED) == Match("C1", MATCH_CALL_ID)


def test_a_call_id_infocaller_used_matches_as_the_number_did() -> None:
    """An id first matched by number keeps matching that call, by that id."""
    call = _call()
    report = ProgressReport(stage=Stage.ENDED, call_id="900001")
    later = ACCEPTED + timedelta(hours=1)  # the number window is over
    assert _match(report, [call], later, ids={"C1": "C1", "900001": "C1"}) == Match(
        "C1", MATCH_PHONE
    )


def test_a_finished_call_id_of_ours_never_falls_back_to_the_number() -> None:
    """A late or repeated report of a finished call changes no other call (6)."""
    ringing = _call("C2")
    report = ProgressReport(stage=Stage.ENDED, call_id="C1", called="611222333")
    assert _match(report, [ringing], finished=frozenset({"C1"})) == Match(
        None, MATCH_NONE, ours=True
    )
    # An id we never had may still be Infocaller's own: the number decides.
    stranger = ProgressReport(stage=Stage.ENDED, call_id="77", called="611222333")
    assert _match(stranger, [ringing], finished=frozenset({"C1"})) == Match(
        "C2", MATCH_PHONE
    )


def test_a_report_for_another_line_matches_nothing() -> None:
    """The ``line`` field, when present, must be this line (item 8)."""
    call = _call()
    other = ProgressReport(stage=Stage.ANSWERED, call_id="C1", line="34910999999")
    assert not for_this_line(other, LINE)
    assert _match(other, [call]) == Match(None, MATCH_NONE, ours=True)
    ours = ProgressReport(stage=Stage.ANSWERED, call_id="C1", line="910000000")
    assert for_this_line(ours, LINE)
    assert _match(ours, [call]) == Match("C1", MATCH_CALL_ID)


def test_answered_goes_to_the_oldest_unanswered_call() -> None:
    """Two calls to one number: "answered" for the one nobody answered yet."""
    first = _call("C1", answered=True)
    second = _call("C2")
    answered = ProgressReport(stage=Stage.ANSWERED, caller="0034611222333")
    ended = ProgressReport(stage=Stage.ENDED, caller="611222333")
    assert by_number(answered, [first, second], ACCEPTED) == second
    assert by_number(ended, [first, second], ACCEPTED) == first
    assert by_number(ProgressReport(stage=Stage.ENDED), [first], ACCEPTED) is None


def test_a_kept_report_belongs_by_call_id_or_number_in_the_window() -> None:
    """What a report kept from before the call was followed is applied to."""
    call = _call()
    by_id = ProgressReport(stage=Stage.ANSWERED, call_id="C1")
    by_phone = ProgressReport(stage=Stage.ANSWERED, called="611222333")
    other_phone = ProgressReport(stage=Stage.ANSWERED, called="699000000")
    assert belongs_to(by_id, call, ACCEPTED - timedelta(days=3))
    assert belongs_to(by_phone, call, ACCEPTED - timedelta(seconds=1))
    assert not belongs_to(other_phone, call, ACCEPTED)
    assert not belongs_to(by_phone, call, ACCEPTED - timedelta(minutes=2))
    scheduled = _call(scheduled_for=TOMORROW)
    assert not belongs_to(by_phone, scheduled, ACCEPTED)


def test_every_stage_but_ended_gives_the_status_of_the_same_name() -> None:
    """Call progress's two vocabularies meet in one mapping, and agree.

    A stage that changes the call's status gives the status of the same
    name (the sensor's states and the event's stages read alike); only
    ``ended`` gives none, and only ``queued`` comes from no stage.
    """
    from custom_components.infocaller.const import STATUS_OF_STAGE, CallStatus

    assert set(Stage) - set(STATUS_OF_STAGE) == {Stage.ENDED}
    assert set(CallStatus) - set(STATUS_OF_STAGE.values()) == {CallStatus.QUEUED}
    assert all(status.value == stage.value for stage, status in STATUS_OF_STAGE.items())
