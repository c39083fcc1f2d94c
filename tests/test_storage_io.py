"""The line's files when the disk misbehaves: short writes, failed writes, removal."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
import time
from typing import Any
from unittest.mock import MagicMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.api import CallRequest
from custom_components.infocaller.const import DOMAIN
from custom_components.infocaller.guard import CallGuard
from custom_components.infocaller.saving import Journal

from .conftest import issue_call

PHONE = "+34611222333"
OTHER = "+34611222444"


async def test_a_short_journal_write_is_finished(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """The first write takes part of the entry: the rest is written, the call sent."""
    real_write = os.write
    writes: list[int] = []

    def short_once(fd: int, data: bytes) -> int:
        writes.append(len(data))
        return real_write(fd, bytes(data)[:5] if len(writes) == 1 else data)

    with patch("custom_components.infocaller.saving.os.write", short_once):
        await issue_call(hass, PHONE)
    mock_infocaller.issue_call.assert_awaited_once()
    assert len(writes) == 2
    # A crash now: the journal alone (the file was not written yet) refuses it.
    guard = CallGuard(hass, setup_integration.entry_id)
    await guard.async_load()
    with pytest.raises(ServiceValidationError) as err:
        guard.async_check(CallRequest(phone=PHONE, rule_group="Aviso"))
    assert err.value.translation_key == "duplicate_call"


async def test_a_failed_journal_write_leaves_no_torn_line(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Path,
) -> None:
    """The disk fills up part way: the call is refused, the journal cut back.

    The next entry is then whole on its own line (not appended to a torn
    one, where the reader would skip it).
    """
    entry_id = mock_config_entry.entry_id
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    journal = real_storage / f"{DOMAIN}.{entry_id}.guard.journal"
    real_write = os.write

    def disk_full(fd: int, data: bytes) -> int:
        real_write(fd, bytes(data)[:7])
        raise OSError(errno.ENOSPC, "No space left on device")

    with (
        patch("custom_components.infocaller.saving.os.write", disk_full),
        pytest.raises(HomeAssistantError) as err,
    ):
        await issue_call(hass, PHONE)
    assert err.value.translation_key == "guard_not_written"
    mock_infocaller.issue_call.assert_not_awaited()
    assert journal.read_bytes() == b""
    await issue_call(hass, OTHER)
    mock_infocaller.issue_call.assert_awaited_once()
    # A crash now: the second call's entry is read back.
    guard = CallGuard(hass, entry_id)
    await guard.async_load()
    with pytest.raises(ServiceValidationError) as refused:
        guard.async_check(CallRequest(phone=OTHER, rule_group="Aviso"))
    assert refused.value.translation_key == "duplicate_call"


async def test_removing_the_line_removes_a_file_home_assistant_moved_aside(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Path,
) -> None:
    """A guard file that is not JSON: Home Assistant's copy and repair go too."""
    entry_id = mock_config_entry.entry_id
    key = f"{DOMAIN}.{entry_id}"
    (real_storage / f"{key}.guard").write_text('{"version": 1, "data": {"se')
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    assert list(real_storage.glob(f"{key}.guard.corrupt.*"))

    def corruption_issues() -> list[Any]:
        return [
            issue
            for issue in ir.async_get(hass).issues.values()
            if issue.domain == HOMEASSISTANT_DOMAIN
            and issue.issue_id.startswith(f"storage_corruption_{key}.guard_")
        ]

    assert corruption_issues()
    await hass.config_entries.async_remove(entry_id)
    await hass.async_block_till_done()
    assert sorted(path.name for path in real_storage.glob(f"{key}*")) == []
    assert not corruption_issues()


async def test_a_line_that_is_set_up_later_leaves_nothing_running(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Path,
) -> None:
    """The guard's journal cannot be read: the records' load ends first.

    The records are read side by side with the guard: when the guard fails,
    the records' load (which writes their file and deletes their journal)
    is over before the set-up is, so it cannot write after a retry read.
    """
    entry_id = mock_config_entry.entry_id
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    await issue_call(hass, PHONE)
    await hass.async_block_till_done(wait_background_tasks=True)
    records_journal = real_storage / f"{DOMAIN}.{entry_id}.journal"
    entries = records_journal.read_bytes()
    assert entries
    assert await hass.config_entries.async_unload(entry_id)
    records_journal.write_bytes(entries)
    real_read = Journal.read

    def read(journal: Journal) -> list[dict[str, Any]]:
        if journal.path.name.endswith(".guard.journal"):
            raise OSError(errno.EIO, "Input/output error")
        time.sleep(0.2)
        return real_read(journal)

    with patch.object(Journal, "read", read):
        assert not await hass.config_entries.async_setup(entry_id)
        assert not records_journal.exists()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_journal_entries_without_a_usable_key_still_count(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """No guard file; entries of an older version (no key) or a bad key.

    The line keeps a new key of its own and still counts the calls.
    """
    guard = CallGuard(hass, "no_file")
    secret = guard._secret
    now = time.time()
    lines = [
        {"s": 1, "k": "a", "n": "b", "t": now},
        {"s": 2, "k": "c", "n": "d", "t": now, "x": "not hex"},
        {"s": 3, "k": "e", "n": "f", "t": now, "x": "abcd"},
    ]
    journal = Path(guard._journal.path)
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text("".join(f"{json.dumps(line)}\n" for line in lines))
    try:
        await guard.async_load()
    finally:
        journal.unlink(missing_ok=True)
    assert guard._secret == secret
    assert guard.as_dict()["calls_last_day"] == 3
