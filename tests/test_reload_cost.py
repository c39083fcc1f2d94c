"""What a reload of one line costs, counted (issue 20).

A reload unloads the line and sets it up again; the set-up reads the
records, the guard (each a file and its journal) and the progress file in
the executor. Timings swing with the machine's load; the number of times
the reload waits for the executor with nothing else of its own in flight
there does not.
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
from pathlib import Path
import pstats
import threading
from typing import Any
from unittest.mock import MagicMock, patch

from homeassistant.const import __version__ as ha_version
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


#: Reloads counted, after two to warm up (the first writes what the call changed).
COUNTED_RELOADS = 5
#: All calls per reload, by Home Assistant version (the CI legs): measured
#: 7,049-7,124 on 2026.10.4 and 5,865-5,919 on 2025.4.0, plus about 2 %.
#: Another version's count differs by its own code: not checked there.
TOTAL_CALLS_CEILING = {"2026.10.4": 7250, "2025.4.0": 6050}


def _calls_per_reload(profile: cProfile.Profile) -> dict[str, float]:
    """Calls per reload: in all, of this integration's code, of connections."""
    counted = {"total": 0.0, "integration": 0.0, "dispatcher connections": 0.0}
    for (path, _line, name), row in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        calls = row[1] / COUNTED_RELOADS  # primitive and recursive calls alike
        counted["total"] += calls
        if "custom_components/infocaller/" in path:
            counted["integration"] += calls
        elif name == "async_dispatcher_connect" and path.endswith("dispatcher.py"):
            counted["dispatcher connections"] += calls
    return counted


@pytest.mark.usefixtures("real_storage")
async def test_a_reload_makes_no_more_calls_than_measured(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The function calls of a reload of one line, counted, stay where measured.

    Timings swing with the machine's load; the calls a reload makes on the
    event loop's thread (``cProfile``) barely do. Most of them are Home
    Assistant removing and adding the line's 9 entities; the ceilings are
    the counts measured on each CI leg plus a small margin (the total moves
    by a few dozen calls from run to run: how often the loop wakes while
    the files are read). What this integration's own code calls is pinned
    apart, close: 212 per reload (205 before each entity read the line's id
    once and a sensor compared its value with what it set, 186 after; then
    one ``SavedState`` base for the three saved states and its shape checks
    added 24, each coroutine layer counted at every resume; 219-220 with
    the checks of each stored field and the unload shared with a failed
    set-up). Each entity
    that follows the line connects once to a dispatcher signal (the
    incoming-call event to its own): 9 connections, no more.
    """
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    response = await issue_call(hass, PHONE)
    assert response["result_key"] == "accepted"
    for _ in range(2):
        assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    # Counted as Home Assistant runs: no asyncio debug mode (the harness's
    # records a stack at every callback), no debug logging.
    caplog.set_level(logging.WARNING)
    loop = asyncio.get_running_loop()
    debug = loop.get_debug()
    loop.set_debug(False)
    profile = cProfile.Profile()
    try:
        profile.enable()
        for _ in range(COUNTED_RELOADS):
            assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
            await hass.async_block_till_done()
        profile.disable()
    finally:
        loop.set_debug(debug)
    counted = _calls_per_reload(profile)
    assert counted["dispatcher connections"] == 9, counted
    assert counted["integration"] <= 224, counted
    if (ceiling := TOTAL_CALLS_CEILING.get(ha_version)) is not None:
        assert counted["total"] <= ceiling, counted
