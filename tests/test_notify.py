"""The notify entity of a saved call: the message goes into a variable."""

from __future__ import annotations

from unittest.mock import MagicMock

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

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


@pytest.mark.parametrize("init_platform", [Platform.NOTIFY], indirect=True)
async def test_entities(
    hass: HomeAssistant,
    init_platform: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    platform_snapshot: SnapshotAssertion,
) -> None:
    """The platform's entities: registry entries and states, after two calls."""
    await snapshot_platform(
        hass, entity_registry, platform_snapshot, init_platform.entry_id
    )
