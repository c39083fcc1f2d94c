"""Which followed call a progress report belongs to: the rules, and nothing else.

Plain functions over plain values (no Home Assistant, no clock, no I/O), so
each rule can be read and tested on its own. ``progress.py`` applies them.

- A report whose ``line`` names another line belongs to no call.
- By call id at any time: the ``idcall`` Infocaller gave us, or a call id a
  report carried when its number matched (Infocaller may use its own ids).
- A call id we do not know (neither followed nor finished) that comes while
  a request to the report's number is on its way (its answer not read) may
  be that call's, reported before Infocaller answered us: it is held, not
  given to another call to that number. When the answer is read, a call
  with that ``idcall`` takes it; if none does, it is matched by number as
  of its arrival (Infocaller's own ids). A report kept because it matched
  nothing (no request on its way) later goes only to a call with its id:
  it came before any request to its number, so it is not for a call
  placed after it.
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
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from .api import CallRequest, Stage
from .const import RETRY_INTERVAL_SECONDS, RING_SECONDS

if TYPE_CHECKING:
    # Only a line with call progress loads the report reader.
    from .api.report import ProgressReport

MATCH_CALL_ID: Final = "call_id"
MATCH_PHONE: Final = "phone"
MATCH_NONE: Final = "none"
#: A report may come this long before the call's start (clocks differ).
EARLY_SLACK: Final = timedelta(seconds=60)


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
    report: ProgressReport, calls: Iterable[FollowedCall], at: datetime
) -> FollowedCall | None:
    """Return the call a report without a known call id belongs to, if any.

    Calls given up on count only when no other call to the number can
    ring. An "answered" goes to the oldest call to that number nobody
    answered yet; anything else prefers a call already answered (the one
    that goes on).
    """
    numbers = report.numbers
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
) -> Match:
    """Return the followed call a report belongs to.

    ``calls`` are the followed calls by key; ``ids`` maps every call id
    known for a followed call (its ``idcall``, and ids reports used) to its
    key; ``finished_ids`` are the call ids of calls no longer followed;
    ``sending`` the numbers with a request on its way.
    """
    if not for_this_line(report, line_id):
        return Match(None, MATCH_NONE, ours=True)
    if report.call_id is not None:
        if (key := ids.get(report.call_id)) is not None and key in calls:
            exact = calls[key].call_id == report.call_id
            return Match(key, MATCH_CALL_ID if exact else MATCH_PHONE)
        if report.call_id in finished_ids:
            return Match(None, MATCH_NONE, ours=True)
        if any(
            same_number(phone, number) for phone in sending for number in report.numbers
        ):
            return Match(None, MATCH_NONE, held=True)
    call = by_number(report, calls.values(), at)
    if call is None:
        return Match(None, MATCH_NONE)
    return Match(call.key, MATCH_PHONE)


def belongs_to(report: ProgressReport, call: FollowedCall, at: datetime) -> bool:
    """Whether a report kept from ``at`` (it matched nothing then) is the call's.

    By call id (a report with another id came before the call was placed,
    or was held for another request: ``match_report``); a report without a
    call id, by number within the call's window.
    """
    if report.call_id is not None:
        return report.call_id == call.call_id
    return by_number(report, (call,), at) is not None
