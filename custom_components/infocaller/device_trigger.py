"""Device triggers: what happens to a line's calls, in the automation editor.

The line's device offers its incoming calls (optionally from one number),
the keys pressed on them, and what happened to the calls it placed
(answered, not answered, acknowledged, keys pressed, refused). A saved
call's device offers the same for the calls it placed, and "this person
called the line" (an incoming call from its number).

Each trigger type is one description (``TRIGGERS``): Home Assistant's
``event`` trigger on one of the integration's bus events, filtered by the
line (``config_entry_id``), the stage and, on a saved call's device, its
``saved_call_id``; and a check of the event's data against the trigger's
fields and its device (what equality cannot say: a report that matched no
call of ours, a refusal, the same number written another way, the keys,
one of the saved calls with the caller's number), made before the action
runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import re
from typing import Any, Final

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, Context, HassJob, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .api import Stage
from .const import (
    CONF_IDINFOCALLER,
    DOMAIN,
    EVENT_CALL_PROGRESS,
    EVENT_CALL_RESULT,
    EVENT_INCOMING_CALL,
)
from .matching import MATCH_CALL_ID, MATCH_PHONE, same_number
from .saved_call import saved_calls
from .schema import vol

CONF_CALLER: Final = "caller"
CONF_DIGITS: Final = "digits"

TRIGGER_INCOMING_CALL: Final = "incoming_call"
TRIGGER_INCOMING_DIGITS: Final = "incoming_digits"
TRIGGER_CALLED_THE_LINE: Final = "called_the_line"
TRIGGER_ANSWERED: Final = "answered"
TRIGGER_NOT_ANSWERED: Final = "not_answered"
TRIGGER_ACKNOWLEDGED: Final = "acknowledged"
TRIGGER_DIGITS: Final = "digits"
TRIGGER_REFUSED: Final = "refused"


def _phone_number(value: Any) -> str:
    """Validate a caller's number: digits, maybe ``+`` or ``00`` first."""
    text = re.sub(r"[\s().-]", "", cv.string(value))
    if text.startswith("00"):
        text = f"+{text[2:]}"
    if not re.fullmatch(r"\+?\d{3,20}", text):
        raise vol.Invalid("expected a phone number (digits, optionally +)")
    return text


def _keys(value: Any) -> str:
    """Validate keys pressed: digits, ``*`` and ``#``."""
    text = cv.string(value).strip()
    if not re.fullmatch(r"[0-9*#]{1,50}", text):
        raise vol.Invalid("expected keys of a phone keypad (0-9, * and #)")
    return text


@dataclass(frozen=True, slots=True)
class InfocallerDevice:
    """What a device is to the integration: a line, or one of its saved calls."""

    entry_id: str
    line_id: str
    #: The saved call's subentry id; None for the line's own device.
    saved_call_id: str | None


@callback
def async_infocaller_device(
    hass: HomeAssistant, device_id: str
) -> InfocallerDevice | None:
    """Return the line or saved call a device is; None if it is neither.

    The line's device has the identifier ``(DOMAIN, line id)``, a saved
    call's ``(DOMAIN, "<line id>_<subentry id>")`` (``entity.py``); a saved
    call that was removed (or a device of another integration) is none.
    """
    if (device := dr.async_get(hass).async_get(device_id)) is None:
        return None
    # Identifiers of this domain are the line's own: no need to ask the
    # device which entries it belongs to.
    for entry in hass.config_entries.async_entries(DOMAIN):
        line_id = str(entry.data[CONF_IDINFOCALLER])
        if (DOMAIN, line_id) in device.identifiers:
            return InfocallerDevice(entry.entry_id, line_id, None)
        for subentry_id in saved_calls(entry):
            if (DOMAIN, f"{line_id}_{subentry_id}") in device.identifiers:
                return InfocallerDevice(entry.entry_id, line_id, subentry_id)
    return None


def device_or_raise(
    hass: HomeAssistant,
    device_id: str,
    kind: str,
    kinds: Mapping[bool, tuple[str, ...]],
) -> InfocallerDevice:
    """Return the device a device automation is for, or say why it is none.

    ``kinds`` are the types a line's device (False) and a saved call's
    device (True) offer.
    """
    if (device := async_infocaller_device(hass, device_id)) is None:
        raise InvalidDeviceAutomationConfig(
            f"Device {device_id} is not an Infocaller line or saved call "
            "(the saved call or the line may have been removed)"
        )
    if kind not in kinds[device.saved_call_id is not None]:
        what = "a line" if device.saved_call_id is None else "a saved call"
        raise InvalidDeviceAutomationConfig(
            f"Infocaller device {device_id} is {what}, which has no '{kind}'"
        )
    return device


