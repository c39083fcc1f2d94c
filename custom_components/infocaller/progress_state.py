"""What call progress keeps of a line's calls, and its saved form.

Call progress (``progress.py``) follows a line's accepted calls; this is
its state, saved in ``.storage/infocaller.<entry id>.progress``
(``SavedState``): the followed calls and the ids Infocaller used for them,
the marks of the reports applied to each (a repeat is applied once), the
call ids of finished calls (a late report changes nothing), finished calls
and requests that may have been placed (a late report naming their number
is never an incoming call), what the line's reports revealed
(``matching.LineFacts``, with a digest of the webhook id of the URLs they
came through) and the incoming calls seen (``incoming.py``). What is kept
is bounded in count and age.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
import hashlib
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import (
    CONF_CALL_PROGRESS,
    CONF_IDINFOCALLER,
    DOMAIN,
    FINISHED_CALLS_KEPT,
    MAX_WAIT_LIMIT,
    RESULT_NO_ANSWER,
    RETRIES_LIMIT,
    RETRY_INTERVAL_SECONDS,
    RING_SECONDS,
    CallStatus,
)
from .incoming import IncomingCalls
from .matching import FollowedCall, LineFacts, same_number
from .records import CallRecord, InfocallerRecords, saved_time
from .saving import LineStore, SavedState, saved_object

if TYPE_CHECKING:
    from .api.report import ProgressReport

#: Call ids of finished calls, kept against late or repeated reports.
FINISHED_IDS_KEPT: Final = 1000
FINISHED_IDS_SECONDS: Final = 24 * 3600
#: Distinct digits reports remembered (and applied) per call: a repeat is
#: applied once, and more distinct digits than this are ignored.
MARKS_PER_CALL: Final = 20
#: Call ids Infocaller used for one call besides its idcall (reports matched
#: by number); a report with yet another id still matches by number.
IDS_PER_CALL: Final = 3
#: A request whose outcome is unknown may have been placed with any wait
#: and retries: it is kept against incoming calls for the longest window.
MAYBE_PLACED_WINDOW: Final = timedelta(
    minutes=MAX_WAIT_LIMIT,
    seconds=RING_SECONDS * (RETRIES_LIMIT + 1) + RETRY_INTERVAL_SECONDS * RETRIES_LIMIT,
)


def _parse(value: str | None) -> datetime | None:
    return dt_util.parse_datetime(value) if value else None


def followed_call(record: CallRecord, *, given_up: bool = False) -> FollowedCall:
    """Return what matching needs to know of a followed call's record."""
    return FollowedCall(
        given_up=given_up,
        key=record.key,
        call_id=record.call_id,
        phone=record.phone,
        accepted_at=record.time,
        scheduled_for=_parse(record.scheduled_for),
        window_end=_parse(record.window_end),
        answered=record.answered_at is not None,
        ended_at=_parse(record.ended_at),
    )


def maybe_placed_call(record: CallRecord) -> FollowedCall:
    """Return a request whose outcome is unknown as a call that may ring."""
    start = max(_parse(record.scheduled_for) or record.time, record.time)
    return FollowedCall(
        key=record.key,
        call_id=None,
        phone=record.phone,
        accepted_at=record.time,
        scheduled_for=_parse(record.scheduled_for),
        window_end=start + MAYBE_PLACED_WINDOW,
        answered=False,
        maybe_placed=True,
    )


def _recent_as_dict(call: FollowedCall) -> dict[str, Any]:
    """Return a finished (or maybe placed) call as saved."""
    return {
        "key": call.key,
        "phone": call.phone,
        "accepted_at": call.accepted_at.isoformat(),
        "scheduled_for": call.scheduled_for and call.scheduled_for.isoformat(),
        "window_end": call.window_end and call.window_end.isoformat(),
        "ended_at": call.ended_at and call.ended_at.isoformat(),
        "answered": call.answered,
        "maybe_placed": call.maybe_placed,
    }


