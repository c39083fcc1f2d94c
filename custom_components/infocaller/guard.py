"""The line's guard: no duplicate calls, and no calling loops.

Before anything is sent, the pipeline asks the guard:
- a request identical to one in flight, or sent less than ``repeat_window``
  seconds ago (accepted, or may have been placed), is a duplicate;
- a number called ``max_calls_per_number`` times in the last hour, or a
  line that placed ``max_calls_per_day`` calls in the last 24 hours, gets
  no more calls (an automation loop must not ring someone all night, or
  empty the account).
A request counts from the moment it is sent (so concurrent requests are
counted too) and stops counting if it was certainly not placed (not sent,
or refused by Infocaller). The guard is saved with a delay, so a reload or
a restart does not reset it. Requests are kept as hashes of their
fingerprint, not their content.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
import hashlib
import math
import time
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.storage import Store

from .api import CallRequest
from .const import (
    CONF_MAX_CALLS_PER_DAY,
    CONF_MAX_CALLS_PER_NUMBER,
    CONF_REPEAT_WINDOW,
    DEFAULT_MAX_CALLS_PER_DAY,
    DEFAULT_MAX_CALLS_PER_NUMBER,
    DEFAULT_REPEAT_WINDOW,
    DOMAIN,
)
from .saving import DelayedSave

STORAGE_VERSION = 1
HOUR = 3600.0
DAY = 24 * HOUR


class RateLimitedError(HomeAssistantError):
    """A call refused by a loop limit before anything was sent."""


class Ticket:
    """One request that was let through: what to release if not placed.

    A plain class (not a dataclass): it never leaves this module, and each
    dataclass costs about 1 ms of Home Assistant's start on a small machine.
    """

    __slots__ = ("at", "key", "phone")

    def __init__(self, key: str, phone: str, at: float) -> None:
        """Keep what ``async_sent`` and ``async_not_placed`` need."""
        self.key = key
        self.phone = phone
        self.at = at


def _key(request: CallRequest) -> str:
    """Return a request's fingerprint as a short hash (no content kept)."""
    return hashlib.sha256(repr(request.fingerprint).encode()).hexdigest()[:32]