def _ours(
    data: Mapping[str, Any], _config: ConfigType, _device: InfocallerDevice
) -> bool:
    """Whether a progress report was about a call the line placed.

    Only a match by call id or by number says so: ``none``, or any other
    value a later version may add (an incoming call's), does not.
    """
    return data.get("match") in (MATCH_CALL_ID, MATCH_PHONE)


def _refused(
    data: Mapping[str, Any], _config: ConfigType, _device: InfocallerDevice
) -> bool:
    """Whether Infocaller answered and did not accept the call."""
    return isinstance(result := data.get("result"), int) and result != 0


def _from_caller(
    data: Mapping[str, Any], config: ConfigType, _device: InfocallerDevice
) -> bool:
    """Whether an incoming call came from the trigger's number (if it has one)."""
    if (wanted := config.get(CONF_CALLER)) is None:
        return True
    return isinstance(caller := data.get("caller"), str) and same_number(wanted, caller)


def _with_keys(data: Mapping[str, Any], config: ConfigType) -> bool:
    """Whether the keys pressed are the trigger's (if it names some).

    One final ``#`` typed to end the keys is ignored, as the blueprint does:
    ``1234#`` is ``1234``.
    """
    if (wanted := config.get(CONF_DIGITS)) is None:
        return True
    typed = data.get("digits")
    return isinstance(typed, str) and wanted in (
        typed,
        typed[:-1] if typed.endswith("#") else None,
    )


def _called_by(
    data: Mapping[str, Any], _config: ConfigType, device: InfocallerDevice
) -> bool:
    """Whether an incoming call came from the saved call's person.

    Every saved call with the caller's number (``saved_call_ids``), not
    only the first (``saved_call_id``): one person, two scripts.
    """
    ids = data.get("saved_call_ids")
    return isinstance(ids, list) and device.saved_call_id in ids


@dataclass(frozen=True, kw_only=True, slots=True)
class InfocallerTriggerDescription:
    """A trigger type: which devices offer it, the event it is, and its check."""

    key: str
    #: The bus event listened to, and the stage it must have (if any).
    event_type: str
    stage: Stage | None = None
    #: Offered by the line's device, by a saved call's device.
    on_line: bool = True
    on_saved_call: bool = True
    #: On a saved call's device, only the events that name it: the event
    #: trigger compares the event's ``saved_call_id`` and drops the other
    #: saved calls' events before anything runs.
    by_saved_call_id: bool = True
    #: The optional fields the trigger takes.
    fields: tuple[str, ...] = ()
    #: Whether an event that passed those filters fires the trigger, given
    #: its configuration and its device.
    check_fn: Callable[[Mapping[str, Any], ConfigType, InfocallerDevice], bool]


#: Every trigger type, in the order the automation editor lists them.
TRIGGERS: Final[tuple[InfocallerTriggerDescription, ...]] = (
    InfocallerTriggerDescription(
        key=TRIGGER_INCOMING_CALL,
        event_type=EVENT_INCOMING_CALL,
        stage=Stage.ANSWERED,
        on_saved_call=False,
        fields=(CONF_CALLER,),
        check_fn=_from_caller,
    ),
    InfocallerTriggerDescription(
        key=TRIGGER_INCOMING_DIGITS,
        event_type=EVENT_INCOMING_CALL,
        stage=Stage.DIGITS,
        on_saved_call=False,
        fields=(CONF_CALLER, CONF_DIGITS),
        check_fn=lambda data, config, device: (
            _from_caller(data, config, device) and _with_keys(data, config)
        ),
    ),
    InfocallerTriggerDescription(
        key=TRIGGER_ANSWERED,
        event_type=EVENT_CALL_PROGRESS,
        stage=Stage.ANSWERED,
        check_fn=_ours,
    ),
    InfocallerTriggerDescription(
        key=TRIGGER_NOT_ANSWERED,
        event_type=EVENT_CALL_PROGRESS,
        stage=Stage.NOT_ANSWERED,
        check_fn=_ours,
    ),
    InfocallerTriggerDescription(
        key=TRIGGER_ACKNOWLEDGED,
        event_type=EVENT_CALL_PROGRESS,
        stage=Stage.ACKNOWLEDGED,
        check_fn=_ours,
    ),
    InfocallerTriggerDescription(
        key=TRIGGER_DIGITS,
        event_type=EVENT_CALL_PROGRESS,
        stage=Stage.DIGITS,
        fields=(CONF_DIGITS,),
        check_fn=lambda data, config, device: (
            _ours(data, config, device) and _with_keys(data, config)
        ),
    ),
    InfocallerTriggerDescription(
        key=TRIGGER_REFUSED,
        event_type=EVENT_CALL_RESULT,
        check_fn=_refused,
    ),
    InfocallerTriggerDescription(
        key=TRIGGER_CALLED_THE_LINE,
        event_type=EVENT_INCOMING_CALL,
        stage=Stage.ANSWERED,
        on_line=False,
        by_saved_call_id=False,  # every saved call with the caller's number
        check_fn=_called_by,
    ),
)
_BY_KEY: Final = {description.key: description for description in TRIGGERS}