def _recent_from_dict(saved: object) -> FollowedCall:
    """Read a saved finished call; raises if it is not one."""
    data = saved_object(saved)
    return FollowedCall(
        key=str(data["key"]),
        call_id=None,
        phone=str(data["phone"]),
        accepted_at=saved_time(data["accepted_at"], "accepted_at"),
        scheduled_for=_optional_time(data, "scheduled_for"),
        window_end=_optional_time(data, "window_end"),
        ended_at=_optional_time(data, "ended_at"),
        answered=data.get("answered") is True,
        maybe_placed=data.get("maybe_placed") is True,
    )


def _optional_time(data: Mapping[str, Any], name: str) -> datetime | None:
    """Return a saved time that may be missing; raise if it is not a time."""
    value = data.get(name)
    return None if value is None else saved_time(value, name)


def _last_time(call: FollowedCall) -> datetime:
    """Return the latest time a finished call is known by."""
    times = (call.accepted_at, call.window_end, call.ended_at)
    return max(time for time in times if time is not None)


def url_mark(webhook_id: object) -> str | None:
    """Return a short digest of the webhook id (never the id itself)."""
    if not webhook_id:
        return None
    return hashlib.sha256(str(webhook_id).encode()).hexdigest()[:12]


def progress_store(hass: HomeAssistant, entry_id: str) -> LineStore:
    """Return the store of the calls a line follows (and finished call ids)."""
    return LineStore(hass, f"{DOMAIN}.{entry_id}.progress")


