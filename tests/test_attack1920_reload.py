"""Attack (issues 19/20 review): the guard's memory across a reload.

These tests FAIL on purpose: each one reproduces a defect found in the
review of the unload drain and ``saving.JournaledState``. They are evidence,
not regressions (no production code was changed on this branch).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock, patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import storage
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.infocaller.api import CallRequest
from custom_components.infocaller.const import DOMAIN
from custom_components.infocaller.guard import CallGuard

A = "+34611000001"
B = "+34611000002"


async def _call(hass: HomeAssistant, phone: str) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": phone, "rule_group": "Aviso"},
        blocking=True,
        return_response=True,
    )


async def test_an_old_guard_write_finishing_after_a_reload_erases_new_entries(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
) -> None:
    """A reload while the guard's delayed save is being written (slow disk).

    ``DelayedSave.async_unload`` does not wait for a write already under
    way (``_pending`` is False once its data was taken), so the unloaded
    guard's write lands after the reloaded guard started: it overwrites the
    file with the old state and its ``written`` hook deletes the journal,
    which now holds the reloaded guard's write-ahead entry of call B. A
    crash then (SIGKILL before the next delayed save) forgets B: the
    identical call rings again.
    """
    key = f"{DOMAIN}.{setup_integration.entry_id}.guard"
    journal = Path(hass.config.path(".storage", f"{key}.journal"))
    original = storage.Store._async_write_data  # the storage mock's writer
    entered = asyncio.Event()
    release = asyncio.Event()
    blocked: list[str] = []

    async def slow_write(store: storage.Store, *args: Any) -> None:
        data = args[-1]  # (path, data) on 2025.4, (data,) on newer
        if store.key == key and not blocked:
            blocked.append(store.key)
            # As Home Assistant does: the data is taken on the loop, then
            # written in the executor (here: a disk that takes its time).
            if "data_func" in data:
                data["data"] = data.pop("data_func")()
            entered.set()
            await release.wait()
        await original(store, *args)

    with patch.object(storage.Store, "_async_write_data", slow_write):
        await _call(hass, A)
        # The guard's delayed save starts writing, and the disk is slow.
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
        await asyncio.wait_for(entered.wait(), 5)
        # (No async_block_till_done here: it would wait for the slow write.)
        assert await asyncio.wait_for(
            hass.config_entries.async_reload(setup_integration.entry_id), 10
        )
        # The reloaded line places call B: its entry is in the journal.
        await _call(hass, B)
        assert B not in journal.read_text()  # (hashed, never in clear)
        assert journal.exists()
        # The old write completes.
        release.set()
        await hass.async_block_till_done()

    # SIGKILL now: Home Assistant restarts from the file and the journal.
    guard = CallGuard(hass, setup_integration.entry_id)
    await guard.async_load()
    with pytest.raises(ServiceValidationError) as err:
        guard.async_check(CallRequest(phone=B, rule_group="Aviso"))
    assert err.value.translation_key == "duplicate_call"
