"""End to end: a real Home Assistant process against the local simulator.

Starts the simulator in this process and ``python -m homeassistant`` with a
temporary configuration, onboards a user through the REST API, adds the
integration through the config-flow REST API, places calls through
``/api/services``, and checks what the simulator received, the response, the
states, the websocket event, an XML switch and a restart. Every process it
starts is stopped, whatever happens; the whole test is bounded in time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
import hashlib
import os
from pathlib import Path
import socket
import sys
from typing import Any

import aiohttp
from infocaller_simulator import DEMO_LINE, DEMO_PASSWORD, Simulator
import pytest

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(400)]

ROOT = Path(__file__).parents[2]
START_TIMEOUT = 120
PREFIX = f"infocaller_{DEMO_LINE}"
CONFIGURATION = """\
homeassistant:
  name: Infocaller end to end
  # What Infocaller would call (call progress); here, this machine.
  external_url: http://127.0.0.1:{port}
  time_zone: Europe/Madrid
  country: ES
  unit_system: metric
  latitude: 40.4
  longitude: -3.7
  elevation: 650
  currency: EUR
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
onboarding:
websocket_api:
logger:
  default: warning
  logs:
    custom_components.infocaller: debug
"""


#: A call record's call-progress fields while call progress is off.
NO_PROGRESS = dict.fromkeys(
    ("status", "window_end", "answered_at", "ended_at", "talk_seconds", "digits")
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HomeAssistantProcess:
    """A ``hass`` process on loopback with its own configuration folder."""

    config: Path
    port: int
    log: Path
    process: asyncio.subprocess.Process | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        """Start and wait until the HTTP API answers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.pop("PYTHONPATH", None)
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "homeassistant",
                "-c",
                str(self.config),
                stdout=log,
                stderr=log,
                env=env,
            )
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                if self.process.returncode is not None:
                    pytest.fail(f"hass exited: {self.log.read_text()[-3000:]}")
                if await self._started(session):
                    return
                await asyncio.sleep(0.5)

    async def _started(self, session: aiohttp.ClientSession) -> bool:
        """Whether the API answers (and, once onboarded, start-up is over)."""
        with contextlib.suppress(aiohttp.ClientError):
            if not self.headers:
                async with session.get(f"{self.url}/api/onboarding") as response:
                    return response.status == 200
            async with session.get(
                f"{self.url}/api/config", headers=self.headers
            ) as response:
                return response.status == 200 and (
                    (await response.json()).get("state") == "RUNNING"
                )
        return False

    async def stop(self) -> None:
        """Stop gracefully (so state is saved), or kill after 60 s."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            async with asyncio.timeout(60):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    async def request(
        self, session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
    ) -> tuple[int, Any]:
        """Call the REST API; return the status and the JSON (or text)."""
        async with session.request(
            method, f"{self.url}{path}", headers=self.headers, **kwargs
        ) as response:
            try:
                return response.status, await response.json()
            except aiohttp.ContentTypeError:
                return response.status, await response.text()

    @contextlib.asynccontextmanager
    async def websocket(
        self, session: aiohttp.ClientSession
    ) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """Open the websocket API, logged in with the onboarded user's token."""
        async with session.ws_connect(f"{self.url}/api/websocket") as ws:
            assert (await ws.receive_json())["type"] == "auth_required"
            await ws.send_json(
                {"type": "auth", "access_token": self.headers["Authorization"][7:]}
            )
            assert (await ws.receive_json())["type"] == "auth_ok"
            yield ws

    async def state(self, session: aiohttp.ClientSession, entity_id: str) -> str:
        """Return an entity's state (waiting up to 30 s for it to appear)."""
        for _ in range(60):
            status, body = await self.request(
                session, "GET", f"/api/states/{entity_id}"
            )
            if status == 200:
                return str(body["state"])
            await asyncio.sleep(0.5)
        _, states = await self.request(session, "GET", "/api/states")
        entries = self.config / ".storage" / "core.config_entries"
        notable = [
            line
            for line in self.log.read_text().splitlines()
            if line.startswith("20")
            and any(word in line for word in ("ERROR", "WARNING", "CRITICAL"))
            and not any(
                noise in line for noise in ("ffmpeg", "FFmpeg", "turbojpeg", "zlib")
            )
        ]
        pytest.fail(
            f"{entity_id}: {body}; states: {[s['entity_id'] for s in states]}\n"
            f"storage: {sorted(p.name for p in (self.config / '.storage').iterdir())}\n"
            f"config entries: {entries.read_text() if entries.exists() else None}\n"
            "hass log (warnings and errors):\n" + "\n".join(notable)
        )


