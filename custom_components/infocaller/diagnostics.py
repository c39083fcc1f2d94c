"""Diagnostics for the Infocaller integration."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant

from .const import (
    ATTR_PHONE,
    ATTR_VARIABLES,
    CONF_CLOUDHOOK_URL,
    CONF_IDINFOCALLER,
)
from .incoming import IncomingCalls
from .runtime import InfocallerConfigEntry

TO_REDACT = {
    CONF_PASSWORD,
    CONF_IDINFOCALLER,
    ATTR_PHONE,
    "firma",
    CONF_WEBHOOK_ID,
    CONF_CLOUDHOOK_URL,
    "title",
    "unique_id",
    # The keys a person pressed: possibly a PIN.
    "digits",
    # Who called the line (incoming calls), and the line's number called.
    "caller",
    "called",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: InfocallerConfigEntry
) -> dict[str, Any]:
    """Return the configuration and the last results, secrets redacted."""
    runtime = entry.runtime_data
    client = runtime.pipeline.client
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
            "endpoint": client.endpoint,
            "request_format": client.request_format.value,
            "time_zone": str(client.time_zone),
        },
        "line_problem": runtime.records.line_problem,
        "guard": runtime.pipeline.guard.as_dict(),
        "call_progress": {
            "enabled": runtime.progress.enabled,
            "followed_calls": len(runtime.progress.tracked),
            "finished_call_ids": len(runtime.progress.finished_ids),
            "kept_reports": len(runtime.progress.pending),
            "invalid_requests": runtime.progress.invalid_reports,
            "unmatched_reports": runtime.progress.unmatched_reports,
            "dropped_values": runtime.progress.dropped_values,
            "dropped_requests": (
                runtime.progress.limiter.dropped
                + runtime.progress.matched_limiter.dropped
            ),
            "learned": runtime.progress.facts.as_dict(),
        },
        "incoming_calls": _incoming_calls(runtime.progress.incoming),
        "saved_calls": [
            _redact_saved_call({"name": saved.name, **saved.data})
            for saved in runtime.saved_calls.values()
        ],
        "records": async_redact_data(runtime.records.as_dict(), TO_REDACT),
    }


def _redact_saved_call(data: dict[str, Any]) -> dict[str, Any]:
    """Redact a saved call; its variables keep their names, not their values.

    Values are the user's data (a call-centre number, a message), so none
    is shown, whatever its name.
    """
    redacted = async_redact_data(data, TO_REDACT)
    if isinstance(variables := data.get(ATTR_VARIABLES), dict):
        redacted[ATTR_VARIABLES] = dict.fromkeys(variables, "**REDACTED**")
    return redacted


def _incoming_calls(incoming: IncomingCalls) -> dict[str, Any]:
    """Count the incoming calls; the last event with who and the keys redacted."""
    last = incoming.last
    return {
        "reports": incoming.reports,
        "calls_remembered": len({id(call) for call in incoming.calls.values()}),
        "digits_dropped": incoming.digits_budget.dropped,
        "last": None
        if last is None
        else async_redact_data(
            {key: value for key, value in last.items() if key != "config_entry_id"},
            TO_REDACT,
        ),
    }
