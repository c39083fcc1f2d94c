"""Device conditions: whether the last call of a line or saved call was answered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_get_device_automations,
)

from custom_components.infocaller import device_condition
from custom_components.infocaller.api import CallResult
from custom_components.infocaller.const import DOMAIN

from .conftest import (
    CHECK_EVENT,
    PLUMBER_ID,
    LineDevices,
    automation_condition,
    press_plumber,
    ran,
    report_accepted,
    setup_automations,
)

ANSWERED = "last_call_answered"
NOT_ANSWERED = "last_call_not_answered"


async def _passing(hass: HomeAssistant, service_calls: list[ServiceCall]) -> list[str]:
    """Fire ``CHECK_EVENT``; return the automations whose condition held."""
    service_calls.clear()
    hass.bus.async_fire(CHECK_EVENT)
    await hass.async_block_till_done()
    return sorted(ran(service_calls))


@pytest.mark.parametrize("device", ["line", "mum"])
async def test_each_device_lists_both_conditions(
    hass: HomeAssistant, devices: LineDevices, device: str
) -> None:
    """The line's device and a saved call's: answered, not answered."""
    device_id = getattr(devices, device)
    conditions = [
        condition
        for condition in await async_get_device_automations(
            hass, DeviceAutomationType.CONDITION, device_id
        )
        if condition["domain"] == DOMAIN
    ]
    assert conditions == [
        {
            "condition": "device",
            "device_id": device_id,
            "domain": DOMAIN,
            "type": condition_type,
            "metadata": {},
        }
        for condition_type in ("last_call_answered", "last_call_not_answered")
    ]


async def test_no_conditions_without_the_status_sensor(
    hass: HomeAssistant, devices: LineDevices
) -> None:
    """A device whose sensor is gone from the registry offers none."""
    registry = er.async_get(hass)
    registry.async_remove("sensor.call_mama_last_result")
    assert await device_condition.async_get_conditions(hass, devices.mum) == []


async def test_last_call_answered_or_not(
    hass: HomeAssistant,
    devices: LineDevices,
    mock_infocaller: MagicMock,
    client: Any,
    freezer: FrozenDateTimeFactory,
    service_calls: list[ServiceCall],
) -> None:
    """Queued is neither; answered by a real report; not answered when inferred."""
    await setup_automations(
        hass,
        {
            "line_answered": automation_condition(devices.line, ANSWERED),
            "line_not_answered": automation_condition(devices.line, NOT_ANSWERED),
            "plumber_answered": automation_condition(devices.plumber, ANSWERED),
            "plumber_not_answered": automation_condition(devices.plumber, NOT_ANSWERED),
            "mum_answered": automation_condition(devices.mum, ANSWERED),
            "mum_not_answered": automation_condition(devices.mum, NOT_ANSWERED),
        },
    )
    assert await _passing(hass, service_calls) == []
    await press_plumber(hass, mock_infocaller, "4711")
    assert await _passing(hass, service_calls) == []  # queued
    await report_accepted(client, event="query", call_id="4711", digits="7")
    assert await _passing(hass, service_calls) == ["line_answered", "plumber_answered"]
    # An action's call that nobody answers: the line's last call now.
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id="4712"
    )
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34 699 000 000", "rule_group": "Aviso", "max_wait": 1},
        blocking=True,
    )
    freezer.tick(timedelta(minutes=1, seconds=91))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert await _passing(hass, service_calls) == [
        "line_not_answered",
        "plumber_answered",
    ]


async def test_a_removed_saved_call_condition_is_invalid(
    hass: HomeAssistant, line: MockConfigEntry, devices: LineDevices
) -> None:
    """Validation says why; a checker built anyway is simply false."""
    config = await device_condition.async_validate_condition_config(
        hass, automation_condition(devices.plumber, "last_call_answered")
    )
    assert hass.config_entries.async_remove_subentry(line, PLUMBER_ID)
    await hass.async_block_till_done()
    with pytest.raises(InvalidDeviceAutomationConfig, match="may have been removed"):
        await device_condition.async_validate_condition_config(hass, config)
    check = device_condition.async_condition_from_config(hass, config)
    assert check(hass, {}) is False