async def _onboard(session: aiohttp.ClientSession, hass: HomeAssistantProcess) -> None:
    client_id = f"{hass.url}/"
    status, body = await hass.request(
        session,
        "POST",
        "/api/onboarding/users",
        json={
            "client_id": client_id,
            "name": "Tester",
            "username": "tester",
            "password": "a-long-test-password",
            "language": "en",
        },
    )
    assert status == 200, body
    async with session.post(
        f"{hass.url}/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": body["auth_code"],
            "client_id": client_id,
        },
    ) as response:
        token = await response.json()
    hass.headers = {"Authorization": f"Bearer {token['access_token']}"}


async def _call(
    session: aiohttp.ClientSession, hass: HomeAssistantProcess, **data: Any
) -> tuple[int, Any]:
    return await hass.request(
        session,
        "POST",
        "/api/services/infocaller/issue_call?return_response",
        json={"phone": "+34611222333", "rule_group": "Aviso", **data},
    )


async def test_end_to_end(
    simulator: Simulator, home_assistant: HomeAssistantProcess
) -> None:
    """Set up through the UI's APIs, place calls, restart: all for real."""
    hass = home_assistant
    async with asyncio.timeout(360), aiohttp.ClientSession() as session:
        await hass.start(session)
        await _onboard(session, hass)

        # Add the line through the config-flow REST API.
        status, flow = await hass.request(
            session,
            "POST",
            "/api/config/config_entries/flow",
            json={"handler": "infocaller"},
        )
        assert status == 200, flow
        assert flow["step_id"] == "user"
        status, result = await hass.request(
            session,
            "POST",
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            json={
                "idinfocaller": DEMO_LINE,
                "password": DEMO_PASSWORD,
                "advanced": {"endpoint": simulator.url},
            },
        )
        assert status == 200, result
        assert result["type"] == "create_entry", result
        entry_id = result["result"]["entry_id"]
        (probe,) = simulator.requests
        assert probe.result == 4  # refused on its fields: nobody rang
        assert probe.idcall is None

        # Listen to the event over the websocket.
        async with hass.websocket(session) as ws:
            await ws.send_json(
                {
                    "id": 1,
                    "type": "subscribe_events",
                    "event_type": "infocaller_call_result",
                }
            )
            assert (await ws.receive_json())["success"] is True

            status, body = await _call(
                session, hass, phone="611 22 23 33", variables={"ESTADO": 2}
            )
            assert status == 200, body
            response = body["service_response"]
            received = simulator.requests[-1]
            # The response is the call record, the same shape as the event.
            assert response == {
                "time": response["time"],
                "call_id": received.idcall,
                "result": 0,
                "result_key": "accepted",
                "result_text": "Aceptada",
                "phone": "+34611222333",
                "rule_group": "Aviso",
                "scheduled_for": None,
                "source": "action",
                "saved_call": None,
                **NO_PROGRESS,
            }
            assert received.form_field == "apiCALLjson"
            request = received.fields["callRequest"]
            assert request["UserID"] == {
                "idinfocaller": DEMO_LINE,
                "firma": hashlib.md5(
                    f"{DEMO_LINE}{DEMO_PASSWORD}".encode()
                ).hexdigest(),
            }
            assert request["callData"] == {
                "numtelefono": "+34611222333",
                "gruporeglas": "Aviso",
                "EsperaMax": "5",
                "Reintentos": "0",
                "CustVars": {"CustVar": [{"VarName": "ESTADO", "VarValue": "2"}]},
            }
            async with asyncio.timeout(10):
                event = await ws.receive_json()
            assert event["event"]["data"] == {
                "config_entry_id": entry_id,
                "time": response["time"],
                "call_id": received.idcall,
                "result": 0,
                "result_key": "accepted",
                "result_text": "Aceptada",
                "phone": "+34611222333",
                "rule_group": "Aviso",
                "scheduled_for": None,
                "source": "action",
                "saved_call": None,
                "saved_call_id": None,
                **NO_PROGRESS,
            }
        assert await hass.state(session, f"sensor.{PREFIX}_last_result") == "accepted"

        # A refusal (no balance) is an error, and the sensors follow.
        simulator.configure({"force_result": 11})
        status, body = await _call(session, hass, phone="+34622333444")
        assert status >= 400, body
        # The websocket API carries the translated error (REST shows only a
        # bare 500 on older Home Assistant releases).
        async with hass.websocket(session) as ws:
            await ws.send_json(
                {
                    "id": 1,
                    "type": "call_service",
                    "domain": "infocaller",
                    "service": "issue_call",
                    "service_data": {"phone": "+34622333445", "rule_group": "Aviso"},
                }
            )
            error = (await ws.receive_json())["error"]
        assert error["translation_key"] == "result_insufficient_balance"
        assert "insufficient balance (code 11" in error["message"]
        assert (
            await hass.state(session, f"sensor.{PREFIX}_last_result")
            == "insufficient_balance"
        )
        assert await hass.state(session, f"binary_sensor.{PREFIX}_line_problem") == "on"
        simulator.configure({"force_result": None})

        # Switch the wire format to XML through the options flow.
        status, flow = await hass.request(
            session,
            "POST",
            "/api/config/config_entries/options/flow",
            json={"handler": entry_id},
        )
        assert status == 200, flow
        assert flow["type"] == "menu", flow
        status, flow = await hass.request(
            session,
            "POST",
            f"/api/config/config_entries/options/flow/{flow['flow_id']}",
            json={"next_step_id": "defaults"},
        )
        assert flow["step_id"] == "defaults", flow
        status, result = await hass.request(
            session,
            "POST",
            f"/api/config/config_entries/options/flow/{flow['flow_id']}",
            json={
                "max_wait": 7,
                "retries": 1,
                "request_format": "xml",
                "time_zone": "Europe/Madrid",
            },
        )
        assert result["type"] == "create_entry", result
        status, body = await _call(session, hass, phone="+34633444555")
        assert status == 200, body
        received = simulator.requests[-1]
        assert received.form_field == "apiCALLxml"
        assert received.fields["callRequest"]["callData"]["EsperaMax"] == "7"
        assert body["service_response"]["call_id"] == received.idcall

        before = {
            entity_id: await hass.state(session, entity_id)
            for entity_id in (
                f"sensor.{PREFIX}_last_result",
                f"sensor.{PREFIX}_last_call",
                f"sensor.{PREFIX}_accepted_calls",
                f"sensor.{PREFIX}_refused_calls",
                f"binary_sensor.{PREFIX}_line_problem",
            )
        }
        assert before[f"sensor.{PREFIX}_accepted_calls"] == "2"
        assert before[f"sensor.{PREFIX}_refused_calls"] == "2"

        # Restart: the sensors keep their state, and nothing is sent at start-up.
        # Home Assistant saves the config entries a moment after a change;
        # wait for that, so the restart tests the integration, not the timing.
        entries = hass.config / ".storage" / "core.config_entries"
        async with asyncio.timeout(30):
            while not (entries.exists() and entry_id in entries.read_text()):
                await asyncio.sleep(0.5)
        # The records are saved RECORDS_SAVE_DELAY (10 s) after the last call,
        # never while a call waits. This harness's SIGTERM stop does not reach
        # Home Assistant's final-write stage (no core.restore_state is written
        # either), so wait for the delayed save, as for the config entries.
        records = hass.config / ".storage" / f"infocaller.{entry_id}"
        async with asyncio.timeout(30):
            while not (
                records.exists() and '"accepted_calls": 2' in records.read_text()
            ):
                await asyncio.sleep(0.5)
        sent = len(simulator.requests)
        await hass.stop()
        await hass.start(session)
        after = {
            entity_id: await hass.state(session, entity_id) for entity_id in before
        }
        assert after == before
        assert len(simulator.requests) == sent
