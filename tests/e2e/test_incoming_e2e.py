"""End to end: the simulator's incoming call reaches a real Home Assistant.

Someone calls the line: the simulator requests the URLs Home Assistant
showed (INICIO, the keys by API QUERY, FIN) with the caller in
``[_NumLlamante]``. Home Assistant's webhook makes an incoming call of it
(``infocaller_incoming_call`` on the bus, the event entity), and an
automation from the incoming-call blueprint opens the gate only for the
allowed number with the right PIN. Needs issue 22's incoming calls.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import aiohttp
from infocaller_simulator import DEMO_LINE, Simulator
import pytest

from .test_call_progress_e2e import EVENT_NAMES, _set_up_line, _turn_on_call_progress
from .test_end_to_end import ROOT, HomeAssistantProcess, _onboard

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(300)]

PREFIX = f"infocaller_{DEMO_LINE}"
GATE = "input_boolean.gate"
EXTRA_CONFIGURATION = """\
automation: !include automations.yaml
input_boolean:
  gate:
    name: Gate
"""


async def _incoming(
    session: aiohttp.ClientSession, simulator: Simulator, **fields: Any
) -> dict[str, str]:
    """Play an incoming call through the simulator's API."""
    async with session.post(
        f"{simulator.url}/_simulator/incoming", json={"talk": 1, **fields}
    ) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def _until_ended(
    ws: aiohttp.ClientWebSocketResponse, seen: list[dict[str, Any]], call_id: str
) -> list[dict[str, Any]]:
    """Collect incoming-call events until the call ``call_id`` has ended."""
    async with asyncio.timeout(30):
        while not any(
            data["call_id"] == call_id and data["stage"] == "ended" for data in seen
        ):
            message = await ws.receive_json()
            if message.get("type") == "event":
                seen.append(message["event"]["data"])
    return [data for data in seen if data["call_id"] == call_id]


async def test_incoming_call_opens_the_gate_end_to_end(
    simulator: Simulator, home_assistant: HomeAssistantProcess
) -> None:
    """Only the allowed number with the right PIN opens the gate."""
    hass = home_assistant
    with (hass.config / "configuration.yaml").open("a") as configuration:
        configuration.write(EXTRA_CONFIGURATION)
    (hass.config / "automations.yaml").write_text("[]\n")
    blueprints = hass.config / "blueprints" / "automation" / "infocaller"
    blueprints.mkdir(parents=True)
    shutil.copy(
        ROOT / "blueprints" / "automation" / "infocaller" / "incoming_call.yaml",
        blueprints / "incoming_call.yaml",
    )
    async with asyncio.timeout(240), aiohttp.ClientSession() as session:
        await hass.start(session)
        await _onboard(session, hass)
        entry_id = await _set_up_line(session, hass, simulator)
        urls = await _turn_on_call_progress(session, hass, entry_id)
        simulator.configure(
            {
                "event_urls": {EVENT_NAMES[name]: url for name, url in urls.items()},
                "time_scale": 0.2,
            }
        )
        webhook = urls["answered_url"].split("?")[0]
        async with asyncio.timeout(30):  # the line reloads with its webhook
            while True:
                async with session.get(webhook) as answer:
                    if answer.status == 400:
                        break
                await asyncio.sleep(0.2)

        # The gate example, built from the blueprint as the UI saves it.
        status, body = await hass.request(
            session,
            "POST",
            "/api/config/automation/config/gate",
            json={
                "alias": "Gate",
                "use_blueprint": {
                    "path": "infocaller/incoming_call.yaml",
                    "input": {
                        "line": entry_id,
                        "numbers": ["+34 611 22 23 33"],
                        "pin": "4321",
                        "actions": [
                            {
                                "action": "input_boolean.turn_on",
                                "target": {"entity_id": GATE},
                            }
                        ],
                    },
                },
            },
        )
        assert status == 200, body
        assert await hass.state(session, "automation.gate") == "on"
        assert await hass.state(session, GATE) == "off"

        async with hass.websocket(session) as ws:
            await ws.send_json(
                {
                    "id": 1,
                    "type": "subscribe_events",
                    "event_type": "infocaller_incoming_call",
                }
            )
            assert (await ws.receive_json())["success"] is True
            seen: list[dict[str, Any]] = []

            # A stranger who knows the PIN, then the right number with a
            # wrong PIN: the gate stays shut (every report was handled).
            stranger = await _incoming(
                session, simulator, caller="+34699000001", digits="4321"
            )
            events = await _until_ended(ws, seen, stranger["call_id"])
            assert [data["stage"] for data in events] == ["answered", "digits", "ended"]
            wrong = await _incoming(
                session, simulator, caller="611222333", digits="1111"
            )
            await _until_ended(ws, seen, wrong["call_id"])
            assert await hass.state(session, GATE) == "off"

            # The allowed number, written another way, with the PIN.
            right = await _incoming(
                session, simulator, caller="0034611222333", digits="4321#"
            )
            events = await _until_ended(ws, seen, right["call_id"])
        assert [data["stage"] for data in events] == ["answered", "digits", "ended"]
        for data in events:
            assert data["config_entry_id"] == entry_id
            assert data["caller"] == "+34611222333", data
            # The line's number, as reported or written as E.164.
            assert data["called"] in (DEMO_LINE, f"+{DEMO_LINE}"), data
            assert data["uuid"] == right["uuid"]
        assert events[1]["digits"] == "4321#"
        assert events[2]["talk_seconds"] is not None
        async with asyncio.timeout(10):
            while await hass.state(session, GATE) != "on":
                await asyncio.sleep(0.2)
        # The line's event entity shows the last one.
        status, state = await hass.request(
            session, "GET", f"/api/states/event.{PREFIX}_incoming_call"
        )
        assert status == 200, state
        assert state["attributes"]["event_type"] == "ended"
        assert state["attributes"]["caller"] == "+34611222333"
