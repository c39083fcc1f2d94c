"""The webhook under hostile input: junk, bombs, floods. Home Assistant stays up."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.infocaller import ratelimit
from custom_components.infocaller.const import (
    DOMAIN,
    EVENT_CALL_PROGRESS,
)
from custom_components.infocaller.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.infocaller.progress import PENDING_REPORTS

from .conftest import WEBHOOK_ID

URL = f"/api/webhook/{WEBHOOK_ID}"
CONTENT_TYPES = [
    "",
    "application/json",
    "text/xml",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain; charset=latin-1",
    "application/octet-stream",
]
JUNK_PIECES = [
    "event",
    "eve",
    "_IdLlamada",
    "call_id",
    "called",
    "=",
    "&",
    "%",
    "%00",
    "[_UUID]",
    "<",
    ">",
    "<!DOCTYPE",
    "{",
    "}",
    '"',
    "😀",
    "\x00",
    "fin",
    "inicio",
    "query",
    "611222333",
    "4711",
]
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<lolz><eve>&lol3;</eve></lolz>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<r><eve>inicio</eve><IdLlamada>&x;</IdLlamada></r>"
)

pytestmark = pytest.mark.usefixtures("progress_integration")


def _junk(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(JUNK_PIECES) for _ in range(size))


async def test_random_requests_never_fire_events_or_raise(
    hass: HomeAssistant, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Hundreds of random requests: only 2xx/4xx, no event, no traceback."""
    rng = random.Random(20261128)  # noqa: S311 - a repeatable fuzz, not crypto
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    statuses = set()
    for _ in range(300):
        query = {_junk(rng, 2): _junk(rng, rng.randint(0, 4)) for _ in range(3)}
        # Never a known event by chance: garbage only.
        query.pop("event", None)
        query.pop("eve", None)
        body = rng.choice(
            [
                b"",
                _junk(rng, 50).encode(),
                bytes(rng.getrandbits(8) for _ in range(200)),
                BILLION_LAUGHS.encode(),
                EXTERNAL_ENTITY.encode(),
            ]
        )
        response = await client.request(
            rng.choice(["GET", "POST"]),
            URL,
            params=query,
            data=body,
            headers={"Content-Type": rng.choice(CONTENT_TYPES)},
        )
        statuses.add(response.status)
    assert statuses <= {200, 400, 413}
    # Unknown event names in a body are possible; none is a known one.
    assert [e for e in events if e.data["match"] != "none"] == []
    assert "Traceback" not in caplog.text
    assert "Error processing webhook" not in caplog.text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (BILLION_LAUGHS, 400),
        (EXTERNAL_ENTITY, 400),
        ("<r>" + "<a>" * 50_000 + "</a>" * 50_000 + "</r>", 413),
        ("x" * 1_000_000, 413),
    ],
    ids=["billion-laughs", "external-entity", "deep-nesting", "1-MB"],
)
async def test_bombs_are_refused(
    hass: HomeAssistant, client: Any, body: str, status: int
) -> None:
    """Entity expansion, external entities, deep nesting and 1 MB bodies."""
    response = await client.post(
        URL, data=body.encode(), headers={"Content-Type": "text/xml"}
    )
    assert response.status == status
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.runtime_data.progress.invalid_reports == 1


async def test_flood_is_limited_and_home_assistant_keeps_answering(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    hass_client: ClientSessionGenerator,
) -> None:
    """A flood is dropped beyond the limit and counted; the API keeps answering.

    Internal state stays bounded: forged reports attach to nothing.
    """
    from homeassistant.setup import async_setup_component

    # Home Assistant's REST API (before the HTTP server starts).
    assert await async_setup_component(hass, "api", {})
    api = await hass_client()
    client = await hass_client_no_auth()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    progress = entry.runtime_data.progress
    # Place a call whose id a flood could try to guess.
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "A"},
        blocking=True,
    )
    sent = 0
    statuses: dict[int, int] = {}
    api_latencies: list[float] = []
    stop = asyncio.Event()

    async def flooder(worker: int) -> None:
        nonlocal sent
        index = 0
        while not stop.is_set():
            index += 1
            # Forged reports for calls that were never placed, and junk.
            query = (
                {
                    "event": "answered",
                    "call_id": f"F{worker}-{index}",
                    "called": "699000000",
                }
                if index % 2
                else {"x": str(index)}
            )
            response = await client.get(URL, params=query)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            sent += 1

    async def watcher() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            response = await api.get("/api/")
            assert response.status == 200
            api_latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.1)

    started = time.perf_counter()
    # The test server runs in this process, on Home Assistant's (debug) event
    # loop, so it cannot take thousands a second here: a low limit makes the
    # flood trip it. tests/e2e floods a real Home Assistant at full speed.
    with patch.object(ratelimit, "RATE", 20.0), patch.object(ratelimit, "BURST", 40.0):
        progress.limiter = ratelimit.RateLimiter()
        tasks = [asyncio.create_task(flooder(n)) for n in range(20)]
        tasks.append(asyncio.create_task(watcher()))
        # At least 3 s and 300 requests, whatever the machine's speed.
        for _ in range(150):
            await asyncio.sleep(0.1)
            if time.perf_counter() - started >= 3 and sent >= 300:
                break
        stop.set()
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    print(f"flood: {sent} requests in {elapsed:.1f} s: {statuses}")  # noqa: T201
    assert set(statuses) <= {200, 400, 429}
    # The limit holds at any speed: at most BURST + RATE x seconds served.
    served = sent - statuses.get(429, 0)
    assert served <= 40 + 20 * elapsed + 1
    assert statuses.get(429, 0) > 0
    assert len(api_latencies) >= 3
    assert max(api_latencies) < 2.0
    # Dropped requests are counted where a user can see them.
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["call_progress"]["dropped_requests"] == statuses[429]
    # The forged reports matched nothing, and nothing grew without bound.
    assert list(entry.runtime_data.progress.tracked) == ["4711"]
    assert entry.runtime_data.progress.tracked["4711"].status == "queued"
    call_progress = diagnostics["call_progress"]
    assert call_progress["followed_calls"] == 1
    assert call_progress["finished_call_ids"] == 0
    assert call_progress["kept_reports"] <= PENDING_REPORTS
    assert call_progress["unmatched_reports"] > 0


async def test_limit_lets_a_burst_through_then_refills(
    hass: HomeAssistant, client: Any
) -> None:
    """Exactly BURST requests pass at once; after a pause, more are accepted."""
    with patch.object(ratelimit, "BURST", 20.0), patch.object(ratelimit, "RATE", 0.0):
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        entry.runtime_data.progress.limiter = ratelimit.RateLimiter()
        statuses = [
            (await client.get(URL, params={"x": "1"})).status for _ in range(30)
        ]
    assert statuses == [400] * 20 + [429] * 10
    entry.runtime_data.progress.limiter.at -= 1  # a second later, at RATE/s
    assert (await client.get(URL, params={"x": "1"})).status == 400