class ProgressState(SavedState):
    """The calls one line follows, and what it keeps of finished ones; saved."""

    issue_key = "progress_unreadable"

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, records: InfocallerRecords
    ) -> None:
        """Start empty; ``async_load`` restores what was saved."""
        super().__init__(hass, progress_store(hass, entry.entry_id), entry.title)
        self.entry = entry
        self.records = records
        self.line_id = str(entry.data[CONF_IDINFOCALLER])
        #: Accepted calls whose progress is followed, by ``CallRecord.key``.
        self.tracked: dict[str, CallRecord] = {}
        #: Every call id known for a followed call (its idcall, and ids that
        #: reports matched by number used), to its key.
        self._ids: dict[str, str] = {}
        #: Call ids of finished calls: (the call's key, when it finished),
        #: oldest first.
        self.finished_ids: OrderedDict[str, tuple[str, datetime]] = OrderedDict()
        #: Finished calls in memory, for a late report that names them.
        self._finished: OrderedDict[str, CallRecord] = OrderedDict()
        #: Finished calls and requests maybe placed (``no_answer``), saved
        #: (``FINISHED_IDS_KEPT``, ``FINISHED_IDS_SECONDS``): a late report
        #: naming their number is never an incoming call.
        self.recent_calls: OrderedDict[str, FollowedCall] = OrderedDict()
        self._recent_saved = False
        #: The marks (stage, digits) of the reports applied to each call.
        self._seen: dict[str, dict[tuple[str, str | None], None]] = {}
        #: What matched reports revealed (``matching.learned``), saved with
        #: a digest of the URLs' webhook id they came through (taken now:
        #: the options change before the line unloads and saves).
        self.facts = LineFacts()
        self._url = url_mark(entry.options.get(CONF_WEBHOOK_ID))
        #: Calls someone made to the line (``incoming.py``).
        self.incoming = IncomingCalls(hass, entry, self.line_id)

    async def async_load(self) -> bool:
        """Restore the followed calls and finished ids saved before.

        A line saved before progress had its own store kept its followed
        calls in the records file (``records.legacy_tracked``): read once.
        """
        restored = await super().async_load()
        if not restored and self.records.legacy_tracked:
            # Checked as the records file was read (``records._restore``).
            self._restore({"tracked": self.records.legacy_tracked})
            self._saving.async_schedule()  # from now on in our store
        if not self._recent_saved:
            self._recall_records()
        if not self.entry.options.get(CONF_CALL_PROGRESS):
            self._let_go_queued()
        return restored

    def _let_go_queued(self) -> None:
        """With call progress off, no record says its call is still queued.

        Nothing follows calls any more (``progress.async_start`` lets the
        followed ones go): a call still ``queued`` in the records gets no
        status (the line's "Last call status" is unknown), instead of
        showing, forever, a call from long ago as queued.
        """
        records = self.records
        queued = {
            record.key: record
            for record in (
                *records.recent,
                *records.by_saved_call.values(),
                records.last_answer,
                records.last_progress,
            )
            if record is not None and record.status == CallStatus.QUEUED
        }
        for record in queued.values():
            records.async_replace(record, replace(record, status=None))

    def _restore(self, data: Mapping[str, Any]) -> None:
        """Take saved followed calls and finished ids (unknown fields ignored).

        Raises, having taken nothing, if they are not what was saved.
        """
        tracked: dict[str, CallRecord] = {}
        ids: dict[str, str] = {}
        for item in data.get("tracked") or []:
            record = CallRecord.from_dict(item)
            tracked[record.key] = record
            if record.call_id:
                ids[record.call_id] = record.key
        for call_id, key in saved_object(data.get("ids") or {}).items():
            if key in tracked:
                ids[str(call_id)] = str(key)
        oldest = dt_util.utcnow() - timedelta(seconds=FINISHED_IDS_SECONDS)
        finished: OrderedDict[str, tuple[str, datetime]] = OrderedDict()
        for call_id, (key, when) in saved_object(data.get("finished") or {}).items():
            if (at := _parse(when)) is not None and at >= oldest:
                finished[str(call_id)] = (str(key), at)
        recent: OrderedDict[str, FollowedCall] = OrderedDict()
        for item in data.get("recent") or []:
            call = _recent_from_dict(item)
            if _last_time(call) >= oldest:
                recent[call.key] = call
        seen: dict[str, dict[tuple[str, str | None], None]] = {}
        for key, marks in saved_object(data.get("seen") or {}).items():
            if key in tracked:
                seen[str(key)] = {
                    (str(stage), None if digits is None else str(digits)): None
                    for stage, digits in marks
                }
        self.incoming.restore(data.get("incoming") or [])
        self.tracked, self._ids, self.finished_ids = tracked, ids, finished
        self.recent_calls, self._seen = recent, seen
        self._recent_saved = "recent" in data
        self.facts = LineFacts.from_dict(data.get("learned"))
        if data.get("url") != self._url:
            if "url" in data:
                # New URLs: what reports through the old ones taught is gone.
                self.facts = LineFacts()
            self._saving.async_schedule()  # the URLs they came through

    def _recall_records(self) -> None:
        """Remember the records' finished and maybe placed calls.

        A store saved before finished calls were kept in it (or none): the
        line's records still have the last ones.
        """
        for record in self.records.recent:
            if record.key in self.tracked or record.key in self.recent_calls:
                continue
            if record.status is not None:
                self._remember(followed_call(record))
            elif record.result is None and record.result_key == RESULT_NO_ANSWER:
                self._remember(maybe_placed_call(record))

    def _remember(self, call: FollowedCall) -> None:
        """Keep a finished or maybe placed call; forget the oldest ones."""
        recent = self.recent_calls
        oldest = dt_util.utcnow() - timedelta(seconds=FINISHED_IDS_SECONDS)
        if _last_time(call) < oldest:
            return
        recent[call.key] = call
        recent.move_to_end(call.key)
        while recent and (
            len(recent) > FINISHED_IDS_KEPT
            or _last_time(next(iter(recent.values()))) < oldest
        ):
            recent.popitem(last=False)

    def call(self, key: str) -> CallRecord | None:
        """Return the newest version of a followed (or finished) call, by key."""
        return self.tracked.get(key) or self._finished.get(key)

    def latest_call(self, phone: str) -> CallRecord | None:
        """Return the newest followed call to ``phone``, if any."""
        calls = [r for r in self.tracked.values() if same_number(r.phone, phone)]
        return max(calls, key=lambda record: record.time, default=None)

    def _follow(self, record: CallRecord) -> None:
        """Start following an accepted call."""
        self.tracked[record.key] = record
        if record.call_id:
            self._ids[record.call_id] = record.key
        self._saving.async_schedule()

    def _learn_id(self, call_id: str | None, key: str) -> None:
        """Note a call id Infocaller used for a followed call (within a cap)."""
        if (
            call_id is not None
            and key in self.tracked
            and call_id not in self._ids
            and sum(k == key for k in self._ids.values()) <= IDS_PER_CALL
        ):
            # Infocaller's own id for the call: later reports match by it.
            self._ids[call_id] = key

    def _keep_finished(self, record: CallRecord) -> None:
        """Stop following a call; keep it a while for late reports."""
        key = record.key
        self.tracked.pop(key, None)
        now = dt_util.utcnow()
        for call_id in [i for i, k in self._ids.items() if k == key]:
            del self._ids[call_id]
            self.finished_ids.pop(call_id, None)
            self.finished_ids[call_id] = (key, now)
        oldest = now - timedelta(seconds=FINISHED_IDS_SECONDS)
        finished = self.finished_ids
        while finished:  # O(1) per id dropped (popitem, never a scan)
            call_id, (done_key, at) = finished.popitem(last=False)
            if len(finished) < FINISHED_IDS_KEPT and at >= oldest:
                finished[call_id] = (done_key, at)
                finished.move_to_end(call_id, last=False)
                break
        self._finished[key] = record
        self._finished.move_to_end(key)
        self._remember(followed_call(record))
        while len(self._finished) > FINISHED_CALLS_KEPT:
            evicted, _record = self._finished.popitem(last=False)
            self._seen.pop(evicted, None)
        self._saving.async_schedule()

    def _is_new(self, key: str, report: ProgressReport) -> bool:
        """Whether a report could still change the call (not a repeat, in cap)."""
        seen = self._seen.get(key, {})
        mark = (report.stage.value, report.digits)
        if mark in seen:
            return False
        return report.digits is None or _digit_marks(seen) < MARKS_PER_CALL

    def _mark(self, key: str, report: ProgressReport) -> bool:
        """Remember a report applied to a call; False if it changes nothing.

        Marks without digits are one per stage; distinct digits are capped
        (``MARKS_PER_CALL``): a flood of distinct digits cannot grow memory,
        nor cycle old values out to have them applied again.
        """
        if not self._is_new(key, report):
            return False
        self._seen.setdefault(key, {})[(report.stage.value, report.digits)] = None
        if key in self.tracked:
            self._saving.async_schedule()  # a repeat after a restart: once
        return True

    def as_dict(self) -> dict[str, Any]:
        """Return what is saved: followed calls, their ids, finished ids."""
        return {
            "tracked": [record.as_dict() for record in self.tracked.values()],
            "ids": {
                call_id: key
                for call_id, key in self._ids.items()
                if call_id != self.tracked[key].call_id
            },
            "finished": {
                call_id: [key, at.isoformat()]
                for call_id, (key, at) in self.finished_ids.items()
            },
            "learned": self.facts.as_dict(),
            "url": self._url,
            "recent": [_recent_as_dict(call) for call in self.recent_calls.values()],
            "seen": {
                key: [list(mark) for mark in marks]
                for key, marks in self._seen.items()
                if key in self.tracked
            },
            "incoming": self.incoming.as_list(),
        }

    def _data_to_save(self) -> dict[str, Any]:
        return self.as_dict()


def _digit_marks(seen: dict[tuple[str, str | None], None]) -> int:
    """Count the marks of reports that carried digits."""
    return sum(digits is not None for _stage, digits in seen)
