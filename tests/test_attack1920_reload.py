"""Attack (issues 19/20 review): the guard's memory across a reload.

Each test reproduced a defect found in the review of the unload drain and
``saving.JournaledState`` (it failed before the fix; see the commit).
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
from custom_components.infocaller.saving import Journal

from .conftest import issue_call

A = "+34611000001"
B = "+34611000002"


async def test_an_old_guard_write_finishing_after_a_reload_erases_new_entries(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
) -> None:
    """A reload while the guard's delayed save is being written (slow disk).

    ``DelayedSave.async_unload`` did not wait for a write already under
    way (``_pending`` is False once its data was taken), so the unloaded
    guard's write landed after the reloaded guard started: it overwrote the
    file with the old state and its ``written`` hook deleted the journal,
    which then held the reloaded guard's write-ahead entry of call B. A
    crash then (SIGKILL before the next delayed save) forgot B: the
    identical call rang again. Now the unload waits for that write.
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
        await issue_call(hass, A)
        # The guard's delayed save starts writing, and the disk is slow.
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
        await asyncio.wait_for(entered.wait(), 5)
        # (No async_block_till_done here: it would wait for the slow write.)
        reload = hass.async_create_task(
            hass.config_entries.async_reload(setup_integration.entry_id)
        )
        # The unload waits for the write under way: the reloaded line does
        # not start (nor write the files) while the old write may land.
        for _ in range(50):
            await asyncio.sleep(0)
        assert not reload.done()
        # The old write completes; then the reload does.
        release.set()
        assert await asyncio.wait_for(reload, 10)
        # The reloaded line places call B: its entry is in the journal.
        await issue_call(hass, B)
        assert B not in journal.read_text()  # (hashed, never in clear)
        assert journal.exists()
        await hass.async_block_till_done()

    # SIGKILL now: Home Assistant restarts from the file and the journal.
    guard = CallGuard(hass, setup_integration.entry_id)
    await guard.async_load()
    with pytest.raises(ServiceValidationError) as err:
        guard.async_check(CallRequest(phone=B, rule_group="Aviso"))
    assert err.value.translation_key == "duplicate_call"


def test_a_closed_journal_never_deletes_its_file(tmp_path: Path) -> None:
    """A late ``written`` hook of an unloaded line leaves the journal alone.

    After a reload the file at that path is the reloaded line's journal.
    """
    journal = Journal(str(tmp_path / "x.journal"))
    journal.append(b'{"s":1}\n', 1)
    journal.close()
    # The reloaded line's journal, at the same path.
    again = Journal(str(tmp_path / "x.journal"))
    again.append(b'{"s":2}\n', 2)
    journal.empty_upto(1)
    assert [entry["s"] for entry in again.read()] == [1, 2]
    again.close()
