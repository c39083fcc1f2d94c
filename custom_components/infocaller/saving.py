"""Saving a line's state to disk without making a call wait for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.storage import Store

from .const import RECORDS_SAVE_DELAY


class DelayedSave:
    """Write a store ``RECORDS_SAVE_DELAY`` seconds after its first unsaved change.

    The save is scheduled once and takes everything changed since; later
    changes do not push it back (``Store.async_delay_save`` alone would, so
    a steady stream of calls would never be written). ``async_flush``
    writes at once (the entry unloads); Home Assistant writes a pending
    save when it stops. A crash loses at most the last delay's changes.
    """

    def __init__(
        self, store: Store[dict[str, Any]], data: Callable[[], dict[str, Any]]
    ) -> None:
        """Save what ``data`` returns at the time of writing."""
        self._store = store
        self._data = data
        self._pending = False

    @callback
    def async_schedule(self) -> None:
        """Note a change: the store is written within the delay."""
        if not self._pending:
            self._pending = True
            self._store.async_delay_save(self._data_to_save, RECORDS_SAVE_DELAY)

    @callback
    def _data_to_save(self) -> dict[str, Any]:
        self._pending = False
        return self._data()

    async def async_flush(self) -> None:
        """Write unsaved changes now (replacing the pending delayed save)."""
        if self._pending:
            await self._store.async_save(self._data_to_save())
