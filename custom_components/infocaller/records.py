"""The call records of one line: what every entity and diagnostics show.

The pipeline (``caller.py``) hands each outcome here as one ``CallRecord``;
the records keep the last results and counters, tell the entities, and are
saved with a delay (``saving.DelayedSave``), so a call never waits for
the disk. A pending save is written when the entry unloads and when Home
Assistant stops; a crash loses at most the last ``RECORDS_SAVE_DELAY``
seconds of records.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api import Fault, fault_of
from .const import DOMAIN
from .saving import DelayedSave

STORAGE_VERSION = 1
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
    #: ``as_dict`` made once: the event, the entities and the response all
    #: show the same record (each gets a copy).
    _plain: dict[str, Any] | None = field(
        default=None, init=False, repr=False, compare=False
    )

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
        if (plain := self._plain) is None:
            plain = self._make_dict()
            object.__setattr__(self, "_plain", plain)
        return plain.copy()

    def _make_dict(self) -> dict[str, Any]:
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
        """Rebuild a record saved with ``as_dict``."""
        values = dict(data)
        values["time"] = dt_util.parse_datetime(values["time"]) or dt_util.utcnow()
        return cls(**values)

    @property
    def key(self) -> str:
        """What identifies the call while its progress is followed."""
        return self.call_id or f"{self.time.isoformat()} {self.phone}"


type RecordListener = Callable[[CallRecord, str | None], None]


class InfocallerRecords:
    """Counters and the last results of one line, saved with a delay."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Start empty; ``async_load`` restores what was saved."""
        self._store = records_store(hass, entry_id)
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
        self._listeners: list[RecordListener] = []
        self._saving = DelayedSave(self._store, self.as_dict)

    @property
    def last(self) -> CallRecord | None:
        """The newest record, with or without an answer."""
        return self.recent[-1] if self.recent else None

    @property
    def line_problem(self) -> bool:
        """Whether the last answer was about the account (off, suspended, ...)."""
        return self.last_answer is not None and self.last_answer.fault is Fault.ACCOUNT

    async def async_load(self) -> None:
        """Restore the records saved before the last reload or restart."""
        if (data := await self._saving.async_load()) is None:
            return
        self.accepted_calls = int(data.get("accepted_calls", 0))
        self.refused_calls = int(data.get("refused_calls", 0))
        if data.get("last_answer"):
            self.last_answer = CallRecord.from_dict(data["last_answer"])
        self.recent.extend(
            CallRecord.from_dict(item) for item in data.get("recent", [])
        )
        self.by_saved_call = {
            subentry_id: CallRecord.from_dict(item)
            for subentry_id, item in data.get("by_saved_call", {}).items()
        }
        self.legacy_tracked = list(data.get("tracked") or [])
        if data.get("last_progress"):
            self.last_progress = CallRecord.from_dict(data["last_progress"])

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

    @callback
    def async_forget_saved_calls_except(self, subentry_ids: set[str]) -> None:
        """Drop the last records of saved calls that no longer exist."""
        for subentry_id in set(self.by_saved_call) - subentry_ids:
            del self.by_saved_call[subentry_id]

    @callback
    def async_add(self, record: CallRecord, saved_call_id: str | None = None) -> None:
        """Keep one outcome, schedule the save and tell the listeners."""
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
        self._saving.async_schedule()
        for listener in list(self._listeners):
            listener(record, saved_call_id)

    @callback
    def async_replace(self, old: CallRecord, new: CallRecord) -> None:
        """Put a newer version of a record (its progress) where the old one is.

        Records are compared by ``key``, not identity: after a reload the
        followed call is a copy read from progress's store. Record listeners
        are not told: a progress change is not a new call (``progress.py``
        tells its own listeners).
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

    async def async_unload(self) -> None:
        """Write unsaved records now, and keep them for the next set-up."""
        await self._saving.async_unload()

    @callback
    def async_add_listener(self, listener: RecordListener) -> CALLBACK_TYPE:
        """Call ``listener`` with each new record and its saved call's id."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove


def records_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store of an entry's call records."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}")
