"""The line password and the signature never leave the integration."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
import logging
from typing import Any

import aiohttp
from homeassistant.const import MATCH_ALL
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller.const import DOMAIN, EVENT_CALL_RESULT
from custom_components.infocaller.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.infocaller.intent import INTENT_CALL_SAVED_CALL

from .conftest import ENDPOINT, FIRMA, LINE, PASSWORD, answer_json


async def test_password_and_signature_never_appear(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_answer: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not in debug logs, states, events, errors, responses or diagnostics."""
    caplog.set_level(logging.DEBUG)
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    seen: list[str] = []
    for index, answer in enumerate(
        (
            {"text": answer_json(0, "1")},
            {"text": answer_json(1)},
            {"text": "<html/>"},
            {"exc": TimeoutError()},
        )
    ):
        mock_answer(**answer)
        try:
            response = await hass.services.async_call(
                DOMAIN,
                "issue_call",
                {"phone": f"+3461122233{index}", "rule_group": "A"},
                blocking=True,
                return_response=True,
            )
            seen.append(json.dumps(response))
        except HomeAssistantError as err:
            seen.extend((str(err), repr(err), json.dumps(err.translation_placeholders)))
    await hass.async_block_till_done()
    assert "Sending json request" in caplog.text
    seen.append(caplog.text)
    seen.extend(json.dumps(event.data) for event in events)
    seen.extend(
        json.dumps(state.as_dict(), default=str) for state in hass.states.async_all()
    )
    seen.append(
        json.dumps(await async_get_config_entry_diagnostics(hass, init_integration))
    )
    seen.append(repr(init_integration.runtime_data.pipeline.client))
    for text in seen:
        assert PASSWORD not in text
        assert FIRMA not in text


async def test_no_secret_anywhere(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_answer: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
    hass_client_no_auth: Any,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    """Every flow, every caller, every error, with debug logging on.

    The line password, the signature and the webhook id appear in no log,
    exception, state, attribute, event, diagnostics, repair issue or stored
    file other than the config entry itself.
    """
    caplog.set_level(logging.DEBUG)
    entry = init_integration
    seen: list[str] = []
    events: list[Event] = []
    hass.bus.async_listen(MATCH_ALL, events.append)
    assert await async_setup_component(hass, "intent", {})

    def keep(err: Exception) -> None:
        seen.extend((str(err), repr(err)))
        if isinstance(err, HomeAssistantError):
            seen.append(json.dumps(err.translation_placeholders))

    async def act(domain: str, service: str, data: dict[str, Any], **kw: Any) -> Any:
        try:
            response = await hass.services.async_call(
                domain, service, data, blocking=True, **kw
            )
        except HomeAssistantError as err:
            keep(err)
            return None
        seen.append(json.dumps(response, default=str))
        return response

    # The flows: a second setup of the line (aborts), reauth, reconfigure.
    mock_answer(answer_json(4))
    flow = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    seen.append(
        repr(
            await hass.config_entries.flow.async_configure(
                flow["flow_id"],
                {
                    "idinfocaller": LINE,
                    "password": PASSWORD,
                    "advanced": {"endpoint": ENDPOINT},
                },
            )
        )
    )
    result = await entry.start_reauth_flow(hass)
    seen.append(
        repr(
            await hass.config_entries.flow.async_configure(
                result["flow_id"], {"password": PASSWORD}
            )
        )
    )
    await hass.async_block_till_done()
    result = await entry.start_reconfigure_flow(hass)
    seen.append(
        repr(
            await hass.config_entries.flow.async_configure(
                result["flow_id"],
                {
                    "idinfocaller": LINE,
                    "password": PASSWORD,
                    "advanced": {"endpoint": ENDPOINT},
                },
            )
        )
    )
    await hass.async_block_till_done()
    # Call progress on (the webhook), and a saved call.
    await hass.config.async_update(external_url="https://home.example.org")
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "call_progress"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"call_progress": True}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    webhook_id = entry.options["webhook_id"]
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "saved_call"), context={"source": "user"}
    )
    await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Vecino",
            "phone": "622333444",
            "rule_group": "A",
            "message_variable": "MSG",
        },
    )
    await hass.async_block_till_done()

    # Every caller, accepted.
    mock_answer(answer_json(0, "77"))
    await act(
        DOMAIN,
        "issue_call",
        {"phone": "611222301", "rule_group": "A"},
        return_response=True,
    )
    await act("button", "press", {"entity_id": "button.call_vecino"})
    await act(
        "notify",
        "send_message",
        {"entity_id": "notify.call_vecino_with_a_message", "message": "hola"},
    )
    mock_answer(answer_json(0, "78"))
    try:
        await intent.async_handle(
            hass, "test", INTENT_CALL_SAVED_CALL, {"name": {"value": "vecino"}}
        )
    except HomeAssistantError as err:  # a duplicate of the press: fine
        keep(err)
    # Call progress through the real webhook, and junk.
    client = await hass_client_no_auth()
    for params in ({"event": "answered", "call_id": "77"}, {"junk": "1"}):
        response = await client.get(f"/api/webhook/{webhook_id}", params=params)
        seen.append(await response.text())
    mock_answer(answer_json(0, "79"))
    chain = asyncio.create_task(
        act(
            DOMAIN,
            "call_until_answered",
            {"targets": ["633444555"], "rule_group": "A", "wait": 30},
            return_response=True,
        )
    )
    for _ in range(500):
        await asyncio.sleep(0.01)
        if "79" in entry.runtime_data.progress.tracked:
            break
    await client.get(
        f"/api/webhook/{webhook_id}", params={"event": "answered", "call_id": "79"}
    )
    assert (await chain)["answered_by"]["call_id"] == "79"

    # Every kind of error.
    for index, answer in enumerate(
        (
            {"text": answer_json(11)},
            {"text": answer_json(8)},
            {"text": "<html>maintenance</html>"},
            {"exc": TimeoutError()},
            {"exc": aiohttp.ClientConnectionError("refused")},
            {"text": answer_json(1)},
        )
    ):
        mock_answer(**answer)
        await act(
            DOMAIN, "issue_call", {"phone": f"61122240{index}", "rule_group": "A"}
        )
    # Refused credentials: the next is refused locally.
    await act(DOMAIN, "issue_call", {"phone": "611222499", "rule_group": "A"})
    await hass.async_block_till_done()

    seen.append(caplog.text)
    seen.extend(json.dumps(event.as_dict(), default=str) for event in events)
    seen.extend(
        json.dumps(state.as_dict(), default=str) for state in hass.states.async_all()
    )
    seen.append(json.dumps(await async_get_config_entry_diagnostics(hass, entry)))
    seen.extend(
        json.dumps(issue.to_json(), default=str)
        for issue in issue_registry.issues.values()
    )
    assert issue_registry.issues  # the account repair was raised
    # Our stores (records, guard) are written when the line unloads.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    stored = {
        key: json.dumps(value, default=str)
        for key, value in hass_storage.items()
        if key != "core.config_entries"
    }
    assert any(key.startswith(f"{DOMAIN}.") for key in stored), list(hass_storage)
    seen.extend(stored.values())
    assert "Handling webhook" in caplog.text  # Home Assistant's own line, hidden
    for text in seen:
        assert PASSWORD not in text
        assert FIRMA not in text
        assert webhook_id not in text
    # The one place the webhook id is kept: the config entry's options.
    assert entry.options["webhook_id"] == webhook_id
