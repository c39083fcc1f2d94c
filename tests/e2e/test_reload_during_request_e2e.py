"""End to end: a reload while Infocaller takes its time to answer.

Infocaller (the simulator) answers three seconds after the request; the line
is reloaded while it waits. The call is recorded where the reloaded line
shows it (the unload waits for the answer), and the identical call right
after is refused with nothing more sent.
"""

from __future__ import annotations

import asyncio

import aiohttp
from infocaller_simulator import Simulator
import pytest

from .test_call_progress_e2e import _set_up_line
from .test_end_to_end import PREFIX, HomeAssistantProcess, _onboard

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(300)]

CALL = {"phone": "+34611222333", "rule_group": "Aviso"}


async def _issue_call(ws: aiohttp.ClientWebSocketResponse, message_id: int) -> dict:
    await ws.send_json(
        {
            "id": message_id,
            "type": "call_service",
            "domain": "infocaller",
            "service": "issue_call",
            "service_data": CALL,
            "return_response": True,
        }
    )
    while True:
        message = await ws.receive_json()
        if message.get("id") == message_id and message["type"] == "result":
            return dict(message)


async def test_a_reload_while_infocaller_answers_keeps_the_call(
    simulator: Simulator, home_assistant: HomeAssistantProcess
) -> None:
    """Reload during a 3-second answer: the new line counts the call, refuses a twin."""
    hass = home_assistant
    async with asyncio.timeout(240), aiohttp.ClientSession() as session:
        await hass.start(session)
        await _onboard(session, hass)
        entry_id = await _set_up_line(session, hass, simulator)
        assert await hass.state(session, f"sensor.{PREFIX}_accepted_calls") == "0"
        simulator.configure({"delay": 3})
        # The config flow's check of the credentials was a request too.
        before = len(simulator.requests)
        async with hass.websocket(session) as ws:
            call = asyncio.create_task(_issue_call(ws, 1))
            async with asyncio.timeout(30):
                while len(simulator.requests) == before:
                    await asyncio.sleep(0.05)
            status, _ = await hass.request(
                session, "POST", f"/api/config/config_entries/entry/{entry_id}/reload"
            )
            assert status == 200
            result = await call
            assert result["success"] is True, result
            assert result["result"]["response"]["result_key"] == "accepted"
            simulator.configure({"delay": None})
            assert await hass.state(session, f"sensor.{PREFIX}_accepted_calls") == "1"
            assert await hass.state(session, f"sensor.{PREFIX}_last_result") == (
                "accepted"
            )
            again = await _issue_call(ws, 2)
        assert again["success"] is False, again
        assert again["error"]["translation_key"] == "duplicate_call"
        assert len(simulator.requests) == before + 1
