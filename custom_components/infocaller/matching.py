"""Which followed call a progress report belongs to: the rules, and nothing else.

Plain functions over plain values (no Home Assistant, no clock, no I/O), so
each rule can be read and tested on its own. ``progress.py`` applies them.

- A report whose ``line`` names another line belongs to no call.
- By call id at any time: the ``idcall`` Infocaller gave us, or a call id a
  report carried when its number matched (Infocaller may use its own ids).
- A call id we do not know (neither followed nor finished) that comes while
  a request to the report's number is on its way (its answer not read) may
  be that call's, reported before Infocaller answered us: it is held, not
  given to another call to that number. So is a report without a call id
  that would otherwise go by number to a followed call. When the answer
  is read, the call it placed takes it (by its ``idcall``, or by number);
  if none does, it is matched by number as of its arrival (Infocaller's
  own ids, or a refused request), unless a request to its number got no
  usable answer while it was held (``no_answer``): the call may have been
  placed, the report is taken for that call's and goes to no other call
  (``progress.py``). A report kept because it matched nothing (no request
  on its way) later goes only to a call with its id: it came before any
  request to its number, so it is not for a call placed after it.
- A call id of ours whose call finished belongs to that call only: it never
  falls back to the number, so a late or repeated report cannot change
  another call.
- By number only while the call can ring: from shortly before its start
  (the scheduled time, else acceptance) to the end of its window, or while
  it is answered and not over.
- By number, a call a chain has given up on (it waited its ``wait`` and
  moved on) is a candidate only when no other call to that number is: when
  a chain calls the same person again (``rounds``), an "answered" goes to
  the newer call, the one the chain waits on.
- What the line's matched reports revealed (``LineFacts``, learned by
  ``learned`` only from reports carrying a call's exact ``idcall``)
  narrows the number match: once outbound reports are known to carry the
  destination in one field, only that field is compared. A call id we
  never had is never by itself a sign of an incoming call: Infocaller may
  use other ids for some reports.

Incoming calls (a call someone made to the line, ``is_incoming``): a
report that matched no call of ours, was not held, and names a caller that
is not the line; never one whose possible destination (either number while
the direction is unknown) is being called, or was called within its window
(or end) and ``LATE_SLACK`` after it; for an ``ended``, within
``MAX_TALK_SECONDS`` after the window of a call nobody was seen to answer
(its answer may have been missed). A request whose outcome is unknown
(``no_answer``: it may have been placed) is such a call too ("maybe
placed"), and then either of the report's numbers counts: an outbound
call's late or unmatched report looks like a call from that person.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from .api import CallRequest, Stage
from .const import MAX_TALK_SECONDS, RETRY_INTERVAL_SECONDS, RING_SECONDS

if TYPE_CHECKING:
    # Only a line with call progress loads the report reader.
    from .api.report import ProgressReport

MATCH_CALL_ID: Final = "call_id"
MATCH_PHONE: Final = "phone"
MATCH_NONE: Final = "none"
#: A report may come this long before the call's start (clocks differ).
EARLY_SLACK: Final = timedelta(seconds=60)
#: A report naming a number we called within this long after the call's
#: window (or its end) may be that call's late report: never incoming.
LATE_SLACK: Final = timedelta(minutes=5)
#: An ``ended`` naming a number called this long after the window of a
#: call nobody was seen to answer may end that call (its answer missed).
TALK_SLACK: Final = timedelta(seconds=MAX_TALK_SECONDS)
#: How long before its scheduled time a followed call's number keeps a
#: report from being an incoming call (a wrong time zone, a clock ahead).
EARLY_RING_SLACK: Final = timedelta(hours=24)
#: Which field of a report holds an outbound call's destination.
DESTINATION_CALLER: Final = "caller"
DESTINATION_CALLED: Final = "called"


def call_window_end(request: CallRequest, accepted_at: datetime) -> datetime:
    """Return when an accepted call counts as not answered if nothing came.

    Start (the scheduled time, or acceptance) plus the maximum wait in the
    queue, plus ringing for each attempt and the pause before each retry.
    """
    start = max(request.scheduled_for or accepted_at, accepted_at)
    retries = request.retries or 0
    return start + timedelta(
        minutes=request.max_wait or 0,
        seconds=RING_SECONDS * (retries + 1) + RETRY_INTERVAL_SECONDS * retries,
    )


def same_number(e164: str, reported: str) -> bool:
    """Whether a reported number is the E.164 number we called.

    Infocaller may write numbers with or without the country code (or with
    00): equal digits, or the same last nine digits when both have them.
    """
    ours = e164.lstrip("+")
    theirs = reported.lstrip("+")
    if theirs.startswith("00"):
        theirs = theirs[2:]
    if ours == theirs:
        return True
    return len(ours) >= 9 and len(theirs) >= 9 and ours[-9:] == theirs[-9:]


def for_this_line(report: ProgressReport, line_id: str) -> bool:
    """Whether a report may be about this line (no ``line`` field: it may)."""
    return report.line is None or same_number(line_id, report.line)


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowedCall:
    """What matching needs to know about one followed call."""

    key: str
    call_id: str | None
    phone: str
    accepted_at: datetime
    scheduled_for: datetime | None
    window_end: datetime | None
    answered: bool
    given_up: bool = False
    ended_at: datetime | None = None
    #: A request whose outcome is unknown (``no_answer``): it may have been
    #: placed; never matched, only kept against incoming calls.
    maybe_placed: bool = False


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What the line's matched reports revealed about Infocaller's reports.

    The vendor does not say which of ``_NumLlamante`` (``caller``) and
    ``_NumLlamado`` (``called``) holds an outbound call's destination, nor
    whether ``_IdLlamada`` is the ``idcall`` it answered. Each flag says a
    matched report showed it; both flags of a pair mean Infocaller is not
    consistent, and the fact counts as unknown (the cautious reading).
    """

    destination_in_caller: bool = False
    destination_in_called: bool = False
    ids_equal: bool = False
    ids_differ: bool = False

    @property
    def destination(self) -> str | None:
        """The field that holds an outbound call's destination, if known."""
        if self.destination_in_caller == self.destination_in_called:
            return None
        return DESTINATION_CALLER if self.destination_in_caller else DESTINATION_CALLED

    @property
    def ids_are_idcall(self) -> bool:
        """Whether Infocaller reports our calls by the ``idcall`` it answered."""
        return self.ids_equal and not self.ids_differ

    def as_dict(self) -> dict[str, bool]:
        """Return the facts as stored."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> LineFacts:
        """Read stored facts; anything missing or not true is not known."""
        if not isinstance(data, Mapping):
            return cls()
        return cls(
            **{field.name: data.get(field.name) is True for field in fields(cls)}
        )


def destination_numbers(
    report: ProgressReport, facts: LineFacts | None = None
) -> tuple[str, ...]:
    """Return the report's numbers that may be an outbound call's destination."""
    if facts is None or facts.destination is None:
        return report.numbers
    number = report.caller if facts.destination == DESTINATION_CALLER else report.called
    return (number,) if number else ()


def learned(
    facts: LineFacts,
    report: ProgressReport,
    *,
    phone: str,
    idcall: str | None,
    line_id: str,
) -> LineFacts:
    """Return the facts with what a report matched to a call to ``phone`` shows.

    Only a report that carried the call's exact ``idcall`` teaches: a
    report matched by number may be anybody's (a return call from the
    person, or a report forged by someone who has the URL), and what is
    learned narrows every later match.
    """
    exact = report.call_id is not None and report.call_id == idcall
    if not exact:
        return facts
    in_caller = report.caller is not None and same_number(phone, report.caller)
    in_called = report.called is not None and same_number(phone, report.called)
    changes: dict[str, bool] = {"ids_equal": True}
    if in_called and not in_caller:
        changes["destination_in_called"] = True
    elif in_caller and not in_called:
        line_called = report.called is None or same_number(line_id, report.called)
        if line_called:
            changes["destination_in_caller"] = True
    if all(getattr(facts, name) for name in changes):
        return facts
    return LineFacts(**(facts.as_dict() | changes))


def number_window_opens(call: FollowedCall) -> datetime:
    """When a report may first match the call by its number."""
    start = max(call.scheduled_for or call.accepted_at, call.accepted_at)
    return start - EARLY_SLACK


def may_ring(call: FollowedCall, at: datetime) -> bool:
    """Whether a report arriving ``at`` may be about the call, by number."""
    if at < number_window_opens(call):
        return False
    return call.answered or call.window_end is None or at <= call.window_end


def by_number(
    report: ProgressReport,
    calls: Iterable[FollowedCall],
    at: datetime,
    *,
    facts: LineFacts | None = None,
) -> FollowedCall | None:
    """Return the call a report without a known call id belongs to, if any.

    Calls given up on count only when no other call to the number can
    ring. An "answered" goes to the oldest call to that number nobody
    answered yet; anything else prefers a call already answered (the one
    that goes on). With the destination's field known (``facts``), only
    that field is compared.
    """
    numbers = destination_numbers(report, facts)
    if not numbers:
        return None
    candidates = [
        call
        for call in calls
        if any(same_number(call.phone, number) for number in numbers)
        and may_ring(call, at)
    ]
    candidates = [call for call in candidates if not call.given_up] or candidates
    if report.stage is Stage.ANSWERED:
        candidates = [call for call in candidates if not call.answered]
    else:
        candidates = [call for call in candidates if call.answered] or candidates
    return min(candidates, key=lambda call: call.accepted_at, default=None)


@dataclass(frozen=True, slots=True)
class Match:
    """Which call a report belongs to (``key``), and how it was matched.

    ``key`` None: no followed call. ``ours`` is True when the report named a
    call id of ours that is no longer followed: it must not be kept for a
    call that comes later. ``held``: kept for a request on its way.
    """

    key: str | None
    how: str
    ours: bool = False
    held: bool = False


def match_report(
    report: ProgressReport,
    *,
    line_id: str,
    calls: Mapping[str, FollowedCall],
    ids: Mapping[str, str],
    finished_ids: Collection[str],
    at: datetime,
    sending: Collection[str] = (),
    facts: LineFacts | None = None,
    was_held: bool = False,
    recent_calls: Iterable[FollowedCall] = (),
) -> Match:
    """Return the followed call a report belongs to.

    ``calls`` are the followed calls by key; ``ids`` maps every call id
    known for a followed call (its ``idcall``, and ids reports used) to its
    key; ``finished_ids`` are the call ids of calls no longer followed;
    ``sending`` the numbers with a request on its way; ``facts`` what the
    line's matched reports revealed. A report that was held for a request
    to its number (``was_held``) goes by number whatever its call id: a
    call id we never had may be Infocaller's own for our call.
    ``recent_calls``: finished calls and requests whose outcome is unknown
    (they may have placed a call): a report by number is taken for such a
    request newer than the followed call it would go to, if that request's
    call may ring, not for the older followed call to the same number.
    """
    if not for_this_line(report, line_id):
        return Match(None, MATCH_NONE, ours=True)
    if report.call_id is not None:
        if (key := ids.get(report.call_id)) is not None and key in calls:
            exact = calls[key].call_id == report.call_id
            return Match(key, MATCH_CALL_ID if exact else MATCH_PHONE)
        if report.call_id in finished_ids:
            return Match(None, MATCH_NONE, ours=True)
        numbers = destination_numbers(report, facts)
        if any(same_number(phone, number) for phone in sending for number in numbers):
            return Match(None, MATCH_NONE, held=True)
    call = by_number(report, calls.values(), at, facts=facts)
    if call is None:
        return Match(None, MATCH_NONE)
    if maybe_placed_may_ring(recent_calls, (call.phone,), at, after=call.accepted_at):
        # A newer request to the number may have placed a call: the report
        # is most likely that call's, not the older followed call's.
        return Match(None, MATCH_NONE)
    if report.call_id is None and any(
        same_number(phone, number)
        for phone in sending
        for number in destination_numbers(report, facts)
    ):
        # No call id, and a request to its number on its way: it may be
        # that call's, not the followed call's to the same number.
        return Match(None, MATCH_NONE, held=True)
    return Match(call.key, MATCH_PHONE)


def maybe_placed_may_ring(
    recent_calls: Iterable[FollowedCall],
    numbers: Iterable[str],
    at: datetime,
    *,
    after: datetime | None = None,
) -> bool:
    """Whether a maybe-placed call to one of ``numbers`` may ring at ``at``.

    Among ``recent_calls``, only requests whose outcome is unknown count,
    and, with ``after``, only those made after it.
    """
    numbers = tuple(numbers)
    return any(
        call.maybe_placed
        and (after is None or call.accepted_at > after)
        and may_ring(call, at)
        and any(same_number(call.phone, number) for number in numbers)
        for call in recent_calls
    )


def belongs_to(
    report: ProgressReport,
    call: FollowedCall,
    at: datetime,
    *,
    facts: LineFacts | None = None,
) -> bool:
    """Whether a report kept from ``at`` (it matched nothing then) is the call's.

    By call id (a report with another id came before the call was placed,
    or was held for another request: ``match_report``); a report without a
    call id, by number within the call's window.
    """
    if report.call_id is not None:
        return report.call_id == call.call_id
    return by_number(report, (call,), at, facts=facts) is not None


def may_still_report(
    call: FollowedCall, at: datetime, *, followed: bool, later_stage: bool = False
) -> bool:
    """Whether a report arriving ``at`` may be a (late or early) report of the call.

    From when its number may first match it to ``LATE_SLACK`` after its
    window or its end, whichever is later; a followed call that was
    answered and has not ended, all along. A followed call scheduled to
    ring within ``EARLY_RING_SLACK`` counts already: a wrong account time zone
    or a clock ahead makes it ring early, and its report is not an
    incoming call. A report of a stage that comes after the answer
    (``later_stage``: keys, forwarding, the end) of a call nobody was seen
    to answer counts until ``TALK_SLACK`` after its window: the answer may
    have been missed, and the person talked.
    """
    if at < number_window_opens(call) and not (
        followed and number_window_opens(call) - at <= EARLY_RING_SLACK
    ):
        return False
    if followed and call.answered and call.ended_at is None:
        return True
    times = (call.accepted_at, call.window_end, call.ended_at)
    slack = TALK_SLACK if later_stage and not call.answered else LATE_SLACK
    return at <= max(time for time in times if time is not None) + slack


def is_incoming(
    report: ProgressReport,
    *,
    line_id: str,
    facts: LineFacts,
    followed: Iterable[FollowedCall],
    finished: Iterable[FollowedCall],
    sending: Collection[str],
    at: datetime,
) -> bool:
    """Whether a report that matched no call of ours, nor was held, is incoming.

    It names a caller that is not the line, and none of its numbers that
    may be an outbound destination (``destination_numbers``; either number
    for a request that was maybe placed) is being called, nor a number a
    followed or finished call may still report on (``may_still_report``).
    This check comes first, whatever the line learned: a report from a
    person we are calling, or called a few minutes ago, stays an outbound
    call's report (ambiguous), never an incoming call.
    """
    caller = report.caller
    if (
        caller is None
        or same_number(line_id, caller)
        or not for_this_line(report, line_id)
    ):
        return False
    numbers = destination_numbers(report, facts)
    if any(same_number(phone, number) for phone in sending for number in numbers):
        return False
    later_stage = report.stage is not Stage.ANSWERED
    return not any(
        same_number(call.phone, number)
        and may_still_report(call, at, followed=mine, later_stage=later_stage)
        for mine, calls in ((True, followed), (False, finished))
        for call in calls
        for number in (report.numbers if call.maybe_placed else numbers)
    )


#: ITU calling codes of one and two digits; every other code has three.
_SHORT_CALLING_CODES: Final = frozenset(
    [
        "1",
        "7",
        "20",
        "27",
        "30",
        "31",
        "32",
        "33",
        "34",
        "36",
        "39",
        "40",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "57",
        "58",
        "60",
        "61",
        "62",
        "63",
        "64",
        "65",
        "66",
        "81",
        "82",
        "84",
        "86",
        "90",
        "91",
        "92",
        "93",
        "94",
        "95",
        "98",
    ]
)
#: A reported number shorter than this is not a national number (a short
#: code): it is kept as reported.
_NATIONAL_MIN_DIGITS: Final = 6


def calling_code(line_id: str) -> str:
    """Return the country calling code a line's number begins with."""
    for length in (1, 2):
        if line_id[:length] in _SHORT_CALLING_CODES:
            return line_id[:length]
    return line_id[:3]


def reported_e164(number: str, line_id: str) -> str:
    """Write a reported number as outbound phones are written (E.164).

    ``+`` or ``00`` and the number: international; as many digits as the
    line's own number, beginning with its calling code: international
    without the ``+``; longer than the line's national numbers and not
    beginning with its calling code (nor with a trunk ``0``): international
    without the ``+`` (another country's); a shorter one is a number of the line's country
    (written as reported, no trunk prefix removed); a short code stays as
    reported.
    """
    digits = number.lstrip("+")
    if number.startswith("+"):
        return f"+{digits}"
    if digits.startswith("00"):
        return f"+{digits[2:]}"
    code = calling_code(line_id)
    if len(digits) >= len(line_id) and digits.startswith(code):
        return f"+{digits}"
    national = len(line_id) - len(code)
    if len(digits) > national and not digits.startswith((code, "0")):
        # No calling code begins with 0: a 0 is a trunk prefix (national).
        return f"+{digits}"
    if len(digits) < _NATIONAL_MIN_DIGITS:
        return digits
    return f"+{code}{digits}"
