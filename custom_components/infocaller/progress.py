"""Call progress: what happened to an accepted call, from Infocaller's requests.

Progress owns the calls it follows: it learns about each accepted call from
the records (a new record with a ``queued`` status), keeps them in its own
store (``progress_state.py``: followed and finished calls, what the line
learned, incoming calls seen) and ends following a call by a timer.
Infocaller's requests reach the line's webhook (``webhook.py``,
``receiver.py``), which hands each parsed ``ProgressReport`` to
``async_report``; which call a report belongs to is ``matching.py``'s
rule. A report that matches nothing is announced, and kept a short while
(``PENDING_REPORTS`` at most, ``PENDING_SECONDS`` old at most): Infocaller
may report before the action has read its answer, and the report is
applied when the call is followed. ``not_answered`` is inferred here: no
``answered`` by the end of the call's window, or an ``ended`` without
``answered`` (after a short grace, since requests may arrive out of order).
Every change updates the call record, fires ``infocaller_call_progress``,
sends a ``LineUpdate`` on the line's signal (the entities) and wakes the
waits on the call (``waiting.py``). When to stop following a call is
``timers.py``'s; a request on its way to Infocaller is announced on the
records' request signal by the pipeline, which knows nothing of call
progress.

Waits and timers belong to the line: once it unloads (``async_stop``) no
timer is set, no report is applied, and a waiter gets
``LineUnloadedError`` instead of an answer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
import dataclasses
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import (
    async_dispatcher_connect,
    async_dispatcher_send,
)
from homeassistant.util import dt as dt_util

from .api import Stage
from .const import (
    CONF_CALL_PROGRESS,
    EVENT_CALL_PROGRESS,
    RESULT_NO_ANSWER,
    STATUS_OF_STAGE,
    CallStatus,
)
from .matching import (
    MATCH_CALL_ID,
    MATCH_NONE,
    MATCH_PHONE,
    FollowedCall,
    Match,
    belongs_to,
    for_this_line,
    is_incoming,
    learned,
    match_report,
    maybe_placed_may_ring,
    same_number,
)
from .progress_state import ProgressState, followed_call, maybe_placed_call
from .ratelimit import RateLimiter
from .records import CallRecord, InfocallerRecords, LineUpdate
from .timers import CallTimers
from .waiting import CallWaiters

if TYPE_CHECKING:
    from .api.report import ProgressReport

#: Reports that matched nothing, kept for a call not followed yet.
PENDING_REPORTS: Final = 50
PENDING_SECONDS: Final = 120


class InfocallerProgress(ProgressState):
    """The progress of one line's accepted calls: reports, timers, waits."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, records: InfocallerRecords
    ) -> None:
        """Follow the line's accepted calls; ``async_load`` restores them."""
        super().__init__(hass, entry, records)
        self.enabled = bool(entry.options.get(CONF_CALL_PROGRESS))
        #: Reports that matched nothing yet: (arrival, report, held, maybe
        #: placed's), held when it was kept for a request on its way
        #: (``_match_kept``); maybe placed's when such a request to its
        #: number got no usable answer while it was held.
        self.pending: deque[tuple[datetime, ProgressReport, bool, bool]] = deque()
        #: Numbers with a request on its way to Infocaller (its outcome not
        #: recorded yet), and how many: a report for that call may come first.
        self.sending: dict[str, int] = {}
        #: Followed calls a chain stopped waiting on (in memory: chains are).
        self.given_up: set[str] = set()
        self._timers = CallTimers(hass, self._time_is_up)
        #: The waits on the line's calls (``wait_for``, the call chains).
        self.waiters = CallWaiters(self.call)
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self.stopped = False
        #: Requests that were not progress reports, or matched nothing.
        self.invalid_reports = 0
        self.unmatched_reports = 0
        #: Values of known fields dropped from reports for failing their check.
        self.dropped_values = 0
        #: The webhook's flood protection (``receiver.py``): requests that
        #: match no followed call, and those that do, each their own budget.
        self.limiter = RateLimiter()
        self.matched_limiter = RateLimiter()

    # -- following calls ----------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Arm the timers of calls followed before, and follow new ones.

        With call progress off nothing is inferred: calls followed before
        it was turned off are let go.
        """
        if not self.enabled:
            if self.tracked:
                self.tracked.clear()
                self._ids.clear()
                self._saving.async_schedule()
            return
        self._unsubscribe = [
            async_dispatcher_connect(
                self.hass, self.records.signal, self._line_updated
            ),
            async_dispatcher_connect(
                self.hass, self.records.request_signal, self._request_on_its_way
            ),
        ]
        for record in list(self.tracked.values()):
            self._arm(record)

    @callback
    def async_stop(self) -> None:
        """Stop: cancel every timer, tell anyone waiting the line unloaded.

        Nothing is scheduled or applied afterwards.
        """
        self.stopped = True
        while self._unsubscribe:
            self._unsubscribe.pop()()
        self._timers.async_stop()
        self.waiters.async_stop()

    @callback
    def _request_on_its_way(self, phone: str, sending: bool) -> None:
        """Note a request leaving for ``phone`` (``sending``), or over."""
        if sending:
            self.sending[phone] = self.sending.get(phone, 0) + 1
        else:
            self._request_over(phone)

    @callback
    def _line_updated(self, update: LineUpdate) -> None:
        """Follow each new accepted call."""
        record = update.record
        if (
            update.progress is None
            and record is not None
            and record.result is None
            and record.result_key == RESULT_NO_ANSWER
        ):
            # No answer read: the call may have been placed (and may ring).
            self._remember(maybe_placed_call(record))
            self._held_for_maybe_placed(record.phone)
            self._saving.async_schedule()
            return
        if (
            update.progress is not None  # our own change
            or record is None
            or record.status is None
            or self.stopped
        ):
            return
        self._follow(record)
        self._arm(record)
        self._apply_pending(record.key)

    def _apply_pending(self, key: str) -> None:
        """Apply the kept reports that belong to a call just followed."""
        oldest = dt_util.utcnow() - timedelta(seconds=PENDING_SECONDS)
        for item in list(self.pending):
            at, report, _held, maybe_placed = item
            if at < oldest:
                self.pending.remove(item)
                continue
            if (record := self.tracked.get(key)) is None:
                return
            if maybe_placed and report.call_id != record.call_id:
                # Most likely the maybe-placed call's: only its own id moves it.
                continue
            if belongs_to(report, followed_call(record), at, facts=self.facts):
                self.pending.remove(item)
                how = MATCH_CALL_ID if report.call_id == record.call_id else MATCH_PHONE
                self._apply(record, report, how, at)

    def _held_for_maybe_placed(self, phone: str) -> None:
        """Mark the kept reports of ``phone`` as maybe a maybe-placed call's.

        The request got no usable answer: Infocaller may have placed the
        call, and a report kept for its number (held for the request, or
        kept as matching nothing while it was on its way) is most likely
        that call's. It is then given to no other call by number
        (``_match_kept``, ``_apply_pending``): only by its exact call id.
        """
        for index, (at, report, held, _maybe) in enumerate(self.pending):
            if any(same_number(phone, n) for n in report.numbers):
                self.pending[index] = (at, report, held, True)

    def _request_over(self, phone: str) -> None:
        """Note that a request to ``phone`` is over: its outcome is recorded.

        An accepted call is followed by now (``_line_updated``): the reports
        held for the request are matched at once.
        """
        if (count := self.sending.pop(phone, 0)) > 1:
            self.sending[phone] = count - 1
        self._match_kept()

    def _match_kept(self) -> None:
        """Match kept reports held for a request whose outcome is now recorded.

        A report with a call id we did not know, that came while a request
        to its number was on its way, was kept rather than given to another
        call to that number: when no followed call has its id once nothing
        is on its way to that number, it is matched by number (as of its
        arrival), as any report with an id of Infocaller's own. One held
        while a request to its number got no usable answer (maybe placed)
        is taken for that call's: it is dropped, matched to no other call
        (it was announced unmatched when it came).
        """
        for item in list(self.pending):
            at, report, held, maybe_placed = item
            if not held or self._sending_to(report):
                continue
            self.pending.remove(item)
            if maybe_placed:
                continue
            match = self._match_report(report, at, was_held=True)
            if match.key is not None:
                self._apply(self.tracked[match.key], report, match.how, at)
            elif not match.ours:
                self._keep(at, report, held=False)

    def _keep(self, at: datetime, report: ProgressReport, *, held: bool) -> None:
        """Keep a report that matched nothing, within ``PENDING_REPORTS``.

        When full, the oldest of the least likely reports goes: first those
        that name no number, then those whose number is neither being
        called nor followed. A flood of junk cannot push out a genuine
        early report of a call on its way.
        """
        pending = self.pending
        if len(pending) >= PENDING_REPORTS:
            scores = [self._likelihood(item[1], item[2]) for item in pending]
            del pending[scores.index(min(scores))]
        # Kept while a request to its number is on its way: most likely
        # that request's call's (unless it too gets no usable answer).
        # Otherwise, within a maybe-placed call's window to its number,
        # most likely that call's.
        maybe = (
            not held
            and not self._sending_to(report)
            and maybe_placed_may_ring(self.recent_calls.values(), report.numbers, at)
        )
        pending.append((at, report, held, maybe))

    def _likelihood(self, report: ProgressReport, held: bool) -> int:
        """Rank a kept report: how likely it is to be for a call of ours."""
        if not report.numbers:
            return 0
        if held or self._sending_to(report):
            return 2
        calls = self.tracked.values()
        if any(same_number(call.phone, n) for call in calls for n in report.numbers):
            return 2
        return 1

    def _match_report(
        self,
        report: ProgressReport,
        at: datetime,
        sending: Collection[str] = (),
        *,
        was_held: bool = False,
    ) -> Match:
        """Match a report that arrived at ``at`` against the followed calls."""
        return match_report(
            report,
            line_id=self.line_id,
            calls=self._followed(),
            ids=self._ids,
            finished_ids=self.finished_ids,
            at=at,
            sending=sending,
            facts=self.facts,
            was_held=was_held,
            recent_calls=self.recent_calls.values(),
        )

    def _followed(self) -> dict[str, FollowedCall]:
        """Return the followed calls as matching sees them."""
        return {
            key: followed_call(record, given_up=key in self.given_up)
            for key, record in self.tracked.items()
        }

    @callback
    def async_give_up(self, record: CallRecord) -> None:
        """Note that a chain stopped waiting on a call (``matching.py``)."""
        if record.key in self.tracked:
            self.given_up.add(record.key)

    def _sending_to(self, report: ProgressReport) -> bool:
        """Whether a request to a number the report names is on its way."""
        return any(
            same_number(phone, number)
            for phone in self.sending
            for number in report.numbers
        )

    def _arm(self, record: CallRecord) -> None:
        """Set the timer that ends following the call (or infers no answer)."""
        self._timers.async_follow(record)

    @callback
    def _time_is_up(self, key: str) -> None:
        """Infer what a fired timer means: nobody answered, or the call is over."""
        if (current := self.tracked.get(key)) is None:
            return
        if current.answered_at is None:
            self._not_answered(current)
        else:
            self._finish(current)

    def _finish(self, record: CallRecord) -> None:
        """Stop following a call (its timer too); keep it a while for late reports."""
        self.given_up.discard(record.key)
        self._timers.async_cancel(record.key)
        self._keep_finished(record)

    def _not_answered(self, record: CallRecord) -> None:
        """Infer that nobody answered the call."""
        if record.answered_at is not None:
            return
        updated = self._update(record, status=CallStatus.NOT_ANSWERED.value)
        self._finish(updated)
        # Inferred for this very call, so the match is exact.
        self._tell(
            updated,
            self._event_data(updated, Stage.NOT_ANSWERED, MATCH_CALL_ID, inferred=True),
        )

    # -- reports ------------------------------------------------------------

    def _match(
        self, report: ProgressReport, now: datetime
    ) -> tuple[CallRecord | None, str, bool, bool]:
        """Find the call a report is about; say if it named a call of ours.

        The last item: the report was held for a request on its way.
        """
        if (
            report.call_id is not None
            and (finished := self.finished_ids.get(report.call_id)) is not None
            and (record := self._finished.get(finished[0])) is not None
            and for_this_line(report, self.line_id)
        ):
            how = MATCH_CALL_ID if record.call_id == report.call_id else MATCH_PHONE
            return record, how, True, False
        match = self._match_report(report, now, sending=self.sending)
        if match.key is None:
            return None, match.how, match.ours, match.held
        return self.tracked[match.key], match.how, True, False

    @callback
    def async_receive(self, report: ProgressReport) -> bool:
        """Apply a report from the webhook within its budget; False if over it.

        Reports that can still change a followed call have their own
        budget: a flood of reports that match nothing, name a finished call,
        or repeat what a followed call already had never starves them. A
        followed call can spend only a few tokens of it (one per stage, and
        ``MARKS_PER_CALL`` distinct digits): after that, its reports change
        nothing and go to the other budget.
        """
        now = dt_util.utcnow()
        matched = self._match(report, now)
        record = matched[0]
        changes = (
            record is not None
            and record.key in self.tracked
            and self._is_new(record.key, report)
        )
        budget = self.matched_limiter if changes else self.limiter
        if not budget.allow():
            return False
        self._handle(report, matched, now)
        return True

    @callback
    def async_report(self, report: ProgressReport) -> str:
        """Apply one report from Infocaller; return how it was matched."""
        now = dt_util.utcnow()
        return self._handle(report, self._match(report, now), now)

    def _handle(
        self,
        report: ProgressReport,
        matched: tuple[CallRecord | None, str, bool, bool],
        now: datetime,
    ) -> str:
        """Apply a matched report, or announce and keep an unmatched one."""
        if self.stopped:
            return MATCH_NONE
        record, how, ours, held = matched
        if record is None and not (ours or held) and self._incoming(report, now):
            return MATCH_NONE
        if record is None:
            self.unmatched_reports += 1
            if not ours:
                # Maybe for a call whose answer the action has not read yet.
                self._keep(now, report, held=held)
            self._tell(None, self._event_data(None, report.stage, how, report))
            return how
        self._apply(record, report, how, now)
        return how

    def _incoming(self, report: ProgressReport, now: datetime) -> bool:
        """Hand a report of a call someone made to the line to ``incoming``.

        False when it is not one (``matching.is_incoming``): it is then an
        unmatched report, as before.
        """
        # Equal numbers (``same_number``) have equal tails: a cheap sieve
        # over up to FINISHED_IDS_KEPT calls, is_incoming compares exactly.
        tails = {_tail(number) for number in report.numbers}
        if not self.incoming.knows(report) and (
            report.caller is None  # cheap: junk floods stop here
            or not is_incoming(
                report,
                line_id=self.line_id,
                facts=self.facts,
                followed=self._followed().values(),
                finished=[
                    call
                    for call in self.recent_calls.values()
                    if _tail(call.phone) in tails
                ],
                sending=self.sending,
                at=now,
            )
        ):
            return False
        if self.incoming.async_report(report, now):
            self._saving.async_schedule()
        return True

    def _apply(
        self, record: CallRecord, report: ProgressReport, how: str, at: datetime
    ) -> None:
        """Apply a report that arrived ``at`` to the call it belongs to."""
        key = record.key
        if not self._mark(key, report):
            return  # a repeat (already applied), or digits beyond the cap
        facts = learned(
            self.facts,
            report,
            phone=record.phone,
            idcall=record.call_id,
            line_id=self.line_id,
        )
        if facts != self.facts:
            self.facts = facts
            self._saving.async_schedule()
        self._learn_id(report.call_id, key)
        changes: dict[str, Any] = {}
        if report.stage is not Stage.ENDED and record.answered_at is None:
            # Any stage but "ended" means someone picked up.
            changes["answered_at"] = at.isoformat()
        if report.stage is Stage.ENDED:
            changes["ended_at"] = at.isoformat()
            if record.answered_at is not None:
                answered_at = dt_util.parse_datetime(record.answered_at) or at
                changes["talk_seconds"] = round((at - answered_at).total_seconds(), 1)
        elif report.stage is Stage.ANSWERED:
            if record.status in (CallStatus.QUEUED, CallStatus.NOT_ANSWERED):
                changes["status"] = CallStatus.ANSWERED.value
        else:
            changes["status"] = STATUS_OF_STAGE[report.stage].value
            if report.digits is not None:
                changes["digits"] = report.digits
        updated = self._update(record, **changes)
        self._tell(updated, self._event_data(updated, report.stage, how, report))
        if updated.key in self.tracked:
            if updated.ended_at is not None and updated.answered_at is not None:
                self._finish(updated)
            elif report.stage is Stage.ENDED:
                self._grace_then_not_answered(updated.key)
            elif record.answered_at is None:
                self._arm(updated)  # answered: followed until it ends

    def _grace_then_not_answered(self, key: str) -> None:
        """After an "ended" without "answered", wait for a late "answered"."""
        self._timers.async_grace(key)

    def _update(self, record: CallRecord, **changes: Any) -> CallRecord:
        """Keep a new version of a record everywhere the old one was."""
        updated = dataclasses.replace(record, **changes)
        key = record.key
        if key in self.tracked:
            self.tracked[key] = updated
            self._saving.async_schedule()
        if key in self._finished:
            self._finished[key] = updated
        if key in self.recent_calls:
            self.recent_calls[key] = followed_call(updated)
            self._saving.async_schedule()
        self.records.async_replace(record, updated)
        self.waiters.async_changed(key)
        return updated

    # -- telling ------------------------------------------------------------

    def _event_data(
        self,
        record: CallRecord | None,
        stage: Stage,
        match: str,
        report: ProgressReport | None = None,
        *,
        inferred: bool = False,
    ) -> dict[str, Any]:
        """Return the event's data.

        ``record`` is the call the report is about; None when it matched no
        call, and then the call id and number are the report's own.
        """
        call_id: str | None = None
        phone: str | None = None
        if record is not None:
            call_id, phone = record.call_id, record.phone
        elif report is not None:
            call_id, phone = report.call_id, report.called or report.caller
        return {
            "config_entry_id": self.entry.entry_id,
            "stage": stage.value,
            "status": record.status if record else None,
            "match": match,
            "call_id": call_id,
            "phone": phone,
            "rule_group": record.rule_group if record else None,
            "source": record.source if record else None,
            "saved_call": record.saved_call if record else None,
            "saved_call_id": self.records.saved_call_id(record, self.entry),
            "digits": report.digits if report else None,
            "talk_seconds": (
                record.talk_seconds if record and stage is Stage.ENDED else None
            ),
            "forward": report.forward if report else None,
            "uuid": report.uuid if report else None,
            "inferred": inferred,
            "time": dt_util.utcnow().isoformat(),
        }

    def _tell(self, record: CallRecord | None, data: dict[str, Any]) -> None:
        """Fire the event and send the change on the line's signal."""
        self.hass.bus.async_fire(EVENT_CALL_PROGRESS, data)
        async_dispatcher_send(
            self.hass, self.records.signal, LineUpdate(record=record, progress=data)
        )


def _tail(number: str) -> str:
    """Return a number's last nine digits (``same_number`` compares them)."""
    digits = number.lstrip("+")
    if digits.startswith("00"):
        digits = digits[2:]
    return digits[-9:]
