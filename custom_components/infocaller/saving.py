"""Saving a line's state to disk without making a call wait for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, RECORDS_SAVE_DELAY

#: What each store held when its entry unloaded, by store key, for the
#: entry's next set-up in this run of Home Assistant (a reload, the entry
#: enabled again): it is what was just written, so it is not read back.
_UNLOADED: HassKey[dict[str, dict[str, Any]]] = HassKey(f"{DOMAIN}_unloaded")


class DelayedSave:
    """Write a store ``RECORDS_SAVE_DELAY`` seconds after its first unsaved change.

    The save is scheduled once and takes everything changed since; later
    changes do not push it back (``Store.async_delay_save`` alone would, so
    a steady stream of calls would never be written). ``async_unload``
    writes at once and keeps the state for the entry's next set-up, whose
    ``async_load`` takes it instead of reading the file; Home Assistant
    writes a pending save when it stops. A crash loses at most the last
    delay's changes.
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

    async def async_load(self) -> dict[str, Any] | None:
        """Return the saved state: kept at the entry's unload, else read."""
        hass = self._store.hass
        if (unloaded := hass.data.get(_UNLOADED)) and (
            data := unloaded.pop(self._store.key, None)
        ) is not None:
            return data
        return await self._store.async_load()

    async def async_unload(self) -> None:
        """Write unsaved changes now and keep the state for the next set-up.

        The state is built once: what is written (replacing the pending
        delayed save) is what is kept.
        """
        unsaved = self._pending
        data = self._data_to_save()
        if unsaved:
            await self._store.async_save(data)
        self._store.hass.data.setdefault(_UNLOADED, {})[self._store.key] = data


async def async_remove_store(store: Store[dict[str, Any]]) -> None:
    """Delete a store's file and what its entry's unload kept of it."""
    store.hass.data.get(_UNLOADED, {}).pop(store.key, None)
    await store.async_remove()
