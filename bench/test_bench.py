"""The benchmark behind ``scripts/bench`` (not part of ``scripts/test``).

One run on one machine, against the simulator on loopback:

1. raw / client / action: a bare aiohttp POST of a pre-signed, pre-encoded
   form body; the integration's client; ``infocaller.issue_call`` in a
   running Home Assistant (the test harness's, with a real storage folder so
   that disk writes are counted), with the event and the entities updating.
   action_new_number uses a number never seen before on every call (the
   worst case for phone validation); ha_action_floor is a bare action that
   only awaits the client: what Home Assistant's own action machinery
   costs, which no integration can go below. The kinds are
   interleaved call by call, in a rotating order, each after a short idle
   gap.
2. burst: 200 and 1,000 concurrent actions with distinct phones.
3. set-up: config-entry set-up and reload time (import time is measured by
   scripts/bench itself, in fresh interpreters); reload_floor reloads a bare
   integration with the same platforms, the same number of entities on
   each and one service device, and nothing else, in turns with the line.
4. call progress: webhook requests to infocaller_call_progress events,
   latency and events per second, through Home Assistant's webhook
   component directly and through its HTTP server.
5. duplicate guard: what checking a call to a new number costs with 100,
   3,000 and 30,000 numbers already called in the hour (it must not grow
   with them).

Besides the figures, the run checks what they stand for: every action and
every burst call accepted, no blocking-call report, the records written to
disk, and the guard's check as cheap with 30,000 numbers as with 100.

Results go to stdout (a table) and, with BENCH_JSON set, to that file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import json
import logging
import os
from pathlib import Path
import platform
import statistics
import time
from typing import Any
from unittest.mock import patch
from urllib.parse import quote_plus, urlencode

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.button import ButtonEntity
from homeassistant.components.event import EventEntity
from homeassistant.components.notify import NotifyEntity
from homeassistant.components.sensor import SensorEntity
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import CONF_PASSWORD, __version__ as HA_VERSION
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.helpers import entity_registry as er, storage
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util
from infocaller_simulator import DEMO_LINE, DEMO_PASSWORD, Simulator
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.infocaller import PLATFORMS
from custom_components.infocaller.api import (
    CallRequest,
    InfocallerClient,
    RequestFormat,
    signature,
)
from custom_components.infocaller.api.protocol import (
    call_data,
    encode_request,
    request_document,
)
from custom_components.infocaller.const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    DOMAIN,
    EVENT_CALL_PROGRESS,
)
from custom_components.infocaller.guard import CallGuard
from custom_components.infocaller.records import CallRecord
from tests.loop_protection import loop_protection

pytestmark = pytest.mark.usefixtures("socket_enabled", "enable_custom_integrations")

# The harness replaces Store's disk I/O with a dict; the benchmark wants the
# real thing, so keep the originals from before any fixture patches them.
REAL_STORE_IO = {
    name: getattr(storage.Store, name)
    for name in ("_async_load", "_async_write_data", "async_remove")
}
N = int(os.environ.get("BENCH_N", "1000"))
GAP = float(os.environ.get("BENCH_GAP", "0.002"))
BURSTS = tuple(int(x) for x in os.environ.get("BENCH_BURSTS", "200,1000").split(","))
PHONE = "+34611222333"
RELOADS = int(os.environ.get("BENCH_RELOADS", "50"))
FLOOR_DOMAIN = "reload_floor"


def request(index: int) -> CallRequest:
    """The request every kind sends (what the action's defaults make of it)."""
    return CallRequest(
        phone=PHONE,
        rule_group="Aviso",
        max_wait=5,
        retries=0,
        variables=(("N", str(index)),),
    )


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": cut[94] * 1000,
        "p99_ms": cut[98] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    try:
        import ulid_transform._ulid_impl  # noqa: F401
    except ImportError:
        # PyPI's ulid-transform 2.2.9 wheel for Python 3.14 has no compiled
        # extension; Home Assistant's images have it. Every state write and
        # event makes a ULID, so they are slower here than in production.
        ulid_compiled = False
    else:
        ulid_compiled = True
    return {
        "ulid_transform_compiled": ulid_compiled,
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "home_assistant": HA_VERSION,
        "platform": platform.platform(),
    }


async def test_benchmark(
    hass: HomeAssistant, tmp_path: Path, hass_client_no_auth: Any
) -> None:
    """Measure, print and (optionally) save the figures."""
    # The test harness runs the loop in asyncio debug mode, which slows every
    # callback; Home Assistant does not run like that.
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    with (
        patch.object(storage.Store, "_async_load", REAL_STORE_IO["_async_load"]),
        patch.object(
            storage.Store, "_async_write_data", REAL_STORE_IO["_async_write_data"]
        ),
        patch.object(storage.Store, "async_remove", REAL_STORE_IO["async_remove"]),
    ):
        hass.config.config_dir = str(tmp_path)
        simulator = Simulator()
        await simulator.start()
        try:
            results = await _run(hass, simulator, tmp_path, hass_client_no_auth)
        finally:
            await simulator.stop()
    results["machine"] = machine()
    print(format_table(results))
    if path := os.environ.get("BENCH_JSON"):
        Path(path).write_text(json.dumps(results, indent=2) + "\n")
    for burst in results["bursts"]:
        assert burst["accepted"] == burst["size"], burst["failures"]
        assert burst["blocking_call_reports"] == 0, burst["first_blocking_call_reports"]
    assert results["records_file_written"]
    guard = results["guard_check_us"]
    # A scan of every number (O(n)) costs 100 times more at 30,000 than at
    # 100 numbers; O(expired) stays level, give or take the machine's noise.
    assert guard[str(GUARD_SIZES[-1])] < 3 * guard[str(GUARD_SIZES[0])] + 20, guard


async def _run(
    hass: HomeAssistant,
    simulator: Simulator,
    tmp_path: Path,
    hass_client_no_auth: Any,
) -> dict[str, Any]:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Infocaller {DEMO_LINE}",
        unique_id=DEMO_LINE,
        data={
            CONF_IDINFOCALLER: DEMO_LINE,
            CONF_PASSWORD: DEMO_PASSWORD,
            CONF_ENDPOINT: simulator.url,
        },
        # 1,000s of calls to one number: the hourly loop limit would
        # (rightly) refuse them after 10.
        options={"max_calls_per_number": 0},
    )
    entry.add_to_hass(hass)
    started = time.perf_counter()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    setup_ms = (time.perf_counter() - started) * 1000
    reloads: list[float] = []
    floor_reloads: list[float] = []
    with mock_config_flow(FLOOR_DOMAIN, _FloorFlow):
        floor_entry = await _reload_floor_entry(hass, entry)
        for _ in range(RELOADS):
            for reloaded, times in ((entry, reloads), (floor_entry, floor_reloads)):
                started = time.perf_counter()
                assert await hass.config_entries.async_reload(reloaded.entry_id)
                times.append(time.perf_counter() - started)
        assert await hass.config_entries.async_unload(floor_entry.entry_id)
    await hass.async_block_till_done()

    session = async_get_clientsession(hass)
    client = InfocallerClient(
        session,
        DEMO_LINE,
        DEMO_PASSWORD,
        endpoint=simulator.url,
        time_zone=entry.runtime_data.pipeline.client.time_zone,
    )

    def body(index: int) -> bytes:
        document = request_document(
            DEMO_LINE, signature(DEMO_LINE, DEMO_PASSWORD), call_data(request(index))
        )
        return urlencode(encode_request(RequestFormat.JSON, document)).encode()

    raw_body = body(0)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    async def raw(_index: int) -> None:
        async with session.post(
            simulator.url, data=raw_body, headers=headers, allow_redirects=False
        ) as response:
            assert b'"Resultado": "0"' in await response.read()

    async def via_client(index: int) -> None:
        result = await client.issue_call(request(index))
        assert result.accepted

    async def action(index: int, phone: str = PHONE) -> None:
        # A new variable value each time: the duplicate guard would refuse
        # an identical call within its window.
        response = await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": phone, "rule_group": "Aviso", "variables": {"N": str(index)}},
            blocking=True,
            return_response=True,
        )
        assert response is not None
        assert response["result"] == 0

    async def action_new_number(index: int) -> None:
        await action(index, f"+34622{index:06d}")

    def bench_action(
        name: str, handler: Callable[[ServiceCall], Awaitable[ServiceResponse]]
    ) -> Callable[[int], Awaitable[None]]:
        """Register a bare ``bench`` action; return a kind that calls it."""
        hass.services.async_register(
            "bench", name, handler, supports_response=SupportsResponse.ONLY
        )

        async def run(index: int) -> None:
            response = await hass.services.async_call(
                "bench", name, {"n": index}, blocking=True, return_response=True
            )
            assert response == {"result": 0}

        return run

    # The floor Home Assistant itself sets: a bare action that only awaits
    # the client, with no schema, validation, records, event or entities.
    async def _floor_handler(call: ServiceCall) -> ServiceResponse:
        result = await client.issue_call(request(call.data["n"]))
        return {"result": result.result}

    ha_action_floor = bench_action("floor", _floor_handler)

    # The least any client can add to raw: encode this call's document
    # with one json.dumps and one quote_plus, parse the answer with one
    # json.loads (no checks, no timeout of its own, no model).
    firma = signature(DEMO_LINE, DEMO_PASSWORD)

    async def client_floor(index: int) -> None:
        document = request_document(DEMO_LINE, firma, call_data(request(index)))
        data = f"apiCALLjson={quote_plus(json.dumps(document))}".encode()
        async with session.post(
            simulator.url, data=data, headers=headers, allow_redirects=False
        ) as response:
            answer = json.loads(await response.read())
        assert answer["callRequest"]["Resultado"] == "0"

    # The least Home Assistant itself costs for what issue_call must do
    # before it returns: the bare action above, plus the four entity states
    # a call always changes (last result, last call, accepted calls, the
    # call-result event entity), written straight into the state machine,
    # and one event on the bus. No schema, validation, guard or records.
    async def _states_floor_handler(call: ServiceCall) -> ServiceResponse:
        result = await client.issue_call(request(call.data["n"]))
        for name in ("last_result", "last_call", "accepted_calls", "call_result"):
            hass.states.async_set(
                f"sensor.bench_{name}", str(call.data["n"]), {"call_id": result.call_id}
            )
        hass.bus.async_fire("bench_call_result", {"call_id": result.call_id})
        return {"result": result.result}

    ha_states_floor = bench_action("states_floor", _states_floor_handler)

    # The same, but the four states are written the way issue_call writes
    # them: a record handed to the line's records, whose listeners (the
    # entities) write through Home Assistant's Entity API. Still no schema,
    # validation, guard, record building or response dict.
    records = entry.runtime_data.records

    async def _entities_floor_handler(call: ServiceCall) -> ServiceResponse:
        result = await client.issue_call(request(call.data["n"]))
        record = CallRecord(
            time=dt_util.utcnow(),
            source="action",
            phone=PHONE,
            rule_group="Aviso",
            scheduled_for=None,
            result=result.result,
            result_key=result.result_key,
            result_text=result.result_text,
            call_id=result.call_id,
        )
        records.async_add(record)
        hass.bus.async_fire("bench_call_result", {"call_id": result.call_id})
        return {"result": result.result}

    ha_entities_floor = bench_action("entities_floor", _entities_floor_handler)

    kinds: dict[str, Callable[[int], Awaitable[None]]] = {
        "raw": raw,
        "client_floor": client_floor,
        "client": via_client,
        "ha_action_floor": ha_action_floor,
        "ha_states_floor": ha_states_floor,
        "ha_entities_floor": ha_entities_floor,
        "action": action,
        "action_new_number": action_new_number,
    }
    # Warm up every path (connections, caches, code paths) before measuring.
    for index in range(20):
        for run in kinds.values():
            await run(100_000 + index)
    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    order = list(kinds)
    for index in range(N):
        for kind in order:
            await asyncio.sleep(GAP)
            started = time.perf_counter()
            await kinds[kind](index)
            samples[kind].append(time.perf_counter() - started)
        order = order[1:] + order[:1]
    latency = {kind: _percentiles(values) for kind, values in samples.items()}
    ratios = {
        f"{kind}/raw": {
            p: latency[kind][p] / latency["raw"][p]
            for p in ("p50_ms", "p95_ms", "p99_ms")
        }
        for kind in kinds
        if kind != "raw"
    }

    if os.environ.get("BENCH_PROFILE"):
        # Where an action's time goes (BENCH_PROFILE=1 scripts/bench).
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for index in range(N):
            await action(200_000 + index)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)
        # This integration's functions and Home Assistant's entity writes,
        # by time including what they call.
        stats.sort_stats("cumulative").print_stats(
            r"infocaller/|helpers/entity\.py|core\.py:.*(async_call|async_set|async_fire)",
            40,
        )

    bursts = await _bursts(hass, simulator)
    await hass.async_block_till_done()
    webhook_figures = await _webhook(hass, entry, hass_client_no_auth)
    # Unloading writes the records that are still waiting for their delay.
    assert await hass.config_entries.async_unload(entry.entry_id)
    records = tmp_path / ".storage" / f"{DOMAIN}.{entry.entry_id}"
    return {
        "n": N,
        "gap_s": GAP,
        "latency": latency,
        "ratios": ratios,
        "bursts": bursts,
        "setup": {
            "entry_setup_ms": setup_ms,
            "entry_reload_p50_ms": statistics.median(reloads) * 1000,
            "reload_floor_p50_ms": statistics.median(floor_reloads) * 1000,
            "reloads": RELOADS,
        },
        "records_file_written": records.exists(),
        "webhook": webhook_figures,
        "guard_check_us": await _guard_scaling(hass),
    }


