"""Which call a progress report belongs to: the rules alone, without hass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custom_components.infocaller.api import Stage
from custom_components.infocaller.api.report import ProgressReport
from custom_components.infocaller.matching import (
    EARLY_SLACK,
    LATE_SLACK,
    MATCH_CALL_ID,
    MATCH_NONE,
    MATCH_PHONE,
    TALK_SLACK,
    FollowedCall,
    LineFacts,
    Match,
    belongs_to,
    by_number,
    calling_code,
    for_this_line,
    is_incoming,
    learned,
    match_report,
    may_ring,
    may_still_report,
    reported_e164,
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


# -- incoming calls and the line's learned facts ------------------------------

X = "+34611222333"  # the person a followed call rings
STRANGER = "699000111"
UNKNOWN = LineFacts()
CALLED = LineFacts(destination_in_called=True)
CALLER = LineFacts(destination_in_caller=True)
IDS = LineFacts(ids_equal=True)
CALLER_IDS = LineFacts(destination_in_caller=True, ids_equal=True)
CONFLICT = LineFacts(destination_in_caller=True, destination_in_called=True)
IDS_MIXED = LineFacts(ids_equal=True, ids_differ=True)
#: A call from the person (their number as caller, the line called), with
#: Infocaller's own id: a return call, or an outbound report "the other way".
RETURN = ProgressReport(
    stage=Stage.ANSWERED, call_id="9001", caller="611222333", called=LINE
)
RETURN_NO_ID = ProgressReport(stage=Stage.ANSWERED, caller="611222333", called=LINE)
#: An outbound call's report with the line as caller.
OUT_CALLED = ProgressReport(
    stage=Stage.ANSWERED, call_id="9001", caller=LINE, called="611222333"
)
OUT_EXACT = ProgressReport(
    stage=Stage.ANSWERED, call_id="C1", caller="611222333", called=LINE
)
FROM_STRANGER = ProgressReport(
    stage=Stage.ANSWERED, call_id="9002", caller=STRANGER, called=LINE
)
NO_CALLER = ProgressReport(stage=Stage.ANSWERED, call_id="9003", called=STRANGER)
OTHER_LINE = ProgressReport(
    stage=Stage.ANSWERED, call_id="9004", caller=STRANGER, line="34910999999"
)


def _classify(
    report: ProgressReport,
    facts: LineFacts,
    *,
    followed: tuple[FollowedCall, ...] = (),
    finished: tuple[FollowedCall, ...] = (),
    sending: tuple[str, ...] = (),
    at: datetime = ACCEPTED + timedelta(seconds=30),
) -> str:
    """What progress does with a report: a call of ours, held, incoming or none."""
    match = match_report(
        report,
        line_id=LINE,
        calls={call.key: call for call in followed},
        ids={call.key: call.key for call in followed},
        finished_ids=frozenset(call.key for call in finished),
        at=at,
        sending=sending,
        facts=facts,
    )
    if match.key is not None:
        return f"ours:{match.key}"
    if match.held:
        return "held"
    if match.ours:
        return "none"
    incoming = is_incoming(
        report,
        line_id=LINE,
        facts=facts,
        followed=followed,
        finished=finished,
        sending=sending,
        at=at,
    )
    return "incoming" if incoming else "none"


def _finished_call(minutes_ago: float) -> FollowedCall:
    """A call to X that ended (answered) ``minutes_ago`` before ``at``."""
    at = ACCEPTED + timedelta(seconds=30)
    ended = at - timedelta(minutes=minutes_ago)
    return FollowedCall(
        key="C0",
        call_id="C0",
        phone=X,
        accepted_at=ended - timedelta(minutes=30),
        scheduled_for=None,
        window_end=ended - timedelta(minutes=23),
        answered=True,
        ended_at=ended,
    )


@pytest.mark.parametrize(
    ("report", "facts", "context", "expected"),
    [
        # A call to X is followed: the person calling back is ambiguous
        # unless the line learned that outbound reports carry the person
        # as called. A call id we never had proves nothing (Infocaller may
        # use its own ids for some reports): still ours.
        (RETURN, UNKNOWN, "followed", "ours:C1"),
        (RETURN, CALLER, "followed", "ours:C1"),
        (RETURN, CONFLICT, "followed", "ours:C1"),
        (RETURN, IDS_MIXED, "followed", "ours:C1"),
        (RETURN, CALLED, "followed", "incoming"),
        (RETURN, IDS, "followed", "ours:C1"),
        (RETURN, CALLER_IDS, "followed", "ours:C1"),
        (RETURN_NO_ID, IDS, "followed", "ours:C1"),
        (RETURN_NO_ID, CALLED, "followed", "incoming"),
        # The outbound call's own reports, either way round, stay ours.
        (OUT_CALLED, UNKNOWN, "followed", "ours:C1"),
        (OUT_CALLED, CALLED, "followed", "ours:C1"),
        (OUT_CALLED, CALLER_IDS, "followed", "none"),
        (OUT_CALLED, IDS, "followed", "ours:C1"),
        (OUT_EXACT, UNKNOWN, "followed", "ours:C1"),
        (OUT_EXACT, CALLED, "followed", "ours:C1"),
        (OUT_EXACT, IDS, "followed", "ours:C1"),
        # Someone else calls while a call to X is followed.
        (FROM_STRANGER, UNKNOWN, "followed", "incoming"),
        (FROM_STRANGER, CALLER, "followed", "incoming"),
        # Nothing of ours about X.
        (RETURN, UNKNOWN, "nothing", "incoming"),
        (RETURN_NO_ID, UNKNOWN, "nothing", "incoming"),
        (OUT_CALLED, UNKNOWN, "nothing", "none"),  # the line calls: outbound
        (NO_CALLER, UNKNOWN, "nothing", "none"),  # who called is not said
        (OTHER_LINE, UNKNOWN, "nothing", "none"),  # another line's report
        # A call to X ended two minutes ago: its late report, not a call.
        (RETURN, UNKNOWN, "ended 2 min ago", "none"),
        (RETURN, CALLER, "ended 2 min ago", "none"),
        (RETURN, CALLED, "ended 2 min ago", "incoming"),
        (RETURN, IDS, "ended 2 min ago", "none"),
        (RETURN, CALLER_IDS, "ended 2 min ago", "none"),
        (RETURN, UNKNOWN, "ended 10 min ago", "incoming"),
        # A request to X is on its way (its answer not read): an early report.
        (RETURN, UNKNOWN, "sending", "held"),
        (RETURN, IDS, "sending", "held"),
        (RETURN_NO_ID, UNKNOWN, "sending", "none"),
        (RETURN_NO_ID, CALLER, "sending", "none"),
        (RETURN, CALLED, "sending", "incoming"),
    ],
)
def test_incoming_or_outbound(
    report: ProgressReport, facts: LineFacts, context: str, expected: str
) -> None:
    """Never an incoming call out of an outbound one; the ambiguous cases."""
    contexts: dict[str, dict[str, Any]] = {
        "followed": {"followed": (_call("C1", phone=X),)},
        "nothing": {},
        "ended 2 min ago": {"finished": (_finished_call(2),)},
        "ended 10 min ago": {"finished": (_finished_call(10),)},
        "sending": {"sending": (X,)},
    }
    assert _classify(report, facts, **contexts[context]) == expected


def test_a_held_report_goes_by_number_whatever_the_learned_ids() -> None:
    """Once its request is answered, a held report may still be that call's."""
    call = _call("C2", phone=X)
    match = match_report(
        RETURN,
        line_id=LINE,
        calls={"C2": call},
        ids={"C2": "C2"},
        finished_ids=(),
        at=ACCEPTED,
        facts=IDS,
        was_held=True,
    )
    assert match == Match("C2", MATCH_PHONE)


