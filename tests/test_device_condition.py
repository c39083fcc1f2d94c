"""Device conditions: whether the last call of a line or saved call was answered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_get_device_automations,
)

from custom_components.infocaller import device_condition
from custom_components.infocaller.api import CallResult
from custom_components.infocaller.const import DOMAIN

from .conftest import LINE
from .test_device_trigger import (
    MUM_ID,
    PLUMBER_ID,
    _device_id,
    _press,
    _report,
    _saved_device,
    line,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.usefixtures("line")


def _condition(device_id: str, condition_type: str) -> dict[str, Any]:
    return {
        "condition": "device",
        "domain": DOMAIN,
        "device_id": device_id,
        "type": condition_type,
    }


async def _automations(
    hass: HomeAssistant, conditions: dict[str, dict[str, Any]]
) -> None:
    """One automation per condition (by alias), all run by the event ``check``."""
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "alias": alias,
                    "triggers": [{"trigger": "event", "event_type": "check"}],
                    "conditions": [condition],
                    "actions": [
                        {"action": "test.automation", "data": {"alias": alias}}
                    ],
                }
                for alias, condition in conditions.items()
            ]
        },
    )
    await hass.async_block_till_done()


async def _passing(hass: HomeAssistant, service_calls: list[ServiceCall]) -> list[str]:
    """Fire ``check``; return the automations whose condition held."""
    service_calls.clear()
    hass.bus.async_fire("check")
    await hass.async_block_till_done()
    return sorted(call.data["alias"] for call in service_calls if call.domain == "test")


@pytest.mark.parametrize("identifier", [LINE, f"{LINE}_{MUM_ID}"])
async def test_each_device_lists_both_conditions(
    hass: HomeAssistant, identifier: str
) -> None:
    """The line's device and a saved call's: answered, not answered."""
    device_id = _device_id(hass, identifier)
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


async def test_no_conditions_without_the_status_sensor(hass: HomeAssistant) -> None:
    """A device whose sensor is gone from the registry offers none."""
    registry = er.async_get(hass)
    registry.async_remove("sensor.call_mama_last_result")
    assert (
        await device_condition.async_get_conditions(hass, _saved_device(hass, MUM_ID))
        == []
    )


async def test_last_call_answered_or_not(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    client: Any,
    freezer: FrozenDateTimeFactory,
    service_calls: list[ServiceCall],
) -> None:
    """Queued is neither; answered by a real report; not answered when inferred."""
    line_device = _device_id(hass, LINE)
    plumber = _saved_device(hass, PLUMBER_ID)
    mum = _saved_device(hass, MUM_ID)
    await _automations(
        hass,
        {
            "line_answered": _condition(line_device, "last_call_answered"),
            "line_not_answered": _condition(line_device, "last_call_not_answered"),
            "plumber_answered": _condition(plumber, "last_call_answered"),
            "plumber_not_answered": _condition(plumber, "last_call_not_answered"),
            "mum_answered": _condition(mum, "last_call_answered"),
            "mum_not_answered": _condition(mum, "last_call_not_answered"),
        },
    )
    assert await _passing(hass, service_calls) == []
    await _press(hass, mock_infocaller, "4711")
    assert await _passing(hass, service_calls) == []  # queued
    await _report(client, event="query", call_id="4711", digits="7")
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
    hass: HomeAssistant,
    line: MockConfigEntry,  # noqa: F811
) -> None:
    """Validation says why; a checker built anyway is simply false."""
    device_id = _saved_device(hass, PLUMBER_ID)
    config = await device_condition.async_validate_condition_config(
        hass, _condition(device_id, "last_call_answered")
    )
    assert hass.config_entries.async_remove_subentry(line, PLUMBER_ID)
    await hass.async_block_till_done()
    with pytest.raises(InvalidDeviceAutomationConfig, match="may have been removed"):
        await device_condition.async_validate_condition_config(hass, config)
    check = device_condition.async_condition_from_config(hass, config)
    assert check(hass, {}) is False
