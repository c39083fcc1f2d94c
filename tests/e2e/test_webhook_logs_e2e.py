"""End to end: the webhook id in no log line of a real Home Assistant.

A ``hass`` process logging at INFO (the integration at DEBUG) gets reports
with the line's webhook id while the options flow shows the new URLs, while
the line is loaded (and hostile queries and a malformed request line, which
Home Assistant and aiohttp log with the raw path), during a reload, with the
line disabled, during a restart from the moment the port answers, and with
the line's set-up failed, and in a run where the line is disabled from the
start. The whole log is then searched for the id.

Home Assistant starts its HTTP server (with its security filter) when the
frontend is set up, in the first stage of start-up, and the webhook
component before the integration; the integration hides ids from its
``async_setup`` on. A request in between is logged by Home Assistant with
the id: the only lines allowed to hold it are asserted exactly, and all of
them come before the integration's "hidden from now on" line. Home
Assistant does not set up an integration whose entries are all disabled: in
that run the same lines hold the id all along, and that is asserted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

import aiohttp
from infocaller_simulator import Simulator
import pytest

from .test_call_progress_e2e import _flow, _set_up_line, _turn_on_call_progress
from .test_end_to_end import HomeAssistantProcess, _onboard

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(400)]

HOSTILE = ("x=%0d%0a", "x=%3Cscript%3E", "x=../../etc/passwd")
#: The integration's line written when it starts hiding the ids.
HIDDEN_FROM_NOW_ON = "Webhook ids are hidden from the logs from now on"
RECORD_START = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)
#: What Home Assistant (and aiohttp) write with the id before the
#: integration is set up: nothing of the integration runs yet.
BEFORE_SETUP = (
    re.compile(
        r"^\S+ \S+ INFO \(MainThread\) \[homeassistant\.components\.webhook\] "
        r"Received message for unregistered webhook (?P<id>[0-9a-f]{64}) from "
        r"127\.0\.0\.1$"
    ),
    re.compile(
        r"^\S+ \S+ WARNING \(MainThread\) "
        r"\[homeassistant\.components\.http\.security_filter\] Filtered a request "
        r"with (unsafe byte|a potential harmful) query string: "
        r"/api/webhook/(?P<id>[0-9a-f]{64})\?event=answered&x=\S+$"
    ),
    re.compile(
        r"^\S+ \S+ ERROR \(MainThread\) \[aiohttp\.server\] Error handling request "
        r"from 127\.0\.0\.1\n(.*\n)*.*b'GET /api/webhook/(?P<id>[0-9a-f]{64})"
        r"\?a=\\x01 HTTP/1\.1'",
    ),
)


def _records(text: str) -> list[str]:
    """Split a Home Assistant log into records (a traceback stays with its line)."""
    records: list[str] = []
    for line in text.splitlines():
        if RECORD_START.match(line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return records


class Reporter:
    """Sends reports with a webhook id, as Infocaller and strangers would."""

    def __init__(self, hass: HomeAssistantProcess, webhook_id: str) -> None:
        """Report to ``webhook_id`` on ``hass``."""
        self.hass = hass
        self.webhook_id = webhook_id
        self.statuses: dict[str, int] = {}

    def _count(self, status: int | str) -> None:
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1

    async def once(self, session: aiohttp.ClientSession) -> None:
        """A report (GET, POST), each hostile query, a malformed request line."""
        path = f"/api/webhook/{self.webhook_id}"
        url = f"{self.hass.url}{path}"
        for method in ("GET", "POST"):
            async with session.request(
                method, url, params={"event": "answered", "call_id": "1"}
            ) as response:
                self._count(response.status)
        for query in HOSTILE:
            async with session.get(
                f"{url}?event=answered&{query}", allow_redirects=False
            ) as response:
                self._count(response.status)
        reader, writer = await asyncio.open_connection("127.0.0.1", self.hass.port)
        try:
            writer.write(f"GET {path}?a=\x01 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 10)
            self._count(f"raw {line.split(b' ')[1].decode() if line else 'none'}")
        finally:
            writer.close()

    async def until(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """Send, again and again (as soon as the port answers), until ``stop``."""
        while not stop.is_set():
            try:
                await self.once(session)
            except (aiohttp.ClientError, OSError, TimeoutError):
                self._count("refused")
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def _reporting(session: aiohttp.ClientSession, reporter: Reporter) -> Any:
    stop = asyncio.Event()
    task = asyncio.create_task(reporter.until(session, stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def _websocket(
    session: aiohttp.ClientSession, hass: HomeAssistantProcess, message: dict[str, Any]
) -> Any:
    async with hass.websocket(session) as ws:
        await ws.send_json({"id": 1, **message})
        answer = await ws.receive_json()
    assert answer["success"], answer
    return answer["result"]


async def _entry_state(
    session: aiohttp.ClientSession, hass: HomeAssistantProcess, entry_id: str
) -> str:
    status, entries = await hass.request(
        session, "GET", "/api/config/config_entries/entry"
    )
    assert status == 200, entries
    (entry,) = [entry for entry in entries if entry["entry_id"] == entry_id]
    return str(entry["state"])


async def _wait_state(
    session: aiohttp.ClientSession,
    hass: HomeAssistantProcess,
    entry_id: str,
    state: str,
) -> None:
    async with asyncio.timeout(30):
        while await _entry_state(session, hass, entry_id) != state:
            await asyncio.sleep(0.2)


async def test_webhook_id_in_no_log_line(
    simulator: Simulator, home_assistant: HomeAssistantProcess
) -> None:
    """New URLs, loaded, hostile, reload, disabled, restart, failed set-up."""
    hass = home_assistant
    configuration = hass.config / "configuration.yaml"
    # The webhook component set up by the configuration too, as with
    # default_config (cloud, mobile_app): even without this integration.
    configuration.write_text(
        configuration.read_text().replace("default: warning", "default: info")
        + "webhook:\n"
    )
    async with asyncio.timeout(360), aiohttp.ClientSession() as session:
        await hass.start(session)
        await _onboard(session, hass)
        entry_id = await _set_up_line(session, hass, simulator)

        # The options flow shows the URLs: Infocaller may call them at once.
        base = "/api/config/config_entries/options/flow"
        flow = await _flow(session, hass, base, {"handler": entry_id})
        flow = await _flow(
            session,
            hass,
            f"{base}/{flow['flow_id']}",
            {"next_step_id": "call_progress"},
        )
        flow = await _flow(
            session, hass, f"{base}/{flow['flow_id']}", {"call_progress": True}
        )
        url = flow["description_placeholders"]["answered_url"]
        webhook_id = url.split("/api/webhook/")[1].split("?", maxsplit=1)[0]
        assert re.fullmatch("[0-9a-f]{64}", webhook_id), url
        reporter = Reporter(hass, webhook_id)
        await reporter.once(session)  # not saved yet: an unregistered webhook
        result = await _flow(session, hass, f"{base}/{flow['flow_id']}", {})
        assert result["type"] == "create_entry", result
        await _wait_state(session, hass, entry_id, "loaded")

        # Loaded, then during a reload.
        for _ in range(3):
            await reporter.once(session)
        async with _reporting(session, reporter):
            status, body = await hass.request(
                session, "POST", f"/api/config/config_entries/entry/{entry_id}/reload"
            )
            assert status == 200, body
            await asyncio.sleep(1)
        await _wait_state(session, hass, entry_id, "loaded")

        # Disabled, then enabled again.
        await _websocket(
            session,
            hass,
            {
                "type": "config_entries/disable",
                "entry_id": entry_id,
                "disabled_by": "user",
            },
        )
        await _wait_state(session, hass, entry_id, "not_loaded")
        for _ in range(3):
            await reporter.once(session)
        await _websocket(
            session,
            hass,
            {
                "type": "config_entries/disable",
                "entry_id": entry_id,
                "disabled_by": None,
            },
        )
        await _wait_state(session, hass, entry_id, "loaded")

        # A restart after which the line's set-up fails (its password is
        # gone), with reports from the moment the port answers.
        await hass.stop()
        entries_file = hass.config / ".storage" / "core.config_entries"
        stored = json.loads(entries_file.read_text())
        (entry,) = [e for e in stored["data"]["entries"] if e["entry_id"] == entry_id]
        assert entry["options"]["webhook_id"] == webhook_id
        del entry["data"]["password"]
        entries_file.write_text(json.dumps(stored))
        before_restart = dict(reporter.statuses)
        async with _reporting(session, reporter):
            await hass.start(session)
            await asyncio.sleep(1)
        await _wait_state(session, hass, entry_id, "setup_error")
        for _ in range(3):
            await reporter.once(session)

        # The only line disabled, and a restart: Home Assistant does not set
        # up an integration whose entries are all disabled, so nothing of
        # ours runs in this run at all.
        await _websocket(
            session,
            hass,
            {
                "type": "config_entries/disable",
                "entry_id": entry_id,
                "disabled_by": "user",
            },
        )
        await hass.stop()
        third_run = len(hass.log.read_text())
        async with _reporting(session, reporter):
            await hass.start(session)
            await asyncio.sleep(1)
        for _ in range(3):
            await reporter.once(session)
        await hass.stop()

    during_start = {
        status: count - before_restart.get(status, 0)
        for status, count in reporter.statuses.items()
    }
    print(f"answers: {reporter.statuses}; during the restart: {during_start}")  # noqa: T201
    # Home Assistant answered each: nothing but these statuses (404: the
    # webhook component not set up yet; refused: the port not open yet).
    assert set(reporter.statuses) <= {"200", "400", "404", "raw 400", "refused"}
    assert reporter.statuses["raw 400"] >= 10, reporter.statuses

    # The process's output holds both runs; Home Assistant's own log file
    # (and the previous run's, .1) the same records again.
    output = hass.log.read_text()
    records = _records(output[:third_run])
    markers = [i for i, record in enumerate(records) if HIDDEN_FROM_NOW_ON in record]
    assert len(markers) == 2, "one per start"  # the first start and the restart
    holding = [
        (i, record)
        for i, record in enumerate(records)
        if webhook_id in record.lower() or webhook_id.upper() in record
    ]
    unloaded = _records(output[third_run:])
    assert not [record for record in unloaded if HIDDEN_FROM_NOW_ON in record]
    holding_unloaded = [
        record
        for record in unloaded
        if webhook_id in record.lower() or webhook_id.upper() in record
    ]
    for path in hass.config.glob("home-assistant.log*"):
        copies = [
            record
            for record in _records(path.read_text())
            if webhook_id in record.lower() or webhook_id.upper() in record
        ]
        assert set(copies) <= {r for _, r in holding} | set(holding_unloaded), path
    print(  # noqa: T201 - measured: what Home Assistant logged before set-up
        f"{len(holding)} log records hold the id, all before set-up: "
        f"{sorted({r.split('] ')[0].split(' [')[-1] for _, r in holding})}"
    )
    for index, record in holding:
        # Only during the restart, before the integration's async_setup ...
        assert markers[0] < index < markers[1], record
        # ... and only Home Assistant's own lines that name a request.
        match = next(
            (m for pattern in BEFORE_SETUP if (m := pattern.search(record))), None
        )
        assert match is not None, record
        assert match["id"] == webhook_id
    # Each of those lines was written after set-up too, with the id hidden.
    after = "\n".join(records[markers[1] :])
    assert "Received message for unregistered webhook **REDACTED**" in after
    assert "query string: /api/webhook/**REDACTED**?event=answered" in after
    assert "b'GET /api/webhook/**REDACTED**?a=\\x01 HTTP/1.1'" in after

    # The run with the line disabled: Home Assistant's same lines, all run
    # long, with the id (what the README says, and why).
    print(f"{len(holding_unloaded)} records hold the id with the line disabled")  # noqa: T201
    assert any(
        "Received message for unregistered webhook " + webhook_id in record
        for record in holding_unloaded
    )
    for record in holding_unloaded:
        match = next(
            (m for pattern in BEFORE_SETUP if (m := pattern.search(record))), None
        )
        assert match is not None, record


#: The README's workaround for what Home Assistant logs before (or without)
#: the integration: the logger integration's filters, set up before HTTP.
LOGGER_FILTERS = """\
  filters:
    homeassistant.components.webhook:
      - "^Received message for unregistered webhook "
    homeassistant.components.http.security_filter:
      - "/api/webhook/"
    aiohttp.server:
      - "^Error handling request from "
