"""Waiting on a line's followed calls: ``wait_for`` and the call chains.

``CallWaiters`` wakes each wait when the call it waits on changes (call
progress says so with ``async_changed``) and reads the call's newest
version from call progress. Waits belong to the line: once it unloads
(``async_stop``) every wait and pause ends with ``LineUnloadedError``, and
none can start. Cancelling the waiting task leaves nothing behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from homeassistant.core import callback

from .api import Stage
from .const import CallStatus
from .records import CallRecord


class LineUnloadedError(Exception):
    """The line unloaded while someone waited for a call's progress."""


def reached(record: CallRecord, until: Stage) -> bool:
    """Whether a call reached what a wait asked for.

    ``answered``: any sign that someone picked up; ``acknowledged``: an
    acknowledgement or digits.
    """
    if until is Stage.ACKNOWLEDGED:
        return record.status in (CallStatus.ACKNOWLEDGED, CallStatus.DIGITS)
    return record.answered_at is not None


def is_over(record: CallRecord) -> bool:
    """Whether nothing more can come of a call (ended, or not answered)."""
    return record.status == CallStatus.NOT_ANSWERED or (
        record.ended_at is not None and record.answered_at is not None
    )


class CallWaiters:
    """The waits on one line's calls."""

    def __init__(self, newest: Callable[[str], CallRecord | None]) -> None:
        """Wait on calls whose newest version ``newest(key)`` returns.

        ``newest`` returns None for a call nobody follows any more.
        """
        self._newest = newest
        #: The futures of the waits on each call, by ``CallRecord.key``.
        self._changed: dict[str, list[asyncio.Future[None]]] = {}
        self._pauses: set[asyncio.Future[None]] = set()
        self.stopped = False

    @property
    def waiting(self) -> dict[str, int]:
        """The calls waited on, by key: how many of their waits are not woken yet."""
        return {
            key: sum(not future.done() for future in futures)
            for key, futures in self._changed.items()
        }

    @property
    def pausing(self) -> int:
        """How many pauses (``async_pause``) are under way."""
        return len(self._pauses)

    def current(self, record: CallRecord) -> CallRecord:
        """Return the newest version of a followed (or finished) call."""
        return self._newest(record.key) or record

    @callback
    def async_changed(self, key: str) -> None:
        """Wake the waits on a call that changed."""
        for future in self._changed.get(key, []):
            if not future.done():
                future.set_result(None)

    @callback
    def async_stop(self) -> None:
        """End every wait and pause: the line unloads."""
        self.stopped = True
        for futures in [*self._changed.values(), self._pauses]:
            for future in futures:
                if not future.done():
                    future.set_result(None)

    async def async_wait(
        self, record: CallRecord, until: Stage, seconds: float
    ) -> CallRecord:
        """Wait until the call reaches ``until``, is over, or ``seconds`` pass.

        Returns the call's newest record. Raises ``LineUnloadedError`` when
        the line unloads first (or has).
        """
        key = record.key
        loop = asyncio.get_running_loop()
        futures = self._changed.setdefault(key, [])
        try:
            async with asyncio.timeout(seconds):
                while True:
                    current = self.current(record)
                    if reached(current, until) or is_over(current):
                        return current
                    if self.stopped:
                        raise LineUnloadedError
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

    async def async_pause(self, seconds: float) -> None:
        """Wait ``seconds``; raise ``LineUnloadedError`` if the line unloads."""
        if self.stopped:
            raise LineUnloadedError
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pauses.add(future)
        try:
            async with asyncio.timeout(seconds):
                await future
        except TimeoutError:
            return
        finally:
            self._pauses.discard(future)
        raise LineUnloadedError  # only async_stop ends a pause early
