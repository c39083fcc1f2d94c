"""The notify entity of a saved call: the message goes into a variable."""

from __future__ import annotations

from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller.const import EVENT_CALL_RESULT

from .conftest import NOTIFY


async def test_notify_send_message(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """The message and title go into the message variable (and _TITLE)."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    await hass.services.async_call(
        "notify",
        "send_message",
        {
            "entity_id": NOTIFY,
            "message": 'Alarma en casa: <cocina> & "salón"',
            "title": "¡Alarma!",
        },
        blocking=True,
    )
    (request,), _ = mock_infocaller.issue_call.call_args
    assert request.phone == "+34622333444"
    assert request.variables == (
        ("MENSAJE", 'Alarma en casa: <cocina> & "salón"'),
        ("MENSAJE_TITLE", "¡Alarma!"),
    )
    assert events[0].data["source"] == "notify"

    # Without a title only the message is sent; a bad message is refused.
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": NOTIFY, "message": "Otra"},
        blocking=True,
    )
    (request,), _ = mock_infocaller.issue_call.call_args
    assert request.variables == (("MENSAJE", "Otra"),)
    assert mock_infocaller.issue_call.await_count == 2
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": NOTIFY, "message": "x" * 1001},
            blocking=True,
        )
    assert caught.value.translation_key == "invalid_variable_value"
