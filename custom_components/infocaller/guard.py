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
or refused by Infocaller). Two requests are identical when they have the
same number, rule group, variables (in any order) and scheduled instant
(however it is written; a time without offset is in the account's zone).

What is stored, in ``.storage/infocaller.<entry id>.guard``: a random key
of the line; for each request of the last ``repeat_window`` seconds, a
keyed hash (HMAC-SHA256, shortened) of what makes it identical and when
it was sent; for each number called in the last hour, a keyed hash of the
number and the times it was called; the times of the line's calls in the
last 24 hours. No number, rule group or variable in clear. (The key is
in the same file: the hashes keep numbers out of plain sight, they do not
stop someone holding the file from testing every possible number.)

A request's entry is written before its first byte leaves
(``async_write_ahead``): one line appended to
``.storage/infocaller.<entry id>.guard.journal`` (the same keyed hashes and
time, and the key: a journal outlives a damaged file, and its hashes are
of use only with their key; a torn last line is skipped when read). The guard's file is written
within ``RECORDS_SAVE_DELAY`` seconds of a change, and the journal emptied
once the file holds all of it. An entry of the journal, or one still "in
flight" in the file, when they are read again (a crash, a reload during
the request) counts as a request that may have been placed, sent at the
time it was written. A crash can so forget that a request was not placed
(it is then refused for one window), never that it may have been.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from datetime import UTC, datetime, tzinfo
from functools import partial
import hashlib
import hmac
import math
import secrets
import time
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

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
from .saving import JournaledState, LineStore, saved_object

#: 1: numbers in clear, requests as plain hashes. 2: keyed hashes, and the
#: requests in flight.
STORAGE_MINOR_VERSION = 2
HOUR = 3600.0
DAY = 24 * HOUR


class RateLimitedError(HomeAssistantError):
    """A call refused by a loop limit before anything was sent."""


class Ticket:
    """One request that was let through: what to release if not placed.

    A plain slotted class, not a dataclass: it never leaves this module, so
    it needs nothing a dataclass generates, whose definition costs import
    time.
    """

    __slots__ = ("at", "key", "number", "seq")

    def __init__(self, key: str, number: str, at: float, seq: int) -> None:
        """Keep what ``async_sent`` and ``async_not_placed`` need."""
        self.key = key
        self.number = number
        self.at = at
        self.seq = seq


def _hash(secret: bytes, text: str, length: int) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()[:length]


def _legacy_key(request: CallRequest) -> str:
    """Return a request's key as version 1.1 files stored it."""
    fingerprint = (
        request.phone,
        request.rule_group,
        request.scheduled_for,
        tuple(sorted(request.variables)),
    )
    return hashlib.sha256(repr(fingerprint).encode()).hexdigest()[:32]


def _times(value: Any) -> dict[str, float]:
    """Return a saved ``{key: time}`` (nulls tolerated, other kinds refused)."""
    if value is None:
        return {}
    return {str(k): float(v) for k, v in saved_object(value).items() if v is not None}


def _time_list(value: Any) -> list[float]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError("a list of times expected")
    return sorted(float(t) for t in value if t is not None)


