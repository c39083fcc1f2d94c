"""Diagnostics for the Infocaller integration."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant

from .caller import InfocallerConfigEntry
from .const import ATTR_PHONE, CONF_IDINFOCALLER

TO_REDACT = {
    CONF_PASSWORD,
    CONF_IDINFOCALLER,
    ATTR_PHONE,
    "firma",
    "title",
    "unique_id",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: InfocallerConfigEntry
) -> dict[str, Any]:
    """Return the configuration and the last results, secrets redacted."""
    caller = entry.runtime_data
    return {
        "entry": async_redact_data(
            {
                "title": entry.title,
                "version": entry.version,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            TO_REDACT,
        ),
        "client": {
            "endpoint": caller.client.endpoint,
            "request_format": caller.client.request_format.value,
            "time_zone": caller.time_zone,
        },
        "line_problem": caller.line_problem,
        "saved_calls": [
            async_redact_data({"name": saved.name, **saved.data}, TO_REDACT)
            for saved in caller.saved_calls.values()
        ],
        "records": async_redact_data(caller.as_dict(), TO_REDACT),
    }
