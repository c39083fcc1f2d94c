"""The call records of one line: what every entity and diagnostics show.

The pipeline (``pipeline.py``) hands each outcome here as one ``CallRecord``;
the records keep the last results and counters, and send each new record on
the line's dispatcher signal (``signal_line_updated``, one ``LineUpdate``:
the entities and call progress follow it).
Stored in ``.storage/infocaller.<entry id>``: the counters and the last
results with their numbers, rule groups and call ids (what the entities
show). An accepted call's record is appended to ``<file>.journal`` as it
is added (in the executor, within moments; the action does not wait for
it; read back at the next set-up if the file does not hold it yet); the
file itself is written within ``RECORDS_SAVE_DELAY`` seconds of a change,
when the entry unloads (after the appends under way) and when Home
Assistant stops. A crash loses at most the last seconds of refusals and
unanswered requests (and of call progress), and an accepted call only if
it comes in the moments between Infocaller's answer and that append (the
guard, written before the request left, still refuses the same call).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from functools import partial
import math
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from .api import Fault, fault_of
from .const import DOMAIN, LOGGER
from .saved_call import SUBENTRY_SAVED_CALL
from .saving import JournaledState, LineStore, UnreadableStateError, saved_object

RECENT_RESULTS = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    """One request and what came of it.

    ``as_dict`` is the one shape of a record: it is what is saved, the
    event's data, the entities' attributes, the action's response and
    diagnostics.
    """

    time: datetime
    source: str
    phone: str
    rule_group: str
    scheduled_for: str | None
    result: int | None
    result_key: str
    result_text: str
    call_id: str | None
    #: The saved call's name when a saved call placed it (button, notify,
    #: intent), else None.
    saved_call: str | None = None
    #: Call progress (``progress.py``), only for accepted calls while call
    #: progress is on: ``queued`` until Infocaller reports more.
    status: str | None = None
    #: When an accepted call counts as not answered if nothing came.
    window_end: str | None = None
    answered_at: str | None = None
    ended_at: str | None = None
    talk_seconds: float | None = None
    digits: str | None = None

    @property
    def accepted(self) -> bool:
        """Whether Infocaller accepted (queued) the call."""
        return self.result == 0

    @property
    def fault(self) -> Fault | None:
        """Who is at fault for a refusal; None when there was no answer."""
        return None if self.result is None else fault_of(self.result)

    def as_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON-safe values (a new dict)."""
        return {
            "time": self.time.isoformat(),
            "source": self.source,
            "phone": self.phone,
            "rule_group": self.rule_group,
            "scheduled_for": self.scheduled_for,
            "result": self.result,
            "result_key": self.result_key,
            "result_text": self.result_text,
            "call_id": self.call_id,
            "saved_call": self.saved_call,
            "status": self.status,
            "window_end": self.window_end,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "talk_seconds": self.talk_seconds,
            "digits": self.digits,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallRecord:
        """Rebuild a record saved with ``as_dict``.

        Fields it does not know (a newer version's) are ignored; a missing
        or ``null`` text is empty, a missing optional field None. Every
        field's kind is checked: a value of the wrong kind, or a time that
        is not an ISO time with its offset, raises ``UnreadableStateError``
        (as does a record that is not an object): a file holding it is not
        one this version can use. A known field with a value this version
        does not know (a newer version's result key or status) is kept.
        """
        values = {
            name: value
            for name, value in saved_object(data).items()
            if name in _RECORD_FIELDS
        }
        values["time"] = saved_time(values.get("time"))
        for name in _RECORD_TEXTS:
            if (value := values.get(name)) is None:
                values[name] = ""
            elif not isinstance(value, str):
                raise _wrong_kind(name, value)
        for name in _RECORD_OPTIONAL_TEXTS:
            if (value := values.get(name)) is not None and not isinstance(value, str):
                raise _wrong_kind(name, value)
        for name in _RECORD_OPTIONAL_TIMES:
            if (value := values.get(name)) is not None:
                saved_time(value, name)
        if (result := values.get("result")) is not None and (
            not isinstance(result, int) or isinstance(result, bool)
        ):
            raise _wrong_kind("result", result)
        if (seconds := values.get("talk_seconds")) is not None and (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not math.isfinite(seconds)
        ):
            raise _wrong_kind("talk_seconds", seconds)
        values.setdefault("scheduled_for", None)
        values.setdefault("result", None)
        values.setdefault("call_id", None)
        return cls(**values)

    @property
    def key(self) -> str:
        """What identifies the call while its progress is followed."""
        return self.call_id or f"{self.time.isoformat()} {self.phone}"


_RECORD_FIELDS = frozenset(f.name for f in fields(CallRecord) if f.init)
_RECORD_TEXTS = ("source", "phone", "rule_group", "result_key", "result_text")
_RECORD_OPTIONAL_TEXTS = ("call_id", "saved_call", "status", "digits")
#: Times kept as text (ISO, with their offset): checked, not converted.
_RECORD_OPTIONAL_TIMES = ("scheduled_for", "window_end", "answered_at", "ended_at")


def _wrong_kind(name: str, value: object) -> UnreadableStateError:
    return UnreadableStateError(f"{name} is a {type(value).__name__}")


def saved_time(value: object, name: str = "time") -> datetime:
    """Return a saved time; raise ``UnreadableStateError`` if it is not one.

    A time is saved as ISO text with its offset (``isoformat`` of an aware
    time): anything else (a number, a date without a time, a time without
    an offset) is refused, so nothing compares or arms a timer with it later.
    """
    if not isinstance(value, str):
        raise _wrong_kind(name, value)
    try:
        moment = dt_util.parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UnreadableStateError(f"{name} is not a time with its offset")
    return moment


@dataclass(frozen=True, slots=True, kw_only=True)
class LineUpdate:
    """A change of a line's state, sent on ``signal_line_updated``.

    Either a new record (``progress`` is None), or a step of a call's
    progress (``progress`` is the ``infocaller_call_progress`` event's data;
    ``record`` is the call's new version, None when the report matched no
    call). The records and the progress are already changed when it is sent.
    """

    record: CallRecord | None = None
    #: The saved call that placed a new record, by subentry id.
    saved_call_id: str | None = None
    progress: dict[str, Any] | None = None


def signal_line_updated(entry_id: str) -> str:
    """Return the dispatcher signal of a line's changes (``LineUpdate``)."""
    return f"{DOMAIN}_{entry_id}_updated"


def signal_request_on_its_way(entry_id: str) -> str:
    """Return the dispatcher signal of a line's requests on their way.

    Sent with the number and ``True`` as a request leaves for Infocaller,
    then with the number and ``False`` once it is over (its outcome
    recorded, or none will be). Nothing an entity shows changes, so it is not on the
    line's signal; a report of the call may come before its answer.
    """
    return f"{DOMAIN}_{entry_id}_request"


class InfocallerRecords(JournaledState):
    """Counters and the last results of one line, saved with a delay."""

    issue_key = "records_unreadable"

    def __init__(self, hass: HomeAssistant, entry_id: str, title: str = "") -> None:
        """Start empty; ``async_load`` restores what was saved."""
        super().__init__(hass, partial(records_store, hass, entry_id), title)
        #: The line's dispatcher signal: every change of its state (``LineUpdate``).
        self.signal = signal_line_updated(entry_id)
        #: The signal of the requests on their way to Infocaller.
        self.request_signal = signal_request_on_its_way(entry_id)
        self.last_answer: CallRecord | None = None
        self.accepted_calls = 0
        self.refused_calls = 0
        self.recent: deque[CallRecord] = deque(maxlen=RECENT_RESULTS)
        #: The last record of each saved call, by subentry id.
        self.by_saved_call: dict[str, CallRecord] = {}
        #: The followed calls a records file written before call progress
        #: had its own store still holds: ``progress.py`` takes them once.
        self.legacy_tracked: list[dict[str, Any]] = []
        #: The newest call whose progress was followed (its last version).
        self.last_progress: CallRecord | None = None

    @property
    def last(self) -> CallRecord | None:
        """The newest record, with or without an answer."""
        return self.recent[-1] if self.recent else None

    @property
    def line_problem(self) -> bool:
        """Whether the last answer was about the account (off, suspended, ...)."""
        return self.last_answer is not None and self.last_answer.fault is Fault.ACCOUNT

    def _replay(self, entries: list[dict[str, Any]]) -> None:
        """Take the accepted calls of the journal.

        An entry that is not a record (a field of the wrong kind included)
        is skipped alone: the others, and the file, are kept.
        """
        for item in entries:
            try:
                saved_call_id, record = item.get("c"), CallRecord.from_dict(item["r"])
            except (KeyError, TypeError, ValueError, UnreadableStateError):
                continue
            self._take(record, saved_call_id)

    def _restore(self, data: Mapping[str, Any]) -> None:
        """Take saved records.

        In the lists (the recent results, the saved calls' and the followed
        calls) a record whose time is not text is skipped.

        Raises, having taken nothing, if they are not records, or if one of
        them has a field of the wrong kind (``CallRecord.from_dict``): the
        file is then moved aside. The followed calls of a records file
        written before progress had its own store (``tracked``) are checked
        the same way.
        """
        accepted_calls = int(data.get("accepted_calls") or 0)
        refused_calls = int(data.get("refused_calls") or 0)
        last_answer = None
        if data.get("last_answer"):
            last_answer = CallRecord.from_dict(data["last_answer"])
        recent = _records(data.get("recent") or [])
        by_saved_call = {
            subentry_id: CallRecord.from_dict(item)
            for subentry_id, item in saved_object(
                data.get("by_saved_call") or {}
            ).items()
            if _has_time(item)
        }
        # Checked here, in the guarded read: progress takes them as they are.
        legacy_tracked = [
            record.as_dict() for record in _records(data.get("tracked") or [])
        ]
        last_progress = None
        if data.get("last_progress"):
            last_progress = CallRecord.from_dict(data["last_progress"])
        self.accepted_calls, self.refused_calls = accepted_calls, refused_calls
        self.last_answer = last_answer
        self.recent.extend(recent)
        self.by_saved_call = by_saved_call
        self.legacy_tracked = legacy_tracked
        self.last_progress = last_progress
        self._seq = int(data.get("seq") or 0)

    def as_dict(self) -> dict[str, Any]:
        """Return the records, JSON-safe (what is saved, and diagnostics)."""
        return {
            "accepted_calls": self.accepted_calls,
            "refused_calls": self.refused_calls,
            "last_answer": self.last_answer.as_dict() if self.last_answer else None,
            "recent": [record.as_dict() for record in self.recent],
            "by_saved_call": {
                subentry_id: record.as_dict()
                for subentry_id, record in self.by_saved_call.items()
            },
            "last_progress": (
                self.last_progress.as_dict() if self.last_progress else None
            ),
        }

    def saved_call_id(
        self, record: CallRecord | None, entry: ConfigEntry
    ) -> str | None:
        """Return the subentry id of the saved call that placed ``record``.

        A saved call's newest record names it exactly (renamed or not
        since); an older call of the same saved call, still followed when
        it was placed again, by its name (names of saved calls are unique;
        one renamed since is not found).
        """
        if record is None or record.saved_call is None:
            return None
        key = record.key
        for subentry_id, newest in self.by_saved_call.items():
            if newest.key == key:
                return subentry_id
        return next(
            (
                subentry_id
                for subentry_id, subentry in entry.subentries.items()
                if subentry.subentry_type == SUBENTRY_SAVED_CALL
                and subentry.title == record.saved_call
            ),
            None,
        )

    @callback
    def async_forget_saved_calls_except(self, subentry_ids: set[str]) -> None:
        """Drop the last records of saved calls that no longer exist."""
        for subentry_id in set(self.by_saved_call) - subentry_ids:
            del self.by_saved_call[subentry_id]

    def _data_to_save(self) -> dict[str, Any]:
        return {**self.as_dict(), "seq": self._seq}

    @callback
    def async_add(self, record: CallRecord, saved_call_id: str | None = None) -> None:
        """Keep one outcome, schedule the save and send it on the line's signal."""
        self._take(record, saved_call_id)
        self._seq += 1
        if record.accepted and not self._unloading:
            # In the journal within moments, not waited for: started on the
            # loop's next turn, once the action is over, so that the write
            # does not compete with it.
            self.hass.loop.call_soon(
                self._async_journal,
                {"c": saved_call_id, "r": record.as_dict()},
                self._seq,
            )
        self._saving.async_schedule()
        async_dispatcher_send(
            self.hass,
            self.signal,
            LineUpdate(record=record, saved_call_id=saved_call_id),
        )

    @callback
    def _async_journal(self, entry: dict[str, Any], seq: int) -> None:
        """Append an accepted call's record to the journal.

        Not once the line is unloading: the file the unload writes holds it.
        """
        if not self._unloading:
            self._async_append(entry, seq).add_done_callback(_log_write_error)

    def _take(self, record: CallRecord, saved_call_id: str | None) -> None:
        """Add one outcome to the records."""
        self.recent.append(record)
        if saved_call_id is not None:
            self.by_saved_call[saved_call_id] = record
        if record.result is not None:
            self.last_answer = record
            if record.accepted:
                self.accepted_calls += 1
            else:
                self.refused_calls += 1
        if record.status is not None:
            # A followed call (call progress): the newest one is shown.
            self.last_progress = record

    @callback
    def async_replace(self, old: CallRecord, new: CallRecord) -> None:
        """Put a newer version of a record (its progress) where the old one is.

        Records are compared by ``key``, not identity: after a reload the
        followed call is a copy read from progress's store. Nothing is sent:
        a progress change is not a new call (``progress.py`` sends the change
        on the line's signal once it is applied).
        """
        key = old.key
        for index, record in enumerate(self.recent):
            if record.key == key:
                self.recent[index] = new
        for subentry_id, record in self.by_saved_call.items():
            if record.key == key:
                self.by_saved_call[subentry_id] = new
        if self.last_answer is not None and self.last_answer.key == key:
            self.last_answer = new
        if self.last_progress is not None and self.last_progress.key == new.key:
            self.last_progress = new
        self._saving.async_schedule()


def _has_time(item: Any) -> bool:
    return isinstance(item, Mapping) and isinstance(item.get("time"), str)


def _records(items: list[Any]) -> list[CallRecord]:
    """Rebuild saved records, skipping those without a time."""
    return [CallRecord.from_dict(item) for item in items if _has_time(item)]


def records_store(
    hass: HomeAssistant,
    entry_id: str,
    written: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
) -> LineStore:
    """Return the store of an entry's call records."""
    return LineStore(hass, f"{DOMAIN}.{entry_id}", written=written)


def _log_write_error(write: asyncio.Future[None]) -> None:
    """Log a journal write that failed (its call was placed all the same)."""
    if not write.cancelled() and (err := write.exception()) is not None:
        LOGGER.error("Could not write the record of a call: %s", err)