GUARD_SIZES = (100, 3_000, 30_000)


async def _guard_scaling(hass: HomeAssistant) -> dict[str, float]:
    """Checking a call to a new number, by numbers called in the hour.

    Median microseconds of 1,000 checks (``async_check`` and ``async_sent``,
    what the action does around each request) on a guard that has already
    let through 100, 3,000 or 30,000 distinct numbers within the hour. A
    scan of every number on every check made bursts O(n²) (0.3 ms a call
    with a few thousand numbers); checking is O(expired calls).
    """
    figures: dict[str, float] = {}
    for size in GUARD_SIZES:
        guard = CallGuard(hass, f"bench_guard_{size}")
        guard.apply_options({"max_calls_per_number": 0, "max_calls_per_day": 0})
        for index in range(size):
            request = CallRequest(phone=f"+3465{index:07d}", rule_group="A")
            guard.async_sent(guard.async_check(request))
        samples = []
        for index in range(1000):
            request = CallRequest(phone=f"+3466{index:07d}", rule_group="A")
            started = time.perf_counter()
            guard.async_sent(guard.async_check(request))
            samples.append(time.perf_counter() - started)
        await guard.async_unload()
        figures[str(size)] = statistics.median(samples) * 1e6
    return figures


class _FloorEntity(Entity):
    """A bare entity of the reload floor: a name, a unique id, the device."""

    _attr_has_entity_name = True

    def __init__(self, name: str, unique_id: str, entry: ConfigEntry) -> None:
        """Take what every entity of a line has."""
        self._attr_name = name
        self._attr_unique_id = unique_id
        self._attr_event_types = ["call"]  # only the event entity reads it
        self._attr_device_info = DeviceInfo(
            identifiers={(FLOOR_DOMAIN, entry.entry_id)},
            entry_type=DeviceEntryType.SERVICE,
        )


