"""Incoming calls: someone called the line, and Infocaller reported it.

Infocaller's informative events (INICIO, FIN, the forward events) and a
script's API QUERY fire for the calls a line receives too. A report that
belongs to no call of ours is handed here when ``matching.is_incoming``
says it is a call someone made to the line (``progress.py`` decides, with
what the line learned). Each applied report fires
``infocaller_incoming_call`` and is sent on the line's incoming signal (the
"Incoming call" event entity); it is not announced as call progress too.

The reports of one incoming call are tied together by its call id or UUID,
for the talk time and to apply a repeated report once; at most
``INCOMING_CALLS_KEPT`` calls are remembered, saved in call progress's
store (a repeat after a restart fires nothing; the digits are kept as a
digest only). A report without call id and UUID is a repeat when the same
stage, caller and digits came within ``ANONYMOUS_REPEAT``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import hashlib
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from .api import Stage
from .const import ATTR_PHONE, DOMAIN, EVENT_INCOMING_CALL
from .digits_budget import DigitsBudget
from .matching import reported_e164, same_number
from .saving import saved_object

if TYPE_CHECKING:
    from .api.report import ProgressReport

#: Incoming calls remembered (to tie their reports together), oldest go first.
INCOMING_CALLS_KEPT: Final = 100
#: Distinct digits applied per incoming call; more are ignored.
DIGITS_PER_CALL: Final = 20
#: A report without ids repeating one (stage, caller, digits) within this
#: long is a repeat: applied once.
ANONYMOUS_REPEAT: Final = timedelta(seconds=60)
#: The stages an incoming call's report can have (the event entity's types).
INCOMING_STAGES: Final = tuple(
    stage.value for stage in Stage if stage is not Stage.NOT_ANSWERED
)


def incoming_signal(entry_id: str) -> str:
    """Return the dispatcher signal of a line's incoming calls."""
    return f"{DOMAIN}_{entry_id}_incoming"


def digits_mark(digits: str | None) -> str | None:
    """Return what is remembered of a report's digits: a digest, not them."""
    if digits is None:
        return None
    return hashlib.sha256(digits.encode()).hexdigest()[:16]


@dataclass(slots=True)
class IncomingCall:
    """What is remembered of one incoming call."""

    caller: str | None
    called: str | None
    answered_at: datetime | None = None
    #: (stage, ``digits_mark``) of the reports applied: a repeat is applied
    #: once.
    marks: dict[tuple[str, str | None], None] = field(default_factory=dict)


