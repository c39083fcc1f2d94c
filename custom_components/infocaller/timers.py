"""When call progress stops following a call: one timer per followed call.

A call nobody answered is followed until the end of its window; an
answered one until it ends, or ``MAX_TALK_SECONDS`` after it was answered;
an "ended" without "answered" waits a short grace for a late "answered"
(requests may arrive out of order). When a call's timer fires, call
progress decides what that means (``expired``). Timers belong to the line:
once it unloads (``async_stop``) none is set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import MAX_TALK_SECONDS, ORDER_GRACE_SECONDS
from .records import CallRecord


def following_ends(record: CallRecord) -> datetime:
    """Return when following a call ends if nothing more comes."""
    if record.answered_at is not None:
        answered = dt_util.parse_datetime(record.answered_at) or record.time
        return answered + timedelta(seconds=MAX_TALK_SECONDS)
    if record.window_end and (end := dt_util.parse_datetime(record.window_end)):
        return end
    return record.time


class CallTimers:
    """The timers of one line's followed calls, by ``CallRecord.key``."""

    def __init__(self, hass: HomeAssistant, expired: Callable[[str], None]) -> None:
        """Call ``expired(key)`` when a call's timer fires."""
        self.hass = hass
        self._expired = expired
        self._timers: dict[str, CALLBACK_TYPE] = {}
        self.stopped = False

    @callback
    def async_follow(self, record: CallRecord) -> None:
        """Set the timer that ends following the call (``following_ends``)."""
        self._set(
            record.key,
            lambda fire: async_track_point_in_utc_time(
                self.hass, fire, following_ends(record)
            ),
        )

    @callback
    def async_grace(self, key: str) -> None:
        """Set the short timer that waits for an "answered" after an "ended"."""
        self._set(
            key, lambda fire: async_call_later(self.hass, ORDER_GRACE_SECONDS, fire)
        )

    @callback
    def async_cancel(self, key: str) -> None:
        """Cancel a call's timer, if it has one."""
        if cancel := self._timers.pop(key, None):
            cancel()

    @callback
    def async_stop(self) -> None:
        """Cancel every timer; none is set afterwards (the line unloads)."""
        self.stopped = True
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()

    def _set(
        self,
        key: str,
        track: Callable[[Callable[[datetime], None]], CALLBACK_TYPE],
    ) -> None:
        """Replace a call's timer with the one ``track`` sets."""
        if self.stopped:
            return
        self.async_cancel(key)

        @callback
        def fire(_now: datetime) -> None:
            self._timers.pop(key, None)
            self._expired(key)

        self._timers[key] = track(fire)