FLOOR_KINDS: dict[str, type[_FloorEntity]] = {
    kind.__module__.rsplit(".", 1)[-1]: type(
        f"Floor{kind.__name__}", (_FloorEntity, kind), {}
    )
    for kind in (
        BinarySensorEntity,
        ButtonEntity,
        EventEntity,
        NotifyEntity,
        SensorEntity,
    )
}


class _FloorFlow(ConfigFlow):
    """The reload floor's config flow: never started, only needed to exist."""

    VERSION = 1


async def _reload_floor_entry(
    hass: HomeAssistant, line: MockConfigEntry
) -> MockConfigEntry:
    """Set up the reload floor: the line's platforms and entity counts, bare.

    Its entities have a unique id, a name and the one service device, and
    nothing else: no records, no client, no stores, no translations.
    """
    counts: dict[str, int] = {}
    for item in er.async_entries_for_config_entry(er.async_get(hass), line.entry_id):
        counts[item.domain] = counts.get(item.domain, 0) + 1

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
        return True

    async def unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)

    def platform(name: str) -> MockPlatform:
        kind = FLOOR_KINDS[name]

        async def setup_platform(
            hass: HomeAssistant,
            entry: ConfigEntry,
            add_entities: AddConfigEntryEntitiesCallback,
        ) -> None:
            entities = [
                kind(f"{name} {index}", f"{entry.entry_id}-{name}-{index}", entry)
                for index in range(counts.get(name, 0))
            ]
            add_entities(entities)

        return MockPlatform(async_setup_entry=setup_platform)

    mock_integration(
        hass,
        MockModule(
            FLOOR_DOMAIN,
            async_setup_entry=setup_entry,
            async_unload_entry=unload_entry,
        ),
    )
    # The line's own platform list: a platform added to the integration and
    # not to FLOOR_KINDS fails here (KeyError) instead of being left out.
    for name in PLATFORMS:
        mock_platform(hass, f"{FLOOR_DOMAIN}.{name}", platform(name))
    # Home Assistant imports an entry's config flow before setting it up
    # (its handler, _FloorFlow, is registered by the caller).
    mock_platform(hass, f"{FLOOR_DOMAIN}.config_flow", None)
    entry = MockConfigEntry(domain=FLOOR_DOMAIN)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _bursts(hass: HomeAssistant, simulator: Simulator) -> list[dict[str, Any]]:
    """Concurrent actions with distinct numbers, BURSTS of them."""
    bursts = []
    for burst, size in enumerate(BURSTS):
        simulator.reset()
        with loop_protection() as blocking_reports:
            started = time.perf_counter()
            outcomes = await asyncio.gather(
                *(
                    hass.services.async_call(
                        DOMAIN,
                        "issue_call",
                        # Numbers unique across bursts: the duplicate guard
                        # would (rightly) refuse a number called seconds before.
                        {"phone": f"+3463{burst}{index:06d}", "rule_group": "Aviso"},
                        blocking=True,
                        return_response=True,
                    )
                    for index in range(size)
                ),
                return_exceptions=True,
            )
            wall = time.perf_counter() - started
        accepted = sum(
            1 for item in outcomes if isinstance(item, dict) and item["result"] == 0
        )
        failures: dict[str, int] = {}
        for item in outcomes:
            if isinstance(item, BaseException):
                key = getattr(item, "translation_key", None)
                name = f"{type(item).__name__}({key or item})"[:100]
                failures[name] = failures.get(name, 0) + 1
        bursts.append(
            {
                "size": size,
                "accepted": accepted,
                "wall_s": wall,
                "calls_per_s": size / wall,
                "connections": len(simulator.peers),
                "peak_concurrent_requests": simulator.peak_in_flight,
                "failures": failures,
                "blocking_call_reports": len(blocking_reports),
                "first_blocking_call_reports": blocking_reports[:3],
            }
        )
    return bursts