def test_a_report_without_call_id_is_held_while_its_number_is_being_called() -> None:
    """A call to X followed, another on its way: its INICIO may be the new one's.

    Without a call id it went by number to the followed call at once;
    held, the call placed by the request takes it when its answer is read.
    """
    report = ProgressReport(stage=Stage.ANSWERED, called=X)
    calls = {"C1": _call("C1", phone=X)}
    at = ACCEPTED + timedelta(seconds=30)

    def match(sending: tuple[str, ...]) -> Match:
        return match_report(
            report,
            line_id=LINE,
            calls=calls,
            ids={"C1": "C1"},
            finished_ids=(),
            at=at,
            sending=sending,
        )

    assert match((X,)) == Match(None, MATCH_NONE, held=True)
    assert match(()) == Match("C1", MATCH_PHONE)
    # Once the answer is read (and no call took it), it goes by number.
    assert match_report(
        report,
        line_id=LINE,
        calls=calls,
        ids={"C1": "C1"},
        finished_ids=(),
        at=at,
        was_held=True,
    ) == Match("C1", MATCH_PHONE)


def test_a_call_answered_and_going_on_may_report_all_along() -> None:
    """A followed call answered and not ended; a finished one, LATE_SLACK after."""
    talking = _call(answered=True)
    later = ACCEPTED + timedelta(hours=3)
    assert may_still_report(talking, later, followed=True)
    assert not may_still_report(talking, later, followed=False)
    end = ACCEPTED + timedelta(minutes=6, seconds=30)
    assert may_still_report(talking, end + LATE_SLACK, followed=False)
    assert not may_still_report(
        talking, end + LATE_SLACK + timedelta(seconds=1), followed=False
    )
    # A followed call scheduled within a day already keeps its number's
    # reports from being incoming calls (a wrong time zone rings it early);
    # further ahead, or once let go, it does not.
    scheduled = _call(scheduled_for=TOMORROW)
    assert may_still_report(scheduled, ACCEPTED, followed=True)
    assert not may_still_report(scheduled, ACCEPTED, followed=False)
    far = _call(scheduled_for=ACCEPTED + timedelta(days=3))
    assert not may_still_report(far, ACCEPTED, followed=True)