class IncomingCalls:
    """The calls someone made to one line."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, line_id: str) -> None:
        """Remember nothing yet."""
        self.hass = hass
        self.entry = entry
        self.line_id = line_id
        self.signal = incoming_signal(entry.entry_id)
        #: Calls by ``id:<call id>`` and ``uuid:<uuid>`` (both, when known).
        self.calls: OrderedDict[str, IncomingCall] = OrderedDict()
        #: Reports applied (diagnostics), and the last event's data.
        self.reports = 0
        self.last: dict[str, Any] | None = None
        #: How many keys reports may fire (a PIN is not guessed by URL).
        self.digits_budget = DigitsBudget(hass, entry)
        #: Reports without ids applied lately: (stage, caller, digits mark).
        self._anonymous: dict[tuple[str, str | None, str | None], datetime] = {}

    def as_list(self) -> list[dict[str, Any]]:
        """Return the calls remembered, as saved (oldest first)."""
        calls: dict[int, tuple[IncomingCall, list[str]]] = {}
        for key, call in self.calls.items():
            calls.setdefault(id(call), (call, []))[1].append(key)
        return [
            {
                "keys": keys,
                "caller": call.caller,
                "called": call.called,
                "answered_at": call.answered_at and call.answered_at.isoformat(),
                "marks": [list(mark) for mark in call.marks],
            }
            for call, keys in calls.values()
        ]

    def restore(self, saved: Iterable[Any]) -> None:
        """Take the calls ``as_list`` saved; raises if they are not that."""
        calls: OrderedDict[str, IncomingCall] = OrderedDict()
        for item in map(saved_object, saved):
            answered_at = item.get("answered_at")
            call = IncomingCall(
                caller=item.get("caller"),
                called=item.get("called"),
                answered_at=dt_util.parse_datetime(answered_at)
                if answered_at
                else None,
                marks={
                    (str(stage), None if mark is None else str(mark)): None
                    for stage, mark in item.get("marks") or []
                },
            )
            for key in item["keys"]:
                calls[str(key)] = call
        while len(calls) > 2 * INCOMING_CALLS_KEPT:
            calls.popitem(last=False)
        self.calls = calls

    def _anonymous_repeat(self, report: ProgressReport, at: datetime) -> bool:
        """Whether a report without ids repeats one applied within a minute."""
        oldest = at - ANONYMOUS_REPEAT
        for mark, when in list(self._anonymous.items()):
            if when < oldest:
                del self._anonymous[mark]
        mark = (report.stage.value, report.caller, digits_mark(report.digits))
        if mark in self._anonymous:
            return True
        if len(self._anonymous) >= INCOMING_CALLS_KEPT:
            del self._anonymous[next(iter(self._anonymous))]
        self._anonymous[mark] = at
        return False

    @staticmethod
    def _keys(report: ProgressReport) -> list[str]:
        keys = []
        if report.call_id is not None:
            keys.append(f"id:{report.call_id}")
        if report.uuid is not None:
            keys.append(f"uuid:{report.uuid.lower()}")
        return keys

    def knows(self, report: ProgressReport) -> bool:
        """Whether the report names an incoming call remembered."""
        return any(key in self.calls for key in self._keys(report))

    def _call(self, report: ProgressReport) -> IncomingCall:
        """Return the call a report is about (a new one if none is known)."""
        keys = self._keys(report)
        call = next((self.calls[key] for key in keys if key in self.calls), None)
        if call is None:
            call = IncomingCall(caller=report.caller, called=report.called)
        for key in keys:
            self.calls[key] = call
            self.calls.move_to_end(key)
        while len(self.calls) > 2 * INCOMING_CALLS_KEPT:
            self.calls.popitem(last=False)
        return call

    @callback
    def async_report(self, report: ProgressReport, at: datetime) -> bool:
        """Apply a report of an incoming call: the event, unless a repeat.

        True when it was applied (something to save).
        """
        if not self._keys(report) and self._anonymous_repeat(report, at):
            return False
        call = self._call(report)
        mark = (report.stage.value, digits_mark(report.digits))
        if mark in call.marks or (
            report.digits is not None
            and sum(digits is not None for _stage, digits in call.marks)
            >= DIGITS_PER_CALL
        ):
            return False
        call.marks[mark] = None
        caller = call.caller or report.caller
        if report.digits is not None and not self.digits_budget.allow(
            "" if caller is None else reported_e164(caller, self.line_id), at
        ):
            return True  # dropped, but marked: its repeats are not counted again
        call.caller = call.caller or report.caller
        call.called = call.called or report.called
        talk_seconds: float | None = None
        if report.stage is not Stage.ENDED:
            call.answered_at = call.answered_at or at
        elif call.answered_at is not None:
            talk_seconds = round((at - call.answered_at).total_seconds(), 1)
        self.reports += 1
        data = self._event_data(report, call, talk_seconds, at)
        self.last = data
        self.hass.bus.async_fire(EVENT_INCOMING_CALL, data)
        async_dispatcher_send(self.hass, self.signal, data)
        return True

    def _event_data(
        self,
        report: ProgressReport,
        call: IncomingCall,
        talk_seconds: float | None,
        at: datetime,
    ) -> dict[str, Any]:
        """Return the event's data (the contract's keys, all of them)."""
        caller = call.caller
        called = call.called or report.line
        # Every saved call with the caller's number (one person may have
        # several: one number, several scripts); the first is "the" one.
        theirs = (
            []
            if caller is None
            else [
                saved
                for saved in self.entry.runtime_data.saved_calls.values()
                if same_number(str(saved.data.get(ATTR_PHONE, "")), caller)
            ]
        )
        saved = theirs[0] if theirs else None
        return {
            "config_entry_id": self.entry.entry_id,
            "stage": report.stage.value,
            "caller": None if caller is None else reported_e164(caller, self.line_id),
            "called": None if called is None else reported_e164(called, self.line_id),
            "call_id": report.call_id,
            "uuid": report.uuid,
            "digits": report.digits,
            "talk_seconds": talk_seconds,
            "saved_call": saved.name if saved else None,
            "saved_call_id": saved.subentry_id if saved else None,
            "saved_calls": [saved.name for saved in theirs],
            "saved_call_ids": [saved.subentry_id for saved in theirs],
            "time": at.isoformat(),
        }