WEBHOOK_ID = "b" * 64


async def _webhook(
    hass: HomeAssistant, entry: MockConfigEntry, hass_client_no_auth: Any
) -> dict[str, Any]:
    """Call progress: webhook requests to ``infocaller_call_progress`` events.

    Each request reports keys pressed on one followed call (a new value each
    time, so each is applied and fires its event). Latency is from sending
    the request to the event's listener running. "handler" enters Home
    Assistant's webhook component directly (as a cloudhook does); "http"
    goes through its HTTP server (in this process, test server). The
    webhook's flood limit is lifted for the measurement.
    """
    from homeassistant.components import webhook as ha_webhook
    from homeassistant.util.aiohttp import MockRequest

    from custom_components.infocaller import ratelimit
    from custom_components.infocaller.progress_state import MARKS_PER_CALL

    hass.config_entries.async_update_entry(
        entry,
        options={**entry.options, "call_progress": True, "webhook_id": WEBHOOK_ID},
    )
    await hass.async_block_till_done()  # the line reloads with its webhook
    # A call applies at most MARKS_PER_CALL distinct digits (more are
    # ignored): each report below goes to a call that still takes it.
    reports = 2 * (50 + N + max(N, 1000))
    call_ids: list[str] = []
    for index in range(reports // MARKS_PER_CALL + 1):
        response = await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": f"+3469{index:07d}", "rule_group": "Aviso"},
            blocking=True,
            return_response=True,
        )
        assert response is not None
        call_ids.append(response["call_id"])
    fired: list[float] = []
    wanted = [0]
    reached = asyncio.Event()

    def on_event(_event: Any) -> None:
        fired.append(time.perf_counter())
        if len(fired) >= wanted[0]:
            reached.set()

    hass.bus.async_listen(EVENT_CALL_PROGRESS, on_event)

    async def until(count: int) -> None:
        wanted[0] = count
        if len(fired) < count:
            reached.clear()
            await reached.wait()

    client = await hass_client_no_auth()
    counter = iter(range(10**9))

    def query() -> str:
        n = next(counter)
        call_id = call_ids[n // MARKS_PER_CALL]
        return f"event=query&call_id={call_id}&digits={n % MARKS_PER_CALL}"

    async def via_handler() -> None:
        request = MockRequest(b"", "bench", query_string=query())
        await ha_webhook.async_handle_webhook(hass, WEBHOOK_ID, request)

    async def via_http() -> None:
        answer = await client.get(f"/api/webhook/{WEBHOOK_ID}?{query()}")
        assert answer.status == 200

    figures: dict[str, Any] = {}
    with (
        patch.object(ratelimit, "RATE", 1e9),
        patch.object(ratelimit, "BURST", 1e9),
    ):
        entry.runtime_data.progress.limiter = ratelimit.RateLimiter()
        entry.runtime_data.progress.matched_limiter = ratelimit.RateLimiter()
        for name, send in (("handler", via_handler), ("http", via_http)):
            for _ in range(50):  # warm up
                await send()
            await hass.async_block_till_done()
            latencies = []
            for _ in range(N):
                await asyncio.sleep(GAP)
                before = len(fired)
                started = time.perf_counter()
                await send()
                await until(before + 1)
                latencies.append(fired[-1] - started)
            count = max(N, 1000)
            before = len(fired)
            started = time.perf_counter()
            for chunk in range(0, count, 50):
                await asyncio.gather(*(send() for _ in range(min(50, count - chunk))))
            await until(before + count)
            wall = time.perf_counter() - started
            figures[name] = {
                "latency": _percentiles(latencies),
                "events_per_s": count / wall,
            }
    return figures


def format_table(results: dict[str, Any]) -> str:
    """The report a person reads."""
    lines = [
        "Infocaller benchmark",
        f"machine: {json.dumps(results['machine'])}",
        *(
            []
            if results["machine"]["ulid_transform_compiled"]
            else [
                "note: ulid_transform has no compiled extension here (PyPI's "
                "2.2.9 wheel for Python 3.14): state writes and events are "
                "slower than in Home Assistant's images"
            ]
        ),
        f"calls per kind: {results['n']} (interleaved, {results['gap_s'] * 1000:g} ms idle gap)",
        "",
        f"{'kind':<18} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'p50/raw':>8} {'p95/raw':>8}",
    ]
    for kind, figures in results["latency"].items():
        ratio = results["ratios"].get(f"{kind}/raw")
        lines.append(
            f"{kind:<18} {figures['p50_ms']:>8.3f} {figures['p95_ms']:>8.3f} "
            f"{figures['p99_ms']:>8.3f} "
            + (
                f"{ratio['p50_ms']:>8.2f} {ratio['p95_ms']:>8.2f}"
                if ratio
                else f"{'1.00':>8} {'1.00':>8}"
            )
        )
    lines += ["", "burst of concurrent actions (distinct phones):"]
    lines += [
        f"  {b['size']:>5}: {b['accepted']}/{b['size']} accepted in {b['wall_s']:.2f} s "
        f"({b['calls_per_s']:.0f}/s), {b['connections']} connections, "
        f"peak {b['peak_concurrent_requests']} requests at once"
        + (f"; failures: {b['failures']}" if b["failures"] else "")
        + f"; blocking-call reports: {b['blocking_call_reports']}"
        for b in results["bursts"]
    ]
    setup = results["setup"]
    lines += [
        "",
        f"entry set-up: {setup['entry_setup_ms']:.1f} ms, "
        f"reload p50: {setup['entry_reload_p50_ms']:.2f} ms "
        f"(reload_floor {setup['reload_floor_p50_ms']:.2f} ms; "
        f"{setup['reloads']} of each, in turns)",
        f"records written to the real storage folder: {results['records_file_written']}",
        "",
        "call progress: webhook request -> infocaller_call_progress event",
    ]
    for name, figures in results["webhook"].items():
        lines.append(
            f"  {name:<8} p50 {figures['latency']['p50_ms']:.3f} ms, "
            f"p95 {figures['latency']['p95_ms']:.3f} ms, "
            f"{figures['events_per_s']:.0f} events/s (50 at a time)"
        )
    lines += [
        "",
        "duplicate guard: checking a call to a new number (median), by numbers "
        "called in the hour",
        *(
            f"  {int(size):>6,}: {micros:.1f} us"
            for size, micros in results["guard_check_us"].items()
        ),
    ]
    return "\n".join(lines)