@pytest.mark.parametrize(
    ("report", "idcall", "expected"),
    [
        # Our idcall, the destination as called and the line as caller.
        (
            ProgressReport(stage=Stage.ENDED, call_id="C1", caller=LINE, called=X),
            "C1",
            LineFacts(destination_in_called=True, ids_equal=True),
        ),
        # Our idcall, the destination as caller (the line called).
        (
            ProgressReport(stage=Stage.ENDED, call_id="C1", caller=X, called=LINE),
            "C1",
            LineFacts(destination_in_caller=True, ids_equal=True),
        ),
        (
            ProgressReport(stage=Stage.ENDED, call_id="C1", caller=X),
            "C1",
            LineFacts(destination_in_caller=True, ids_equal=True),
        ),
        # Matched by number (another id, or none): it may be anybody's
        # (a report forged through the URL): it teaches nothing.
        (
            ProgressReport(stage=Stage.ENDED, call_id="9001", caller=LINE, called=X),
            "C1",
            UNKNOWN,
        ),
        (ProgressReport(stage=Stage.ENDED, called=X), "C1", UNKNOWN),
        # Matched by number with the person as caller: maybe a return call.
        (
            ProgressReport(stage=Stage.ENDED, call_id="9001", caller=X, called=LINE),
            "C1",
            UNKNOWN,
        ),
        # Our idcall, but the person in neither field: the ids only.
        (ProgressReport(stage=Stage.ENDED, call_id="C1"), "C1", IDS),
        (
            ProgressReport(stage=Stage.ENDED, call_id="C1", caller=X, called=STRANGER),
            "C1",
            IDS,
        ),
        (ProgressReport(stage=Stage.ENDED, call_id="9001"), "C1", UNKNOWN),
    ],
)
def test_what_a_matched_report_teaches(
    report: ProgressReport, idcall: str, expected: LineFacts
) -> None:
    """Only a report with the call's exact idcall teaches the line."""
    assert learned(UNKNOWN, report, phone=X, idcall=idcall, line_id=LINE) == expected