def _migrate(old_minor: int, data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade a 1.1 file: numbers hashed, old request hashes kept apart."""
    secret = secrets.token_hex(16)
    key = bytes.fromhex(secret)
    return {
        "secret": secret,
        "sent": {},
        "in_flight": {},
        "legacy_sent": _times(data.get("sent")),
        "numbers": {
            _hash(key, str(phone), 16): _time_list(times)
            for phone, times in saved_object(data.get("by_number") or {}).items()
        },
        "line": _time_list(data.get("line")),
    }


class CallGuard(JournaledState):
    """Duplicate and loop protection of one line, kept across restarts."""

    issue_key = "guard_unreadable"
    save_new_file = True

    def __init__(self, hass: HomeAssistant, entry_id: str, title: str = "") -> None:
        """Start empty; ``async_load`` restores what was saved."""
        super().__init__(hass, partial(guard_store, hass, entry_id), title)
        self.repeat_window = float(DEFAULT_REPEAT_WINDOW)
        self.max_per_number = DEFAULT_MAX_CALLS_PER_NUMBER
        self.max_per_day = DEFAULT_MAX_CALLS_PER_DAY
        #: The account's time zone: what a schedule without offset means.
        self.time_zone: tzinfo | None = None
        self._secret = secrets.token_hex(16)
        self._key_bytes = bytes.fromhex(self._secret)
        #: Whether the key was read from the guard's file (else the
        #: journal's entries bring theirs).
        self._keyed_by_file = False
        #: Requests sent and not answered yet, by key: when they were let through.
        self._in_flight: dict[str, float] = {}
        #: Sent requests by key, in the order of sending (wall-clock time).
        self._sent: dict[str, float] = {}
        #: Requests remembered from a version 1.1 file, by their old key.
        self._legacy_sent: dict[str, float] = {}
        #: When each number (by keyed hash) was called in the last hour, and
        #: the line in the last day.
        self._by_number: dict[str, deque[float]] = {}
        self._line: deque[float] = deque()
        #: (time, number hash) of each call in the last hour, oldest first:
        #: what to forget from ``_by_number`` without scanning every number.
        self._number_log: deque[tuple[float, str]] = deque()

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

    def _replay(self, entries: list[dict[str, Any]]) -> None:
        """Take the requests of the journal: each may have been placed.

        Without a key from the file (none, or moved aside as unusable) the
        line takes the key of the newest entry: its hashes are made with
        it, and would match no request under a new key.
        """
        if not self._keyed_by_file:
            for item in reversed(entries):
                with suppress(KeyError, TypeError, ValueError):
                    key_bytes = bytes.fromhex(item["x"])
                    if len(key_bytes) == len(self._key_bytes):
                        self._secret, self._key_bytes = key_bytes.hex(), key_bytes
                        break
        for item in entries:
            try:
                key, number, at = str(item["k"]), str(item["n"]), float(item["t"])
            except (KeyError, TypeError, ValueError):
                continue
            self._sent[key] = max(self._sent.pop(key, at), at)
            self._by_number.setdefault(number, deque()).append(at)
            self._number_log.append((at, number))
            self._line.append(at)
        self._sent = dict(sorted(self._sent.items(), key=lambda item: item[1]))
        self._number_log = deque(sorted(self._number_log))
        self._line = deque(sorted(self._line))
        self._forget(time.time())

    def _restore(self, data: Mapping[str, Any]) -> None:
        """Take a saved state; raise if it is not one (nothing taken then)."""
        secret = data.get("secret")
        key_bytes = self._key_bytes if secret is None else bytes.fromhex(secret)
        sent = _times(data.get("sent"))
        # In flight when written: it may have been placed.
        for key, at in _times(data.get("in_flight")).items():
            sent[key] = max(sent.get(key, at), at)
        legacy = _times(data.get("legacy_sent"))
        numbers = {
            str(number): deque(_time_list(times))
            for number, times in saved_object(data.get("numbers") or {}).items()
        }
        line = deque(_time_list(data.get("line")))
        seq = int(data.get("seq") or 0)
        if secret is not None:
            self._secret, self._key_bytes = str(secret), key_bytes
            self._keyed_by_file = True
        self._seq = seq
        self._sent = dict(sorted(sent.items(), key=lambda item: item[1]))
        self._legacy_sent = dict(sorted(legacy.items(), key=lambda item: item[1]))
        self._by_number = {number: t for number, t in numbers.items() if t}
        self._line = line
        self._number_log = deque(
            sorted((t, number) for number, times in numbers.items() for t in times)
        )
        self._forget(time.time())

    def _key(self, request: CallRequest) -> str:
        """Return a keyed hash of what makes a request identical.

        The scheduled time counts as an instant: a time without offset is
        taken in the account's time zone.
        """
        phone, rule_group, when, variables = request.fingerprint
        if isinstance(when, datetime):
            if when.tzinfo is None:
                when = when.replace(tzinfo=self.time_zone or UTC)
            when = when.astimezone(UTC).isoformat()
        return _hash(self._key_bytes, repr((phone, rule_group, when, variables)), 24)

    def _forget(self, now: float) -> None:
        """Drop what is too old to matter: O(expired), never O(everything)."""
        for sent in (self._sent, self._legacy_sent):
            while sent:
                oldest, at = next(iter(sent.items()))
                if now - at < self.repeat_window:
                    break
                del sent[oldest]
        log = self._number_log
        while log and now - log[0][0] >= HOUR:
            at, number = log.popleft()
            times = self._by_number.get(number)
            # (A call that was not placed has already left its number's times.)
            if times and times[0] <= at:
                times.popleft()
            if times is not None and not times:
                del self._by_number[number]
        while self._line and now - self._line[0] >= DAY:
            self._line.popleft()

    @callback
    def async_check(self, request: CallRequest) -> Ticket:
        """Let a request through, or raise why not; the ticket marks it sent.

        ``async_write_ahead`` must be awaited before the request is sent.
        """
        now = time.time()
        self._forget(now)
        key = self._key(request)
        sent_at = self._sent.get(key)
        if sent_at is None and self._legacy_sent:
            sent_at = self._legacy_sent.get(_legacy_key(request))
        if key in self._in_flight or sent_at is not None:
            since = now - (now if sent_at is None else sent_at)
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="duplicate_call",
                translation_placeholders={
                    "phone": request.phone,
                    "seconds": f"{self.repeat_window:g}",
                    "remaining": str(max(1, math.ceil(self.repeat_window - since))),
                },
            )
        number = _hash(self._key_bytes, request.phone, 16)
        times = self._by_number.get(number, deque())
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
        self._in_flight[key] = now
        self._by_number.setdefault(number, deque()).append(now)
        self._number_log.append((now, number))
        self._line.append(now)
        self._seq += 1
        return Ticket(key, number, now, self._seq)

    async def async_write_ahead(self, ticket: Ticket) -> None:
        """Write a request's entry to disk, before it leaves.

        Not once the guard is unloading: the pipeline, stopped before it,
        lets no request leave then.
        """
        if self._unloading:
            return
        await self._async_append(
            {"k": ticket.key, "n": ticket.number, "t": ticket.at, "x": self._secret},
            ticket.seq,
        )
        self._saving.async_schedule()

    @callback
    def async_sent(self, ticket: Ticket) -> None:
        """Count a request that was placed, or may have been: no repeat for a while."""
        self._in_flight.pop(ticket.key, None)
        self._sent.pop(ticket.key, None)
        self._sent[ticket.key] = time.time()
        self._saving.async_schedule()

    @callback
    def async_not_placed(self, ticket: Ticket) -> None:
        """Forget a request that certainly rang nobody: it does not count."""
        self._in_flight.pop(ticket.key, None)
        for times in (self._by_number.get(ticket.number), self._line):
            if times is not None and ticket.at in times:
                times.remove(ticket.at)
        self._saving.async_schedule()

    def _data_to_save(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "seq": self._seq,
            "secret": self._secret,
            "sent": dict(self._sent),
            "in_flight": dict(self._in_flight),
            "numbers": {number: list(t) for number, t in self._by_number.items()},
            "line": list(self._line),
        }
        if self._legacy_sent:
            data["legacy_sent"] = dict(self._legacy_sent)
        return data

    def as_dict(self) -> dict[str, Any]:
        """Return counts for diagnostics (no numbers, no request content)."""
        return {
            "repeat_window": self.repeat_window,
            "max_calls_per_number": self.max_per_number,
            "max_calls_per_day": self.max_per_day,
            "in_flight": len(self._in_flight),
            "recently_sent": len(self._sent) + len(self._legacy_sent),
            "numbers_called_last_hour": len(self._by_number),
            "calls_last_day": len(self._line),
        }


def guard_store(
    hass: HomeAssistant,
    entry_id: str,
    written: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
) -> LineStore:
    """Return the store of an entry's guard."""
    return LineStore(
        hass,
        f"{DOMAIN}.{entry_id}.guard",
        minor_version=STORAGE_MINOR_VERSION,
        migrate=_migrate,
        written=written,
    )
