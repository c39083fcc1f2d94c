"""Attack 3: a transient error reading a good guard file loses the guard's memory.

Home Assistant's ``load_json`` turns any ``OSError`` (too many open files,
an I/O error, a permission problem) into a ``HomeAssistantError``, which
Home Assistant's own ``Store`` re-raises (it moves aside only a file whose
JSON does not parse). ``saving.async_load_state`` takes every
``HomeAssistantError`` as "a file this version cannot use": the good
file is renamed aside, and the guard starts empty with a new key. The
identical call placed a second ago is then sent again: the person rings
twice.
"""

from __future__ import annotations

import builtins
from datetime import timedelta
import errno
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.infocaller.const import DOMAIN

from .conftest import issue_call

PHONE = "+34611222333"


async def test_attack3_a_transient_read_error_keeps_the_guard_file(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Path,
) -> None:
    """EMFILE while the reloaded line reads its guard: the same call is still refused."""
    entry_id = mock_config_entry.entry_id
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    await issue_call(hass, PHONE)
    assert mock_infocaller.issue_call.await_count == 1

    guard_file = real_storage / f"{DOMAIN}.{entry_id}.guard"
    real_open = builtins.open

    def failing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == str(guard_file):
            raise OSError(errno.EMFILE, "Too many open files")
        return real_open(file, *args, **kwargs)

    # One reload while the process is out of file descriptors for a moment:
    # the line is set up again later, the file untouched.
    with patch("homeassistant.util.json.open", failing_open, create=True):
        assert not await hass.config_entries.async_reload(entry_id)
        await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert not list(real_storage.glob(f"{guard_file.name}.unreadable.*"))
    # The retry, once the descriptors are back.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=2))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert mock_config_entry.state is ConfigEntryState.LOADED

    # The identical call, a moment after the first, is refused (it was
    # sent a second time: the guard's file was renamed aside) ...
    with pytest.raises(ServiceValidationError) as err:
        await issue_call(hass, PHONE)
    assert err.value.translation_key == "duplicate_call"
    assert mock_infocaller.issue_call.await_count == 1
    # ... and the good file was not moved aside.
    assert not list(real_storage.glob(f"{guard_file.name}.unreadable.*"))


async def test_attack3_a_transient_journal_read_error_does_not_kill_the_line(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Path,
) -> None:
    """EIO reading the guard's journal: the line is retried, not left failed.

    ``Journal.read`` catches only ``FileNotFoundError``; any other
    ``OSError`` propagates out of ``async_setup_entry`` and the line ends
    in ``SETUP_ERROR`` (never retried) until someone reloads it by hand.
    (Not loading is the safe side for the guard; being retried is what a
    transient error should get: ``ConfigEntryNotReady``.)
    """
    entry_id = mock_config_entry.entry_id
    journal = real_storage / f"{DOMAIN}.{entry_id}.guard.journal"
    journal.write_bytes(b"")
    real_read_bytes = Path.read_bytes

    def failing_read_bytes(path: Path) -> bytes:
        if path == journal:
            raise OSError(errno.EIO, "Input/output error")
        return real_read_bytes(path)

    mock_config_entry.add_to_hass(hass)
    with patch.object(Path, "read_bytes", failing_read_bytes):
        await hass.config_entries.async_setup(entry_id)
        await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
