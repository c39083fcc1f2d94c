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
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .const import (
    ATTR_MAX_WAIT,
    ATTR_PHONE,
    ATTR_RETRIES,
    ATTR_RULE_GROUP,
    ATTR_SCHEDULE,
    ATTR_VARIABLES,
    DOMAIN,
    MAX_WAIT_LIMIT,
    RETRIES_LIMIT,
    SERVICE_ISSUE_CALL,
    Source,
)
from .runtime import InfocallerConfigEntry, async_loaded_entries
from .schema import vol

ATTR_CONFIG_ENTRY_ID = "config_entry_id"


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


def _ranged(maximum: int) -> Any:
    return vol.All(_whole_number, vol.Range(min=0, max=maximum))


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
    }
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
        record = await entry.runtime_data.caller.async_call(call.data, Source.ACTION)
        return record.as_dict() if call.return_response else None

    hass.services.async_register(
        DOMAIN,
        SERVICE_ISSUE_CALL,
        _issue_call,
        schema=ISSUE_CALL_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