#: The trigger types of the line's device and of a saved call's device.
LINE_TRIGGERS: Final = tuple(d.key for d in TRIGGERS if d.on_line)
SAVED_CALL_TRIGGERS: Final = tuple(d.key for d in TRIGGERS if d.on_saved_call)
_KINDS: Final = {False: LINE_TRIGGERS, True: SAVED_CALL_TRIGGERS}

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): vol.In(list(_BY_KEY)),
        vol.Optional(CONF_CALLER): _phone_number,
        vol.Optional(CONF_DIGITS): _keys,
    }
)


async def async_validate_trigger_config(
    hass: HomeAssistant, config: ConfigType
) -> ConfigType:
    """Validate a trigger: its fields, and that its device offers it."""
    config = TRIGGER_SCHEMA(config)
    trigger_type = config[CONF_TYPE]
    device_or_raise(hass, config[CONF_DEVICE_ID], trigger_type, _KINDS)
    for field in (CONF_CALLER, CONF_DIGITS):
        if field in config and field not in _BY_KEY[trigger_type].fields:
            raise InvalidDeviceAutomationConfig(
                f"Infocaller trigger '{trigger_type}' has no '{field}' field"
            )
    return config


async def async_get_triggers(
    hass: HomeAssistant, device_id: str
) -> list[dict[str, Any]]:
    """List the triggers of a line's or a saved call's device."""
    if (device := async_infocaller_device(hass, device_id)) is None:
        return []
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DEVICE_ID: device_id,
            CONF_DOMAIN: DOMAIN,
            CONF_TYPE: trigger_type,
        }
        for trigger_type in _KINDS[device.saved_call_id is not None]
    ]


async def async_get_trigger_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """Return the optional fields: the caller's number, the keys pressed."""
    if not (fields := _BY_KEY[config[CONF_TYPE]].fields):
        return {}
    return {"extra_fields": vol.Schema({vol.Optional(field): str for field in fields})}


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for the trigger's event on the bus.

    Raises ``InvalidDeviceAutomationConfig`` when the device is no longer
    a line or saved call (removed since the automation was validated).
    """
    trigger_type = config[CONF_TYPE]
    device = device_or_raise(hass, config[CONF_DEVICE_ID], trigger_type, _KINDS)
    description = _BY_KEY[trigger_type]
    event_data: dict[str, Any] = {"config_entry_id": device.entry_id}
    if description.stage is not None:
        event_data["stage"] = description.stage.value
    if description.by_saved_call_id and device.saved_call_id is not None:
        event_data["saved_call_id"] = device.saved_call_id
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            event_trigger.CONF_EVENT_TYPE: description.event_type,
            CONF_EVENT_DATA: event_data,
        }
    )
    job = HassJob(action, f"infocaller device trigger {trigger_info}")

    @callback
    def checked_action(
        run_variables: dict[str, Any], context: Context | None = None
    ) -> None:
        """Run the action when the event passes the trigger's own check."""
        if description.check_fn(run_variables["trigger"]["event"].data, config, device):
            hass.async_run_hass_job(job, run_variables, context)

    return await event_trigger.async_attach_trigger(
        hass, event_config, checked_action, trigger_info, platform_type="device"
    )