def test_learned_facts_are_kept_and_read_back() -> None:
    """Nothing new: the same facts; stored facts read back; junk is unknown."""
    facts = LineFacts(destination_in_called=True, ids_equal=True)
    again = ProgressReport(stage=Stage.ENDED, call_id="C1", caller=LINE, called=X)
    assert learned(facts, again, phone=X, idcall="C1", line_id=LINE) is facts
    assert LineFacts.from_dict(facts.as_dict()) == facts
    assert LineFacts.from_dict(None) == UNKNOWN
    assert LineFacts.from_dict({"destination_in_called": "yes"}) == UNKNOWN
    assert (CALLED.destination, CALLER.destination) == ("called", "caller")
    assert (UNKNOWN.destination, CONFLICT.destination) == (None, None)
    assert (IDS.ids_are_idcall, IDS_MIXED.ids_are_idcall) == (True, False)
    # Infocaller's own ids after our idcall: matched by number, it
    # teaches nothing (a forged report would teach the same).
    own_id = ProgressReport(stage=Stage.ENDED, call_id="9", caller=LINE, called=X)
    assert learned(IDS, own_id, phone=X, idcall="C1", line_id=LINE) is IDS


@pytest.mark.parametrize(
    ("number", "line", "expected"),
    [
        ("611222333", LINE, "+34611222333"),
        ("34611222333", LINE, "+34611222333"),
        ("+34611222333", LINE, "+34611222333"),
        ("0034611222333", LINE, "+34611222333"),
        ("+447700900123", LINE, "+447700900123"),
        ("1004", LINE, "1004"),  # a short code
        ("2025550123", "12025550100", "+12025550123"),  # NANP: code 1
        ("912345678", "351210000000", "+351912345678"),  # Portugal: code 351
        # Longer than the line's national numbers: another country's, but
        # a trunk 0 is national (no calling code begins with 0).
        ("447700900123", LINE, "+447700900123"),
        ("01632960123", "441632960000", "+4401632960123"),
    ],
)
def test_reported_numbers_are_written_as_outbound_phones(
    number: str, line: str, expected: str
) -> None:
    """E.164 as outbound phones; a national number takes the line's country."""
    assert reported_e164(number, line) == expected


@pytest.mark.parametrize(
    ("line", "code"),
    [("34910000000", "34"), ("12025550100", "1"), ("351210000000", "351")],
)
def test_a_lines_calling_code(line: str, code: str) -> None:
    """The codes of one and two digits are listed; every other has three."""
    assert calling_code(line) == code


def _maybe_placed() -> FollowedCall:
    """A request to X whose outcome is unknown (no answer read)."""
    return FollowedCall(
        key="R1",
        call_id=None,
        phone=X,
        accepted_at=ACCEPTED,
        scheduled_for=None,
        window_end=ACCEPTED + timedelta(hours=5),
        answered=False,
        maybe_placed=True,
    )


@pytest.mark.parametrize("facts", [UNKNOWN, CALLED, CALLER, CALLER_IDS])
@pytest.mark.parametrize("report", [RETURN, RETURN_NO_ID, OUT_CALLED])
def test_a_call_that_may_have_been_placed_is_never_incoming(
    report: ProgressReport, facts: LineFacts
) -> None:
    """Either of the report's numbers counts, whatever the line learned."""
    finished = (_maybe_placed(),)
    assert _classify(report, facts, finished=finished) == "none"
    later = ACCEPTED + timedelta(hours=5) + LATE_SLACK + timedelta(seconds=1)
    expected = "none" if report is OUT_CALLED else "incoming"
    assert _classify(report, facts, finished=finished, at=later) == expected


def test_an_ended_may_end_a_call_whose_answer_was_missed() -> None:
    """An ``ended`` counts TALK_SLACK after the window of a call not answered."""
    call = _call()
    end = ACCEPTED + timedelta(minutes=6, seconds=30)
    late = end + LATE_SLACK + timedelta(seconds=1)
    assert not may_still_report(call, late, followed=False)
    assert may_still_report(call, late, followed=False, later_stage=True)
    assert may_still_report(call, end + TALK_SLACK, followed=False, later_stage=True)
    assert not may_still_report(
        call, end + TALK_SLACK + timedelta(seconds=1), followed=False, later_stage=True
    )
    answered = _call(answered=True)
    assert not may_still_report(answered, late, followed=False, later_stage=True)
