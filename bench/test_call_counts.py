"""Function calls per action, counted (not part of ``scripts/test``).

The bench's timings swing with the machine's load; the number of function
calls an action makes does not. This runs the bench's ``issue_call``
action (the same entry, against the simulator on loopback) under
``cProfile`` and prints, per action: the total function calls, and the
calls of this integration's functions and of Home Assistant's state
writes, dispatcher sends and event fires; then the same for the push path
alone (a record handed to the line's records, as the bench's
``ha_entities_floor`` does). Run it on two commits and compare::

    BENCH_N=200 python -m pytest -q -s -p no:cacheprovider bench/test_call_counts.py

Only the event loop's thread is profiled (not the executor's).
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import os
from pathlib import Path
import pstats
import time
from typing import Any

from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from infocaller_simulator import DEMO_LINE, DEMO_PASSWORD, Simulator
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    DOMAIN,
)
from custom_components.infocaller.records import CallRecord

pytestmark = pytest.mark.usefixtures("socket_enabled", "enable_custom_integrations")

N = int(os.environ.get("BENCH_N", "200"))
PHONE = "+34611222333"
# Home Assistant's functions worth naming: what writes a state, sends on a
# dispatcher signal or fires an event.
HA_FUNCTIONS = (
    "async_write_ha_state",
    "_async_write_ha_state",
    "async_set_internal",
    "async_dispatcher_send",
    "async_dispatcher_send_internal",
    "async_fire_internal",
)


def _counts(stats: pstats.Stats) -> tuple[int, dict[str, int]]:
    """Return the total calls and the calls of the functions worth naming."""
    total = 0
    named: dict[str, int] = {}
    for (path, line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        calls = row[1]  # primitive and recursive calls alike
        total += calls
        if "custom_components/infocaller/" in path:
            short = path.split("custom_components/infocaller/", 1)[1]
            named[f"{short}:{line} {name}"] = calls
        elif os.environ.get("BENCH_ALL"):
            short = path.rsplit("site-packages/", 1)[-1]
            named[f"{short} {name}"] = named.get(f"{short} {name}", 0) + calls
        elif name in HA_FUNCTIONS and "homeassistant/" in path:
            short = path.split("homeassistant/", 1)[1]
            named[f"ha/{short} {name}"] = named.get(f"ha/{short} {name}", 0) + calls
    return total, named


async def test_call_counts(hass: HomeAssistant, tmp_path: Path) -> None:
    """Print the function calls per ``issue_call`` action."""
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    hass.config.config_dir = str(tmp_path)
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
            options={"max_calls_per_number": 0},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()

        async def action(index: int) -> None:
            response: Any = await hass.services.async_call(
                DOMAIN,
                "issue_call",
                {"phone": PHONE, "rule_group": "Aviso", "variables": {"N": str(index)}},
                blocking=True,
                return_response=True,
            )
            assert response["result"] == 0

        for index in range(20):  # warm up
            await action(100_000 + index)
        await hass.async_block_till_done()
        profiler = cProfile.Profile()
        profiler.enable()
        for index in range(N):
            await action(index)
        profiler.disable()
        await hass.async_block_till_done()
        # The push path alone: a record handed to the line's records, as the
        # bench's ha_entities_floor does, and the entities it reaches.
        records = entry.runtime_data.records
        push = cProfile.Profile()
        push.enable()
        for index in range(N):
            records.async_add(
                CallRecord(
                    time=dt_util.utcnow(),
                    source="action",
                    phone=PHONE,
                    rule_group="Aviso",
                    scheduled_for=None,
                    result=0,
                    result_key="accepted",
                    result_text="Aceptada",
                    call_id=str(index),
                )
            )
        push.disable()
        await hass.async_block_till_done()
        # And its time, without the profiler (best of five rounds; a refused
        # record, so that no journal append runs in the executor meanwhile).
        push_us = []
        for _round in range(5):
            started = time.perf_counter()
            for index in range(N):
                records.async_add(
                    CallRecord(
                        time=dt_util.utcnow(),
                        source="action",
                        phone=PHONE,
                        rule_group="Aviso",
                        scheduled_for=None,
                        result=3 + index % 2,
                        result_key="invalid_phone",
                        result_text="Teléfono no válido",
                        call_id=None,
                    )
                )
            push_us.append((time.perf_counter() - started) / N * 1e6)
            await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulator.stop()
    push_total, push_named = _counts(pstats.Stats(push))
    lines = [
        f"\npushed refused record, best of 5 rounds: {min(push_us):.1f} us "
        f"(rounds: {', '.join(f'{us:.1f}' for us in push_us)})",
        f"function calls per pushed record ({N} records): {push_total / N:.1f}",
    ]
    lines += [
        f"{calls / N:8.2f}  {name}"
        for name, calls in sorted(push_named.items(), key=lambda item: -item[1])
    ]
    total, named = _counts(pstats.Stats(profiler))
    lines += [f"\nfunction calls per action ({N} actions): {total / N:.1f}"]
    lines += [
        f"{calls / N:8.2f}  {name}"
        for name, calls in sorted(named.items(), key=lambda item: -item[1])
    ]
    print("\n".join(lines))
    if path := os.environ.get("BENCH_JSON"):
        import json

        Path(path).write_text(
            json.dumps({"n": N, "total": total / N, "named": named}, indent=2)
        )
