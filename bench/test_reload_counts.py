"""Function calls per reload of one line, counted by function (not part of ``scripts/test``).

The bench's reload times swing with the machine's load; the calls a reload
makes on the event loop's thread barely do. This sets up a line against the
simulator (real ``.storage`` files, one accepted call), reloads it a few
times to warm up, then reloads it ``BENCH_RELOADS`` times under
``cProfile`` and prints the calls per reload: in all, then by function,
the most called first. With ``BENCH_JSON`` set, the counts by function go
to that file; run it on two commits and compare the files function by
function::

    BENCH_JSON=/tmp/a.json python -m pytest -q -s -p no:cacheprovider bench/test_reload_counts.py

``tests/test_reload_cost.py`` pins the totals (with the test harness's
mocked client, so its figures differ a little from these).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import logging
import os
from pathlib import Path
import pstats
from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.helpers import storage
from infocaller_simulator import DEMO_LINE, DEMO_PASSWORD, Simulator
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    DOMAIN,
)

pytestmark = pytest.mark.usefixtures("socket_enabled", "enable_custom_integrations")

# The harness replaces Store's disk I/O with a dict; count the real thing.
REAL_STORE_IO = {
    name: getattr(storage.Store, name)
    for name in ("_async_load", "_async_write_data", "async_remove")
}
RELOADS = int(os.environ.get("BENCH_RELOADS", "10"))
SHOWN = int(os.environ.get("BENCH_SHOWN", "40"))


def _by_function(stats: pstats.Stats) -> tuple[float, dict[str, float]]:
    """Return the calls per reload, in all and by function (file: name)."""
    total = 0.0
    named: dict[str, float] = {}
    for (path, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        calls = row[1] / RELOADS  # primitive and recursive calls alike
        total += calls
        if "custom_components/infocaller/" in path:
            short = "infocaller/" + path.split("custom_components/infocaller/", 1)[1]
        else:
            short = path.rsplit("site-packages/", 1)[-1]
        key = f"{short}: {name}"
        named[key] = named.get(key, 0) + calls
    return total, named


async def test_reload_counts(hass: HomeAssistant, tmp_path: Path) -> None:
    """Print the function calls per reload of one line."""
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    hass.config.config_dir = str(tmp_path)
    with (
        patch.object(storage.Store, "_async_load", REAL_STORE_IO["_async_load"]),
        patch.object(
            storage.Store, "_async_write_data", REAL_STORE_IO["_async_write_data"]
        ),
        patch.object(storage.Store, "async_remove", REAL_STORE_IO["async_remove"]),
    ):
        simulator = Simulator()
        await simulator.start()
        try:
            entry = MockConfigEntry(
                domain=DOMAIN,
                title=f"Infocaller {DEMO_LINE}",
                unique_id=DEMO_LINE,
                data={
                    CONF_IDINFOCALLER: DEMO_LINE,
                    CONF_PASSWORD: DEMO_PASSWORD,
                    CONF_ENDPOINT: simulator.url,
                },
            )
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            response: Any = await hass.services.async_call(
                DOMAIN,
                "issue_call",
                {"phone": "+34611222333", "rule_group": "Aviso"},
                blocking=True,
                return_response=True,
            )
            assert response["result"] == 0
            for _ in range(3):  # warm up; the first writes what the call changed
                assert await hass.config_entries.async_reload(entry.entry_id)
                await hass.async_block_till_done()
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(RELOADS):
                assert await hass.config_entries.async_reload(entry.entry_id)
                await hass.async_block_till_done()
            profiler.disable()
            assert await hass.config_entries.async_unload(entry.entry_id)
        finally:
            await simulator.stop()
    total, named = _by_function(pstats.Stats(profiler))
    lines = [f"\nfunction calls per reload ({RELOADS} reloads): {total:.1f}"]
    lines += [
        f"{calls:8.1f}  {name}"
        for name, calls in sorted(named.items(), key=lambda item: -item[1])[:SHOWN]
    ]
    print("\n".join(lines))
    if path := os.environ.get("BENCH_JSON"):
        Path(path).write_text(
            json.dumps({"reloads": RELOADS, "total": total, "named": named}, indent=1)
            + "\n"
        )
