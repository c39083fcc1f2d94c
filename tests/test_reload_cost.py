"""What a reload of one line costs, counted (issue 20).

A reload unloads the line and sets it up again; the set-up reads the
records, the guard (each a file and its journal) and the progress file in
the executor. Timings swing with the machine's load; the number of times
the reload waits for the executor with nothing else of its own in flight
there does not.
"""

from __future__ import annotations

from pathlib import Path
import threading
from typing import Any
from unittest.mock import MagicMock, patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import storage
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.const import DOMAIN
from custom_components.infocaller.saving import Journal

from .conftest import issue_call

PHONE = "+34611222333"


@pytest.mark.usefixtures("real_storage")
async def test_a_reload_reads_the_files_and_journals_at_once(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """The records' and the guard's files and journals are read side by side.

    Each of the four reads waits (in the executor) until all four have
    started: it passes only if none waits for another to finish. Each
    journal used to be read after its file, and the guard after the
    records: four waits for the executor in a row, now one. The same
    files are read, no more.
    """
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    response = await issue_call(hass, PHONE)
    assert response["result_key"] == "accepted"
    # The first reload writes what the call changed; the second only reads.
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    key = f"{DOMAIN}.{mock_config_entry.entry_id}"
    together = {f"{key}{end}" for end in ("", ".journal", ".guard", ".guard.journal")}
    all_started = threading.Barrier(len(together), timeout=5)
    read: list[str] = []
    real_load_json = storage.json_util.load_json
    real_read = Journal.read

    def meet(path: Path) -> None:
        read.append(path.name)
        if path.name in together:
            all_started.wait()

    def load_json(path: str | Path, *args: Any, **kwargs: Any) -> Any:
        meet(Path(path))
        return real_load_json(path, *args, **kwargs)

    def journal_read(journal: Journal) -> list[dict[str, Any]]:
        meet(journal.path)
        return real_read(journal)

    with (
        patch.object(storage.json_util, "load_json", load_json),
        patch.object(Journal, "read", autospec=True, side_effect=journal_read),
    ):
        assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert sorted(read) == sorted([*together, f"{key}.progress"])
    # And the reloaded line holds the call.
    assert mock_config_entry.runtime_data.records.accepted_calls == 1