"""


async def test_logger_filters_hide_the_rest(
    simulator: Simulator, home_assistant: HomeAssistantProcess
) -> None:
    """With the README's logger filters, not even start-up or a disabled line."""
    hass = home_assistant
    configuration = hass.config / "configuration.yaml"
    configuration.write_text(
        configuration.read_text().replace(
            "  default: warning\n", "  default: info\n" + LOGGER_FILTERS
        )
        + "webhook:\n"
    )
    async with asyncio.timeout(300), aiohttp.ClientSession() as session:
        await hass.start(session)
        await _onboard(session, hass)
        entry_id = await _set_up_line(session, hass, simulator)
        urls = await _turn_on_call_progress(session, hass, entry_id)
        webhook_id = urls["answered_url"].split("/api/webhook/")[1].split("?")[0]
        reporter = Reporter(hass, webhook_id)
        await _wait_state(session, hass, entry_id, "loaded")
        await reporter.once(session)
        await _websocket(
            session,
            hass,
            {
                "type": "config_entries/disable",
                "entry_id": entry_id,
                "disabled_by": "user",
            },
        )
        await hass.stop()
        async with _reporting(session, reporter):
            await hass.start(session)
            await asyncio.sleep(1)
        for _ in range(3):
            await reporter.once(session)
        await hass.stop()
    assert reporter.statuses["200"] >= 3, reporter.statuses  # unregistered
    text = hass.log.read_text()
    assert webhook_id not in text.lower()
    assert webhook_id.upper() not in text
    assert "Received message for unregistered webhook" not in text
