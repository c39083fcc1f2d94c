"""The ``infocaller.issue_call`` action."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError

from .caller import CallRecord, InfocallerConfigEntry
from .const import (
    ATTR_MAX_WAIT,
    ATTR_PHONE,
    ATTR_RETRIES,
    ATTR_RULE_GROUP,
    ATTR_SCHEDULE,
    ATTR_VARIABLES,
    DOMAIN,
    SERVICE_ISSUE_CALL,
    Source,
)
from .schema import vol

ATTR_CONFIG_ENTRY_ID = "config_entry_id"

# Types and ranges are checked by the caller's validation, so that every
# mistake gets a translated message that names the field.
ISSUE_CALL_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): str,
        vol.Optional(ATTR_PHONE): vol.Any(str, int, None),
        vol.Optional(ATTR_RULE_GROUP): vol.Any(str, int, None),
        vol.Optional(ATTR_SCHEDULE): object,
        vol.Optional(ATTR_MAX_WAIT): object,
        vol.Optional(ATTR_RETRIES): object,
        vol.Optional(ATTR_VARIABLES): object,
    }
)


@callback
def async_get_loaded_entry(
    hass: HomeAssistant, entry_id: str | None
) -> InfocallerConfigEntry:
    """Return the entry an action names, or the only loaded one."""
    if entry_id is None:
        loaded = [
            entry
            for entry in hass.config_entries.async_entries(DOMAIN)
            if entry.state is ConfigEntryState.LOADED
        ]
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
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry


RESPONSE_FIELDS = (
    "call_id",
    "result",
    "result_key",
    "result_text",
    "phone",
    "scheduled_for",
)


def response_data(record: CallRecord) -> dict[str, Any]:
    """Return an action's response: plain JSON-safe values."""
    event = record.event_data()
    return {key: event[key] for key in RESPONSE_FIELDS}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""

    async def _issue_call(call: ServiceCall) -> ServiceResponse:
        entry = async_get_loaded_entry(hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
        record = await entry.runtime_data.async_call(call.data, Source.ACTION)
        return response_data(record) if call.return_response else None

    hass.services.async_register(
        DOMAIN,
        SERVICE_ISSUE_CALL,
        _issue_call,
        schema=ISSUE_CALL_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
