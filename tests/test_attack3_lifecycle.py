"""Attack 3: a reload, disable or delete in the same loop turn as an accepted call.

Real files (``real_storage``). After it: the reloaded line has the call's
record and refuses the identical call, and no journal is left open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.records import LineUpdate

from .conftest import issue_call

PHONE = "+34611222333"


def _open_journals() -> list[str]:
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.endswith(".journal"):
            found.append(target)
    return found


@pytest.mark.parametrize("how", ["reload", "disable", "reload_twice"])
async def test_attack3_unload_in_the_same_turn_as_an_accepted_call(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Path,
    how: str,
) -> None:
    """The unload starts as the call is recorded, before the loop turns."""
    entry_id = mock_config_entry.entry_id
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    records = mock_config_entry.runtime_data.records
    started: list[Any] = []

    @callback
    def unload_now(update: LineUpdate) -> None:
        if started or update.record is None or not update.record.accepted:
            return
        if how == "disable":
            job = hass.config_entries.async_set_disabled_by(
                entry_id, ConfigEntryDisabler.USER
            )
        else:
            job = hass.config_entries.async_reload(entry_id)
        started.append(hass.async_create_task(job, eager_start=True))

    unsub = async_dispatcher_connect(hass, records.signal, unload_now)
    await issue_call(hass, PHONE)
    unsub()
    await started[0]
    await hass.async_block_till_done(wait_background_tasks=True)
    if how == "reload_twice":
        assert await hass.config_entries.async_reload(entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
    if how == "disable":
        assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
        await hass.config_entries.async_set_disabled_by(entry_id, None)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.records.accepted_calls == 1
    with pytest.raises(ServiceValidationError):
        await issue_call(hass, PHONE)
    assert mock_infocaller.issue_call.await_count == 1
    await hass.config_entries.async_unload(entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _open_journals() == []


async def test_attack3_delete_in_the_same_turn_as_an_accepted_call(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Path,
) -> None:
    """The line is deleted as the call is recorded: no file, no journal left open."""
    entry_id = mock_config_entry.entry_id
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    records = mock_config_entry.runtime_data.records
    started: list[Any] = []

    @callback
    def delete_now(update: LineUpdate) -> None:
        if not started and update.record is not None and update.record.accepted:
            started.append(
                hass.async_create_task(
                    hass.config_entries.async_remove(entry_id), eager_start=True
                )
            )

    unsub = async_dispatcher_connect(hass, records.signal, delete_now)
    await issue_call(hass, PHONE)
    unsub()
    await started[0]
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sorted(path.name for path in real_storage.glob(f"*{entry_id}*")) == []
    assert _open_journals() == []
