"""The ``infocaller.issue_call`` action."""

from __future__ import annotations

from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .api import Stage
from .chain import async_call_until_answered, resolve_targets
from .const import (
    ATTR_MAX_WAIT,
    ATTR_PHONE,
    ATTR_RETRIES,
    ATTR_RULE_GROUP,
    ATTR_SCHEDULE,
    ATTR_VARIABLES,
    DEFAULT_CHAIN_WAIT,
    DEFAULT_WAIT_TIMEOUT,
    DOMAIN,
    MAX_CHAIN_ROUNDS,
    MAX_CHAIN_TARGETS,
    MAX_WAIT_LIMIT,
    RETRIES_LIMIT,
    SERVICE_CALL_UNTIL_ANSWERED,
    SERVICE_ISSUE_CALL,
    WAIT_TIMEOUT_MAX,
    WAIT_TIMEOUT_MIN,
    Source,
)
from .runtime import InfocallerConfigEntry, async_loaded_entries
from .schema import vol
from .waiting import LineUnloadedError, reached

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_WAIT_FOR = "wait_for"
ATTR_TIMEOUT = "timeout"
ATTR_TARGETS = "targets"
ATTR_WAIT = "wait"
ATTR_ROUNDS = "rounds"
ATTR_STOP_ON = "stop_on"
#: What a wait can be for: someone picked up, or the script acknowledged.
WAIT_STAGES = [Stage.ANSWERED.value, Stage.ACKNOWLEDGED.value]


def _whole_number(value: Any) -> int:
    """Accept 5, 5.0 and "5"; refuse 2.5, True and words."""
    if isinstance(value, bool):
        raise vol.Invalid("expected a whole number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int):
        return value
    raise vol.Invalid("expected a whole number")


def _ranged(maximum: int, minimum: int = 0) -> Any:
    return vol.All(_whole_number, vol.Range(min=minimum, max=maximum))


#: Types and ranges; what needs meaning (E.164, the schedule's window,
#: variable names) is checked by the pipeline for every source alike.
ISSUE_CALL_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_PHONE): cv.string,
        vol.Required(ATTR_RULE_GROUP): cv.string,
        vol.Optional(ATTR_SCHEDULE): cv.datetime,
        vol.Optional(ATTR_MAX_WAIT): _ranged(MAX_WAIT_LIMIT),
        vol.Optional(ATTR_RETRIES): _ranged(RETRIES_LIMIT),
        vol.Optional(ATTR_VARIABLES): vol.Schema(
            {cv.string: vol.Any(str, int, float, bool)}
        ),
        vol.Optional(ATTR_WAIT_FOR): vol.In(WAIT_STAGES),
        vol.Optional(ATTR_TIMEOUT, default=DEFAULT_WAIT_TIMEOUT): _ranged(
            WAIT_TIMEOUT_MAX, WAIT_TIMEOUT_MIN
        ),
    }
)

CALL_UNTIL_ANSWERED_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_TARGETS): vol.All(
            cv.ensure_list, [cv.string], vol.Length(min=1, max=MAX_CHAIN_TARGETS)
        ),
        vol.Optional(ATTR_RULE_GROUP): cv.string,
        vol.Optional(ATTR_VARIABLES, default=dict): vol.Schema(
            {cv.string: vol.Any(str, int, float, bool)}
        ),
        vol.Optional(ATTR_WAIT, default=DEFAULT_CHAIN_WAIT): _ranged(
            WAIT_TIMEOUT_MAX, WAIT_TIMEOUT_MIN
        ),
        vol.Optional(ATTR_ROUNDS, default=1): _ranged(MAX_CHAIN_ROUNDS, 1),
        vol.Optional(ATTR_STOP_ON, default=Stage.ANSWERED.value): vol.In(WAIT_STAGES),
    }
)


def _require_progress(entry: InfocallerConfigEntry, translation_key: str) -> None:
    """Refuse to wait for progress on a line that does not follow it.

    ``call_progress_off`` names the field that waits (issue_call's
    wait_for), ``chain_call_progress_off`` the action (it always waits).
    """
    if not entry.runtime_data.progress.enabled:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=translation_key,
            translation_placeholders={"title": entry.title},
        )


@callback
def async_get_loaded_entry(
    hass: HomeAssistant, entry_id: str | None
) -> InfocallerConfigEntry:
    """Return the entry an action names, or the only loaded one."""
    if entry_id is None:
        loaded = async_loaded_entries(hass)
        if len(loaded) == 1:
            return loaded[0]
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_loaded_entries" if not loaded else "entry_required",
        )
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry not in async_loaded_entries(hass):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""

    async def _issue_call(call: ServiceCall) -> ServiceResponse:
        entry = async_get_loaded_entry(hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
        runtime = entry.runtime_data
        if (wait_for := call.data.get(ATTR_WAIT_FOR)) is None:
            record = await runtime.pipeline.async_call(call.data, Source.ACTION)
            return record.as_dict() if call.return_response else None
        _require_progress(entry, "call_progress_off")
        until = Stage(wait_for)
        record = await runtime.pipeline.async_call(call.data, Source.ACTION)
        try:
            record = await runtime.progress.waiters.async_wait(
                record, until, call.data[ATTR_TIMEOUT]
            )
        except LineUnloadedError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="wait_line_unloaded",
                translation_placeholders={
                    "title": entry.title,
                    "phone": record.phone,
                    "call_id": record.call_id or "-",
                },
            ) from err
        if not call.return_response:
            return None
        return {
            **record.as_dict(),
            "answered": reached(record, Stage.ANSWERED),
            "acknowledged": reached(record, Stage.ACKNOWLEDGED),
        }

    async def _call_until_answered(call: ServiceCall) -> ServiceResponse:
        entry = async_get_loaded_entry(hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
        _require_progress(entry, "chain_call_progress_off")
        runtime = entry.runtime_data
        targets = resolve_targets(
            runtime,
            call.data[ATTR_TARGETS],
            call.data.get(ATTR_RULE_GROUP),
            call.data[ATTR_VARIABLES],
        )
        result: dict[str, Any] = await async_call_until_answered(
            runtime,
            targets,
            until=Stage(call.data[ATTR_STOP_ON]),
            wait=call.data[ATTR_WAIT],
            rounds=call.data[ATTR_ROUNDS],
        )
        return result if call.return_response else None

    hass.services.async_register(
        DOMAIN,
        SERVICE_ISSUE_CALL,
        _issue_call,
        schema=ISSUE_CALL_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CALL_UNTIL_ANSWERED,
        _call_until_answered,
        schema=CALL_UNTIL_ANSWERED_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
