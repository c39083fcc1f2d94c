"""Device conditions: whether the last call was answered.

On the line's device the last followed call (the *Last call status*
sensor's state), on a saved call's device that saved call's last call (the
``status`` of its *Last result* sensor): "answered" is any status that
says someone picked up, "not answered" only the inferred ``not_answered``.
A call still queued (or placed with call progress off) is neither. The
state is read from the state machine, through the entity registry.
"""

from __future__ import annotations

from typing import Final

from homeassistant.const import CONF_CONDITION, CONF_DEVICE_ID, CONF_DOMAIN, CONF_TYPE
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import condition, entity_registry as er
from homeassistant.helpers.config_validation import DEVICE_CONDITION_BASE_SCHEMA
from homeassistant.helpers.typing import ConfigType, TemplateVarsType

from .const import DOMAIN, CallStatus
from .device_trigger import InfocallerDevice, async_infocaller_device, device_or_raise
from .schema import vol

CONDITION_LAST_CALL_ANSWERED: Final = "last_call_answered"
CONDITION_LAST_CALL_NOT_ANSWERED: Final = "last_call_not_answered"
CONDITION_TYPES: Final = (
    CONDITION_LAST_CALL_ANSWERED,
    CONDITION_LAST_CALL_NOT_ANSWERED,
)

#: The statuses of a call someone picked up (``progress.py``).
ANSWERED_STATUSES: Final = frozenset(
    {
        CallStatus.ANSWERED,
        CallStatus.FORWARD_ANSWERED,
        CallStatus.FORWARD_FAILED,
        CallStatus.ACKNOWLEDGED,
        CallStatus.DIGITS,
    }
)
_STATUSES: Final = {
    CONDITION_LAST_CALL_ANSWERED: ANSWERED_STATUSES,
    CONDITION_LAST_CALL_NOT_ANSWERED: frozenset({CallStatus.NOT_ANSWERED}),
}
_KINDS: Final = {False: CONDITION_TYPES, True: CONDITION_TYPES}

CONDITION_SCHEMA = DEVICE_CONDITION_BASE_SCHEMA.extend(
    {vol.Required(CONF_TYPE): vol.In(CONDITION_TYPES)}
)


@callback
def _status_sensor(hass: HomeAssistant, device: InfocallerDevice) -> str | None:
    """Return the entity id of the sensor that shows the device's last call."""
    if device.saved_call_id is None:
        unique_id = f"{device.line_id}_last_call_status"
    else:
        unique_id = f"{device.line_id}_{device.saved_call_id}_saved_call_result"
    return er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id)


async def async_validate_condition_config(
    hass: HomeAssistant, config: ConfigType
) -> ConfigType:
    """Validate a condition: its fields, and that its device is ours."""
    config = CONDITION_SCHEMA(config)
    device_or_raise(hass, config[CONF_DEVICE_ID], config[CONF_TYPE], _KINDS)
    return config


async def async_get_conditions(
    hass: HomeAssistant, device_id: str
) -> list[dict[str, str]]:
    """List the conditions of a line's or a saved call's device."""
    device = async_infocaller_device(hass, device_id)
    if device is None or _status_sensor(hass, device) is None:
        return []
    return [
        {
            CONF_CONDITION: "device",
            CONF_DEVICE_ID: device_id,
            CONF_DOMAIN: DOMAIN,
            CONF_TYPE: condition_type,
        }
        for condition_type in CONDITION_TYPES
    ]


@callback
def async_condition_from_config(
    hass: HomeAssistant, config: ConfigType
) -> condition.ConditionCheckerType:
    """Return a check of the device's last call's status."""
    statuses = _STATUSES[config[CONF_TYPE]]
    device = async_infocaller_device(hass, config[CONF_DEVICE_ID])
    entity_id = None if device is None else _status_sensor(hass, device)
    on_line = device is not None and device.saved_call_id is None

    def test_status(hass: HomeAssistant, variables: TemplateVarsType) -> bool:
        """Whether the last call's status is one of ``statuses``."""
        if entity_id is None or (state := hass.states.get(entity_id)) is None:
            return False
        status = state.state if on_line else state.attributes.get("status")
        return status in statuses

    return test_status