class CallGuard:
    """Duplicate and loop protection of one line, saved across restarts."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Start empty; ``async_load`` restores what was saved."""
        self._store: Store[dict[str, Any]] = guard_store(hass, entry_id)
        self.repeat_window = float(DEFAULT_REPEAT_WINDOW)
        self.max_per_number = DEFAULT_MAX_CALLS_PER_NUMBER
        self.max_per_day = DEFAULT_MAX_CALLS_PER_DAY
        self._in_flight: set[str] = set()
        #: Sent requests by key, in the order of sending (wall-clock time).
        self._sent: dict[str, float] = {}
        #: When each number was called (last hour) and the line (last day).
        self._by_number: dict[str, deque[float]] = {}
        self._line: deque[float] = deque()
        #: (time, number) of each call in the last hour, oldest first: what
        #: to forget from ``_by_number`` without scanning every number.
        self._number_log: deque[tuple[float, str]] = deque()
        self._saving = DelayedSave(self._store, self._data_to_save)

    def apply_options(self, options: Mapping[str, Any]) -> None:
        """Take the line's options into use."""
        self.repeat_window = float(
            options.get(CONF_REPEAT_WINDOW, DEFAULT_REPEAT_WINDOW)
        )
        self.max_per_number = int(
            options.get(CONF_MAX_CALLS_PER_NUMBER, DEFAULT_MAX_CALLS_PER_NUMBER)
        )
        self.max_per_day = int(
            options.get(CONF_MAX_CALLS_PER_DAY, DEFAULT_MAX_CALLS_PER_DAY)
        )

    async def async_load(self) -> None:
        """Restore the requests sent before a reload or restart."""
        if (data := await self._saving.async_load()) is None:
            return
        self._sent = {str(k): float(v) for k, v in data.get("sent", {}).items()}
        self._by_number = {
            phone: deque(sorted(float(t) for t in times))
            for phone, times in data.get("by_number", {}).items()
        }
        self._line = deque(sorted(float(t) for t in data.get("line", [])))
        self._number_log = deque(
            sorted(
                (t, phone) for phone, times in self._by_number.items() for t in times
            )
        )
        self._forget(time.time())

    def _forget(self, now: float) -> None:
        """Drop what is too old to matter: O(expired), never O(everything)."""
        while self._sent:
            oldest, at = next(iter(self._sent.items()))
            if now - at < self.repeat_window:
                break
            del self._sent[oldest]
        log = self._number_log
        while log and now - log[0][0] >= HOUR:
            at, phone = log.popleft()
            times = self._by_number.get(phone)
            # (A call that was not placed has already left its number's times.)
            if times and times[0] <= at:
                times.popleft()
            if times is not None and not times:
                del self._by_number[phone]
        while self._line and now - self._line[0] >= DAY:
            self._line.popleft()

    @callback
    def async_check(self, request: CallRequest) -> Ticket:
        """Let a request through, or raise why not; the ticket marks it sent."""
        now = time.time()
        self._forget(now)
        key = _key(request)
        if key in self._in_flight or key in self._sent:
            since = now - self._sent.get(key, now)
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="duplicate_call",
                translation_placeholders={
                    "phone": request.phone,
                    "seconds": f"{self.repeat_window:g}",
                    "remaining": str(max(1, math.ceil(self.repeat_window - since))),
                },
            )
        times = self._by_number.get(request.phone, deque())
        if self.max_per_number and len(times) >= self.max_per_number:
            raise RateLimitedError(
                translation_domain=DOMAIN,
                translation_key="rate_limited_number",
                translation_placeholders={
                    "phone": request.phone,
                    "count": str(len(times)),
                    "limit": str(self.max_per_number),
                    "minutes": str(max(1, math.ceil((times[0] + HOUR - now) / 60))),
                },
            )
        if self.max_per_day and len(self._line) >= self.max_per_day:
            raise RateLimitedError(
                translation_domain=DOMAIN,
                translation_key="rate_limited_line",
                translation_placeholders={
                    "count": str(len(self._line)),
                    "limit": str(self.max_per_day),
                    "minutes": str(max(1, math.ceil((self._line[0] + DAY - now) / 60))),
                },
            )
        self._in_flight.add(key)
        self._by_number.setdefault(request.phone, deque()).append(now)
        self._number_log.append((now, request.phone))
        self._line.append(now)
        # No save here: async_sent or async_not_placed always follows.
        return Ticket(key, request.phone, now)

    @callback
    def async_sent(self, ticket: Ticket) -> None:
        """Count a request that was placed, or may have been: no repeat for a while."""
        self._in_flight.discard(ticket.key)
        self._sent.pop(ticket.key, None)
        self._sent[ticket.key] = time.time()
        self._saving.async_schedule()

    @callback
    def async_not_placed(self, ticket: Ticket) -> None:
        """Forget a request that certainly rang nobody: it does not count."""
        self._in_flight.discard(ticket.key)
        for times in (self._by_number.get(ticket.phone), self._line):
            if times is not None and ticket.at in times:
                times.remove(ticket.at)
        self._saving.async_schedule()

    def _data_to_save(self) -> dict[str, Any]:
        return {
            "sent": dict(self._sent),
            "by_number": {phone: list(t) for phone, t in self._by_number.items()},
            "line": list(self._line),
        }

    async def async_unload(self) -> None:
        """Write unsaved state now, and keep it for the entry's next set-up."""
        await self._saving.async_unload()

    def as_dict(self) -> dict[str, Any]:
        """Return counts for diagnostics (no numbers, no request content)."""
        return {
            "repeat_window": self.repeat_window,
            "max_calls_per_number": self.max_per_number,
            "max_calls_per_day": self.max_per_day,
            "in_flight": len(self._in_flight),
            "recently_sent": len(self._sent),
            "numbers_called_last_hour": len(self._by_number),
            "calls_last_day": len(self._line),
        }


def guard_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store of an entry's guard."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.guard")
