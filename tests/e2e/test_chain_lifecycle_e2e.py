"""End to end: a chain belongs to its line, in a real Home Assistant.

A chain of three people who never answer, waiting 120 s on each: the line
is reloaded (then, in a second chain, deleted) while it waits on person 1.
Only person 1 is called, and the action ends with an error that names them.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
from infocaller_simulator import Simulator
import pytest

from .test_call_progress_e2e import EVENT_NAMES, _set_up_line, _turn_on_call_progress
from .test_end_to_end import HomeAssistantProcess, _onboard

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(300)]

_IDS = itertools.count(1)


def _called(simulator: Simulator) -> list[str]:
    """The numbers the simulator was asked to call (last nine digits), in order."""
    return [
        str(request.fields["callRequest"]["callData"]["numtelefono"])[-9:]
        for request in simulator.requests
    ]


async def _start_chain(ws: aiohttp.ClientWebSocketResponse, targets: list[str]) -> int:
    message_id = next(_IDS)
    await ws.send_json(
        {
            "id": message_id,
            "type": "call_service",
            "domain": "infocaller",
            "service": "call_until_answered",
            "service_data": {"targets": targets, "rule_group": "Alarma", "wait": 120},
            "return_response": True,
        }
    )
    return message_id


async def _result(ws: aiohttp.ClientWebSocketResponse, message_id: int) -> Any:
    while True:
        message = await ws.receive_json()
        if message.get("id") == message_id and message["type"] == "result":
            return message


async def _called_once(simulator: Simulator, count: int) -> None:
    """Wait until the simulator has taken ``count`` calls, and a little more."""
    async with asyncio.timeout(30):
        while len(simulator.requests) < count:
            await asyncio.sleep(0.1)
    await asyncio.sleep(1)  # the chain now waits on call progress


async def test_reload_or_delete_during_a_chain_calls_nobody_else(
    simulator: Simulator, home_assistant: HomeAssistantProcess
) -> None:
    """Reload, then delete, while a chain waits on person 1."""
    hass = home_assistant
    first = ["+34622100010", "+34622100020", "+34622100030"]
    second = ["+34622200010", "+34622200020", "+34622200030"]
    async with asyncio.timeout(240), aiohttp.ClientSession() as session:
        await hass.start(session)
        await _onboard(session, hass)
        entry_id = await _set_up_line(session, hass, simulator)
        urls = await _turn_on_call_progress(session, hass, entry_id)
        # Numbers ending in 0 never answer; no FIN either: each person
        # would be waited on for the whole 120 s.
        simulator.configure(
            {
                "event_urls": {EVENT_NAMES[name]: url for name, url in urls.items()},
                "unanswered_fin": False,
            }
        )
        webhook = urls["answered_url"].split("?")[0]
        async with asyncio.timeout(30):  # the line reloaded with its webhook
            while True:
                async with session.get(webhook) as answer:
                    if answer.status == 400:
                        break
                await asyncio.sleep(0.2)

        # The config flow's check of the credentials was a request too.
        before = len(simulator.requests)
        async with hass.websocket(session) as ws:
            message_id = await _start_chain(ws, first)
            await _called_once(simulator, before + 1)
            status, _ = await hass.request(
                session, "POST", f"/api/config/config_entries/entry/{entry_id}/reload"
            )
            assert status == 200
            async with asyncio.timeout(30):
                result = await _result(ws, message_id)
            assert result["success"] is False, result
            error = result["error"]
            assert error["translation_key"] == "chain_line_unloaded", error
            assert error["translation_placeholders"]["called"] == first[0]
            assert first[0] in error["message"]
            await asyncio.sleep(3)
            assert _called(simulator)[before:] == [first[0][-9:]]

            # The reloaded line works; now it is deleted during a chain.
            message_id = await _start_chain(ws, second)
            await _called_once(simulator, before + 2)
            status, _ = await hass.request(
                session, "DELETE", f"/api/config/config_entries/entry/{entry_id}"
            )
            assert status == 200
            async with asyncio.timeout(30):
                result = await _result(ws, message_id)
            assert result["success"] is False, result
            assert result["error"]["translation_key"] == "chain_line_unloaded"
            assert result["error"]["translation_placeholders"]["called"] == second[0]
            await asyncio.sleep(3)
            assert _called(simulator)[before:] == [first[0][-9:], second[0][-9:]]
