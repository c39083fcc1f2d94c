"""Call progress: what happened to an accepted call, from Infocaller's requests.

The pipeline (``caller.py``) hands each accepted call to ``async_track``
while call progress is on. Infocaller's requests reach the line's webhook
(``webhook.py``, ``receiver.py``), which hands each parsed ``ProgressReport`` to
``async_report``. A report is matched to a followed call by call id (when
it equals the ``idcall`` we were given), else by the called number while
that call can still ring; unmatched reports are announced, never attached.
``not_answered`` is inferred here: no ``answered`` by the end of the call's
window, or an ``ended`` without ``answered`` (after a short grace, since
requests may arrive out of order). Every change updates the call record,
fires ``infocaller_call_progress`` and tells the listeners (entities, and
anyone waiting with ``async_wait``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
import dataclasses
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .api import CallRequest, Stage
from .const import (
    CONF_CALL_PROGRESS,
    EVENT_CALL_PROGRESS,
    FINISHED_CALLS_KEPT,
    MAX_TALK_SECONDS,
    ORDER_GRACE_SECONDS,
    RETRY_INTERVAL_SECONDS,
    RING_SECONDS,
    CallStatus,
)
from .ratelimit import RateLimiter
from .records import CallRecord, InfocallerRecords

if TYPE_CHECKING:
    from .api.progress import ProgressReport

MATCH_CALL_ID: Final = "call_id"
MATCH_PHONE: Final = "phone"
MATCH_NONE: Final = "none"
#: A report may come this long before the call's recorded start (clocks).
_EARLY_SLACK = timedelta(seconds=60)

type ProgressListener = Callable[[dict[str, Any]], None]


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


def _parse(value: str | None) -> datetime | None:
    return dt_util.parse_datetime(value) if value else None


class InfocallerProgress:
    """The progress of one line's accepted calls."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, records: InfocallerRecords
    ) -> None:
        """Follow calls kept in ``records.tracked`` (restored after a restart)."""
        self.hass = hass
        self.entry = entry
        self.records = records
        self.enabled = bool(entry.options.get(CONF_CALL_PROGRESS))
        self._finished: OrderedDict[str, CallRecord] = OrderedDict()
        self._seen: dict[str, set[tuple[str, str | None]]] = {}
        self._timers: dict[str, CALLBACK_TYPE] = {}
        self._changed: dict[str, list[asyncio.Future[None]]] = {}
        self._listeners: list[ProgressListener] = []
        self._stopped = False
        #: Requests that were not progress reports, or matched nothing.
        self.invalid_reports = 0
        self.unmatched_reports = 0
        #: Values of known fields dropped from reports for failing their check.
        self.dropped_values = 0
        #: The webhook's flood protection (``webhook.py``): counts drops.
        self.limiter = RateLimiter()

    # -- following calls ----------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Arm the timers of calls followed before a restart.

        With call progress off nothing is inferred: calls followed before
        it was turned off are let go.
        """
        if not self.enabled:
            self.records.tracked.clear()
            return
        for record in list(self.records.tracked.values()):
            self._arm(record)

    @callback
    def async_stop(self) -> None:
        """Cancel every timer and release anyone waiting (the entry unloads)."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
        self._stopped = True
        for futures in self._changed.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)

    @callback
    def async_track(self, record: CallRecord) -> None:
        """Follow an accepted call (its record says ``queued`` and its window).

        The record itself reached the entities through the records (a new
        call); only its timer is set here.
        """
        self.records.tracked[record.key] = record
        self._arm(record)

    def _arm(self, record: CallRecord) -> None:
        """Set the timer that ends following the call (or infers no answer)."""
        key = record.key
        if cancel := self._timers.pop(key, None):
            cancel()
        if record.answered_at is not None:
            end = (_parse(record.answered_at) or record.time) + timedelta(
                seconds=MAX_TALK_SECONDS
            )
        else:
            end = _parse(record.window_end) or record.time

        @callback
        def window_passed(_now: datetime) -> None:
            self._timers.pop(key, None)
            if (current := self.records.tracked.get(key)) is None:
                return
            if current.answered_at is None:
                self._not_answered(current)
            else:
                self._finish(current)

        self._timers[key] = async_track_point_in_utc_time(self.hass, window_passed, end)

    def _finish(self, record: CallRecord) -> None:
        """Stop following a call; keep it a while for late reports."""
        key = record.key
        self.records.tracked.pop(key, None)
        if cancel := self._timers.pop(key, None):
            cancel()
        self._finished[key] = record
        self._finished.move_to_end(key)
        while len(self._finished) > FINISHED_CALLS_KEPT:
            evicted, _record = self._finished.popitem(last=False)
            self._seen.pop(evicted, None)

    def _not_answered(self, record: CallRecord) -> None:
        """Infer that nobody answered the call."""
        if record.answered_at is not None:
            return
        updated = self._update(record, status=CallStatus.NOT_ANSWERED.value)
        self._finish(updated)
        # Inferred for this very call, so the match is exact.
        self._tell(
            self._event_data(updated, Stage.NOT_ANSWERED, MATCH_CALL_ID, inferred=True)
        )

    # -- reports ------------------------------------------------------------

    def _match(self, report: ProgressReport) -> tuple[CallRecord | None, str]:
        """Find the call a report is about: by call id, else by number."""
        if report.call_id is not None:
            for calls in (self.records.tracked, self._finished):
                if (record := calls.get(report.call_id)) is not None:
                    return record, MATCH_CALL_ID
        numbers = report.numbers
        if not numbers:
            return None, MATCH_NONE
        now = dt_util.utcnow()
        candidates = [
            record
            for record in self.records.tracked.values()
            if any(same_number(record.phone, number) for number in numbers)
            and record.time - _EARLY_SLACK <= now
            and (
                record.answered_at is not None
                or now <= (_parse(record.window_end) or now)
            )
        ]
        if report.stage is Stage.ANSWERED:
            # The oldest call to that number nobody answered yet.
            candidates = [r for r in candidates if r.answered_at is None]
        else:
            # Prefer a call already answered (it is the one that goes on).
            answered = [r for r in candidates if r.answered_at is not None]
            candidates = answered or candidates
        if not candidates:
            return None, MATCH_NONE
        return min(candidates, key=lambda record: record.time), MATCH_PHONE

    @callback
    def async_report(self, report: ProgressReport) -> str:
        """Apply one report from Infocaller; return how it was matched."""
        record, match = self._match(report)
        if record is None:
            self.unmatched_reports += 1
            self._tell(self._event_data(None, report.stage, match, report))
            return match
        seen = self._seen.setdefault(record.key, set())
        mark = (report.stage.value, report.digits)
        if mark in seen:
            return match  # a repeated request: already applied
        seen.add(mark)
        now = dt_util.utcnow()
        changes: dict[str, Any] = {}
        if report.stage is not Stage.ENDED and record.answered_at is None:
            # Any stage but "ended" means someone picked up.
            changes["answered_at"] = now.isoformat()
        if report.stage is Stage.ENDED:
            changes["ended_at"] = now.isoformat()
            if record.answered_at is not None:
                answered_at = _parse(record.answered_at) or now
                changes["talk_seconds"] = round((now - answered_at).total_seconds(), 1)
        elif report.stage is Stage.ANSWERED:
            if record.status in (CallStatus.QUEUED, CallStatus.NOT_ANSWERED):
                changes["status"] = CallStatus.ANSWERED.value
        else:
            changes["status"] = report.stage.value
            if report.digits is not None:
                changes["digits"] = report.digits
        updated = self._update(record, **changes)
        self._tell(self._event_data(updated, report.stage, match, report))
        if updated.key in self.records.tracked:
            if updated.ended_at is not None and updated.answered_at is not None:
                self._finish(updated)
            elif report.stage is Stage.ENDED:
                self._grace_then_not_answered(updated.key)
            elif record.answered_at is None:
                self._arm(updated)  # answered: followed until it ends
        return match

    def _grace_then_not_answered(self, key: str) -> None:
        """After an "ended" without "answered", wait for a late "answered"."""
        if cancel := self._timers.pop(key, None):
            cancel()

        @callback
        def grace_passed(_now: datetime) -> None:
            self._timers.pop(key, None)
            if (current := self.records.tracked.get(key)) is not None:
                if current.answered_at is None:
                    self._not_answered(current)
                else:
                    self._finish(current)

        self._timers[key] = async_call_later(
            self.hass, ORDER_GRACE_SECONDS, grace_passed
        )

    def _update(self, record: CallRecord, **changes: Any) -> CallRecord:
        """Keep a new version of a record everywhere the old one was."""
        updated = dataclasses.replace(record, **changes)
        key = record.key
        if key in self.records.tracked:
            self.records.tracked[key] = updated
        if key in self._finished:
            self._finished[key] = updated
        self.records.async_replace(record, updated)
        for future in self._changed.get(key, []):
            if not future.done():
                future.set_result(None)
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
            "digits": report.digits if report else None,
            "talk_seconds": (
                record.talk_seconds if record and stage is Stage.ENDED else None
            ),
            "forward": report.forward if report else None,
            "uuid": report.uuid if report else None,
            "inferred": inferred,
            "time": dt_util.utcnow().isoformat(),
        }

    def _tell(self, data: dict[str, Any]) -> None:
        """Fire the event and tell the entities."""
        self.hass.bus.async_fire(EVENT_CALL_PROGRESS, data)
        for listener in list(self._listeners):
            listener(data)

    @callback
    def async_add_listener(self, listener: ProgressListener) -> CALLBACK_TYPE:
        """Call ``listener`` with every progress change (the event's data)."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    # -- waiting ------------------------------------------------------------

    def current(self, record: CallRecord) -> CallRecord:
        """Return the newest version of a followed (or finished) call."""
        key = record.key
        return self.records.tracked.get(key) or self._finished.get(key) or record

    async def async_wait(
        self, record: CallRecord, until: Stage, seconds: float
    ) -> CallRecord:
        """Wait until the call reaches ``until``, ends, or ``seconds`` pass.

        ``until`` is ``answered`` (any sign that someone picked up) or
        ``acknowledged`` (an acknowledgement or digits). Returns the call's
        newest record. Cancelling the waiting task leaves nothing behind.
        """
        key = record.key
        loop = asyncio.get_running_loop()
        futures = self._changed.setdefault(key, [])
        try:
            async with asyncio.timeout(seconds):
                while True:
                    current = self.current(record)
                    if reached(current, until) or _over(current) or self._stopped:
                        return current
                    future: asyncio.Future[None] = loop.create_future()
                    futures.append(future)
                    try:
                        await future
                    finally:
                        futures.remove(future)
        except TimeoutError:
            return self.current(record)
        finally:
            if not futures:
                self._changed.pop(key, None)


def reached(record: CallRecord, until: Stage) -> bool:
    """Whether a call reached what a wait asked for."""
    if until is Stage.ACKNOWLEDGED:
        return record.status in (CallStatus.ACKNOWLEDGED, CallStatus.DIGITS)
    return record.answered_at is not None


def _over(record: CallRecord) -> bool:
    """Whether nothing more can come of a call (ended, or not answered)."""
    return record.status == CallStatus.NOT_ANSWERED or (
        record.ended_at is not None and record.answered_at is not None
    )
