"""A real Home Assistant killed right after an accepted call (SIGKILL).

Nothing is written at stop: what the restarted Home Assistant finds is what
was on disk at the kill. The guard's entry was written before the request
left, so the identical call is refused as a duplicate and nothing more
reaches the simulator. The call's record is appended to the records'
journal in the moments after the answer, without the action waiting for it
(a crash within those moments can lose the record, never the guard's
entry): the kill comes once that line is on disk, and ``accepted_calls``
keeps the call.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from infocaller_simulator import DEMO_LINE, DEMO_PASSWORD, Simulator
import pytest

from .test_end_to_end import PREFIX, HomeAssistantProcess, _call, _onboard

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(400)]


async def _wait_for(path: Path, text: str) -> None:
    """Wait until Home Assistant has written ``text`` (no spaces) to ``path``."""
    for _ in range(150):
        if path.exists() and text in path.read_text().replace(" ", ""):
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"{text} not in {path}: {path.read_text() if path.exists() else None}")


async def _flow(
    hass: HomeAssistantProcess,
    session: aiohttp.ClientSession,
    kind: str,
    handler: str,
    *steps: dict[str, object],
) -> dict[str, object]:
    status, flow = await hass.request(
        session,
        "POST",
        f"/api/config/config_entries/{kind}",
        json={"handler": handler},
    )
    assert status == 200, flow
    for step in steps:
        status, flow = await hass.request(
            session,
            "POST",
            f"/api/config/config_entries/{kind}/{flow['flow_id']}",
            json=step,
        )
        assert status == 200, flow
    return flow


async def test_a_kill_after_an_accepted_call_does_not_ring_again(
    simulator: Simulator, home_assistant: HomeAssistantProcess
) -> None:
    """SIGKILL right after the action returns; restart; the repeat is refused."""
    hass = home_assistant
    storage = hass.config / ".storage"
    async with asyncio.timeout(360), aiohttp.ClientSession() as session:
        await hass.start(session)
        await _onboard(session, hass)
        result = await _flow(
            hass,
            session,
            "flow",
            "infocaller",
            {
                "idinfocaller": DEMO_LINE,
                "password": DEMO_PASSWORD,
                "advanced": {"endpoint": simulator.url},
            },
        )
        assert result["type"] == "create_entry", result
        entry_id = result["result"]["entry_id"]  # type: ignore[index]
        # A repeat window longer than a restart takes on a slow machine.
        result = await _flow(
            hass,
            session,
            "options/flow",
            entry_id,
            {"next_step_id": "defaults"},
            {
                "max_wait": 5,
                "retries": 0,
                "request_format": "json",
                "time_zone": "Europe/Madrid",
                "repeat_window": 3600,
                "max_calls_per_number": 10,
                "max_calls_per_day": 0,
            },
        )
        assert result["type"] == "create_entry", result
        # What is not this integration's must be on disk before the kill:
        # the line itself and the login.
        await _wait_for(storage / "core.config_entries", '"repeat_window":3600')
        await _wait_for(storage / "auth", '"token_type":"normal"')

        status, body = await _call(session, hass)
        assert status == 200, body
        assert body["service_response"]["result_key"] == "accepted"
        sent = len(simulator.requests)
        await _wait_for(
            storage / f"infocaller.{entry_id}.journal",
            body["service_response"]["call_id"],
        )
        assert hass.process is not None
        hass.process.kill()
        await hass.process.wait()

        await hass.start(session)
        assert await hass.state(session, f"sensor.{PREFIX}_accepted_calls") == "1"
        assert await hass.state(session, f"sensor.{PREFIX}_last_result") == "accepted"
        async with session.ws_connect(f"{hass.url}/api/websocket") as ws:
            assert (await ws.receive_json())["type"] == "auth_required"
            await ws.send_json(
                {"type": "auth", "access_token": hass.headers["Authorization"][7:]}
            )
            assert (await ws.receive_json())["type"] == "auth_ok"
            await ws.send_json(
                {
                    "id": 1,
                    "type": "call_service",
                    "domain": "infocaller",
                    "service": "issue_call",
                    "service_data": {"phone": "+34611222333", "rule_group": "Aviso"},
                }
            )
            error = (await ws.receive_json())["error"]
        assert error["translation_key"] == "duplicate_call"
        assert "identical call to +34611222333" in error["message"]
        assert len(simulator.requests) == sent
