"""The button of a saved call: it places the call through the one pipeline."""

from __future__ import annotations

from unittest.mock import MagicMock

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.infocaller.api import (
    CallRequest,
    CallResult,
    InfocallerRejectedError,
)
from custom_components.infocaller.const import EVENT_CALL_RESULT

from .conftest import BUTTON


async def test_button_press(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Pressing places the saved call through the same path as the action."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id="77"
    )
    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    mock_infocaller.issue_call.assert_awaited_once_with(
        CallRequest(
            phone="+34611222333",
            rule_group="Click to Call",
            max_wait=30,
            retries=0,
            variables=(("CALLCENTER", "+34911888920"),),
        )
    )
    assert events[0].data["source"] == "button"
    assert events[0].data["call_id"] == "77"
    assert (
        hass.states.get("sensor.infocaller_34910000000_last_result").state == "accepted"
    )
    # A second press at once is a duplicate and rings nobody.
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            "button", "press", {"entity_id": BUTTON}, blocking=True
        )
    assert caught.value.translation_key == "duplicate_call"


async def test_button_press_refused(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """A refusal shows the same translated error as the action."""
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=11, result_text="Saldo insuficiente")
    )
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            "button", "press", {"entity_id": BUTTON}, blocking=True
        )
    assert caught.value.translation_key == "result_insufficient_balance"
    assert (
        hass.states.get("binary_sensor.infocaller_34910000000_line_problem").state
        == "on"
    )


@pytest.mark.parametrize("init_platform", [Platform.BUTTON], indirect=True)
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
