"""Attack 4: the guard's journal after a torn line that could not be emptied.

A crash in the middle of an append leaves a torn last line (no newline).
The load sees it (``Journal.found``) and writes the guard's file so that
the journal is deleted. If that write fails (a full disk: the very thing
that often tears the line; Home Assistant's ``Store`` only logs a
``WriteError``), the journal stays, the line loads, and the next entry is
appended to the torn line: ``Journal.read`` skips the whole line, so the
write-ahead of the next call is unreadable. A crash before the delayed
save then forgets that call: the identical call is let through again.
"""

from __future__ import annotations

from contextlib import ExitStack
import errno
import os
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util.file import WriteError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.const import DOMAIN
from custom_components.infocaller.guard import CallGuard
from custom_components.infocaller.saving import Journal

from .conftest import issue_call

PHONE = "+34611222333"


async def test_attack4_an_entry_after_a_torn_line_that_stayed_is_readable(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Path,
) -> None:
    """Torn journal line + a failed write at load: the next call's entry is lost."""
    entry_id = mock_config_entry.entry_id
    guard_file = real_storage / f"{DOMAIN}.{entry_id}.guard"
    journal = Path(f"{guard_file}.journal")
    # A crash in the middle of an append (no guard file written yet).
    journal.write_bytes(b'{"s":1,"k":"0123456789ab')

    def full_disk(store: Store[Any], *args: Any) -> None:
        # Home Assistant 2025.4: (path, data); 2026.10: (data).
        raise WriteError(f"No space left on device: {store.path}")

    mock_config_entry.add_to_hass(hass)
    with ExitStack() as stack:
        for name in ("_write_data", "_write_prepared_data"):
            if hasattr(Store, name):  # the second: Home Assistant 2026.10
                stack.enter_context(patch.object(Store, name, full_disk))
        assert await hass.config_entries.async_setup(entry_id)
        await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert journal.exists()  # the write failed: it could not be emptied

    # Space again. A call: its entry is written ahead, before it leaves.
    await issue_call(hass, PHONE)
    assert mock_infocaller.issue_call.await_count == 1
    entries = await hass.async_add_executor_job(Journal(str(journal)).read)
    assert any("k" in entry and entry.get("s") for entry in entries), (
        "the call's write-ahead entry was appended to the torn line: unreadable"
    )

    # What a crash now (before the delayed save) would leave: a guard read
    # from these files forgets the call.
    crashed = CallGuard(hass, entry_id)
    await crashed.async_load()
    assert crashed.as_dict()["calls_last_day"] == 1


def test_attack4_an_entry_after_a_failed_cut_back_is_readable(tmp_path: Path) -> None:
    """ENOSPC mid-append, and the cut back fails too: the next entry is lost.

    ``Journal.append`` suppresses the ``ftruncate`` error: the torn bytes
    stay, and the next entry (its call goes out) is appended to them, on
    the same line, which ``read`` skips.
    """
    journal = Journal(str(tmp_path / "guard.journal"))
    real_write = os.write
    calls = 0

    def write_half_then_full(fd: int, data: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    def truncate_fails(fd: int, size: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    first = b'{"s":1,"k":"aaaaaaaaaaaaaaaaaaaaaaaa","n":"n1","t":1.0}\n'
    with (
        patch("custom_components.infocaller.saving.os.write", write_half_then_full),
        patch("custom_components.infocaller.saving.os.ftruncate", truncate_fails),
        pytest.raises(OSError, match="No space left"),
    ):
        journal.append(first, 1)
    # Space again: the next request's entry is written ahead, and it leaves.
    journal.append(b'{"s":2,"k":"bbbbbbbbbbbbbbbbbbbbbbbb","n":"n2","t":2.0}\n', 2)
    assert [entry["s"] for entry in journal.read()] == [2]
