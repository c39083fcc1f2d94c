"""Attack 3: a store migrated at load writes its file, whose hook deletes the journal.

Home Assistant's ``Store`` saves the data right after ``_async_migrate_func``
(a newer minor version too: ``LineStore`` takes it as it is, and the Store
writes it back). ``LineStore`` then awaits ``written``: the guard's and the
records' ``_async_written`` empties the journal "if the file holds all of
it" by comparing the file's ``seq`` with the last entry *this* object
appended, which at load is 0. So the journal is deleted while the load is
still to take its entries (read in parallel, in another executor thread):
an entry the file does not hold is lost when that read comes after the
deletion (a preempted thread on a busy machine).
"""

from __future__ import annotations

import threading
from typing import Any
from unittest.mock import MagicMock, patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.api import CallRequest
from custom_components.infocaller.const import DOMAIN
from custom_components.infocaller.guard import CallGuard
from custom_components.infocaller.saving import Journal

from .conftest import issue_call

PHONE = "+34611222333"


@pytest.mark.parametrize(
    "minor_version", [2, 3], ids=["same_version_control", "newer_minor"]
)
async def test_attack3_a_migrated_guard_file_keeps_the_journal_entries(
    hass: HomeAssistant,
    minor_version: int,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
) -> None:
    """A crash after a call, then a load of a newer minor version's guard file."""
    await issue_call(hass, PHONE)
    await hass.async_block_till_done(wait_background_tasks=True)
    key = f"{DOMAIN}.{setup_integration.entry_id}.guard"
    # What a crash leaves: the file from before the call (its delayed save
    # not written), the call's entry in the journal. The file is a newer
    # minor version's (Home Assistant writes it back as it loads it).
    on_disk = {**hass_storage[key], "minor_version": minor_version}
    hass_storage[key] = on_disk
    assert on_disk["data"]["seq"] == 0

    emptied = threading.Event()
    real_read, real_empty = Journal.read, Journal.empty_upto

    def slow_read(journal: Journal) -> list[dict[str, Any]]:
        # The read's thread is preempted until the load's write is done.
        emptied.wait(1)
        return real_read(journal)

    def empty_upto(journal: Journal, seq: int) -> None:
        real_empty(journal, seq)
        emptied.set()

    guard = CallGuard(hass, setup_integration.entry_id)
    with (
        patch.object(Journal, "read", slow_read),
        patch.object(Journal, "empty_upto", empty_upto),
    ):
        await guard.async_load()
    with pytest.raises(ServiceValidationError) as err:
        guard.async_check(CallRequest(phone=PHONE, rule_group="Aviso"))
    assert err.value.translation_key == "duplicate_call"


async def test_attack3_a_damaged_guard_file_keeps_the_journals_requests(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Any,
) -> None:
    """The guard's file is damaged, its journal is intact: the call is refused.

    The journal's entries are keyed hashes under the line's key, and the key
    is only in the file: with the file moved aside the guard makes a new
    key, replays the entries under it, and no request ever matches them.
    The journal written "before the request leaves" then protects nothing.
    """
    entry_id = mock_config_entry.entry_id
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    await issue_call(hass, PHONE)
    await hass.async_block_till_done(wait_background_tasks=True)
    guard_file = real_storage / f"{DOMAIN}.{entry_id}.guard"
    assert (real_storage / f"{guard_file.name}.journal").read_bytes()
    # The file is damaged (a disk error, a bad sector, a torn copy).
    guard_file.write_text('{"version": 1, "minor_version": 2, "data": {"se')
    guard = CallGuard(hass, entry_id)
    await guard.async_load()
    with pytest.raises(ServiceValidationError) as err:
        guard.async_check(CallRequest(phone=PHONE, rule_group="Aviso"))
    assert err.value.translation_key == "duplicate_call"
