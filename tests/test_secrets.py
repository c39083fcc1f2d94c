"""The line password and the signature never leave the integration."""

from __future__ import annotations

from collections.abc import Callable
import json
import logging

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller.const import DOMAIN, EVENT_CALL_RESULT
from custom_components.infocaller.diagnostics import (
    async_get_config_entry_diagnostics,
)

from .conftest import FIRMA, PASSWORD, answer_json


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
    seen.append(repr(init_integration.runtime_data.caller.client))
    for text in seen:
        assert PASSWORD not in text
        assert FIRMA not in text
