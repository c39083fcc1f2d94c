"""Home Assistant's errors for what the client raises.

The client (``api``) classifies each failure; this module only says which
translated error the user sees for each.
"""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .api import (
    CallResult,
    Fault,
    InfocallerConnectionError,
    InfocallerError,
    InfocallerRequestError,
    Reason,
)
from .const import DOMAIN

#: The translated message of each reason a call was not sent ...
NOT_SENT_KEYS: dict[Reason, str] = {
    Reason.CONNECT_TIMEOUT: "not_sent_timeout",
    Reason.DNS: "not_sent_dns",
    Reason.TLS: "not_sent_tls",
}
#: ... and of each reason a call may have been placed without an answer.
OUTCOME_UNKNOWN_KEYS: dict[Reason, str] = {
    Reason.ANSWER_TIMEOUT: "outcome_unknown_timeout",
    Reason.CONNECTION_BROKEN: "outcome_unknown_broken",
    Reason.ANSWER_TOO_LARGE: "outcome_unknown_too_large",
    Reason.EMPTY_ANSWER: "outcome_unknown_empty",
    Reason.UNREADABLE_ANSWER: "outcome_unknown_unreadable",
}


def _details(err: InfocallerError, **placeholders: str) -> dict[str, str]:
    """Return the placeholders of a translated error: numbers, never English."""
    if err.seconds is not None:
        placeholders["seconds"] = f"{err.seconds:g}"
    if err.status is not None:
        placeholders["status"] = str(err.status)
    return placeholders


def refusal_error(result: CallResult) -> HomeAssistantError:
    """Return the translated error for a non-zero Resultado."""
    error = (
        ServiceValidationError if result.fault is Fault.INPUT else HomeAssistantError
    )
    return error(
        translation_domain=DOMAIN,
        translation_key=f"result_{result.result_key}",
        translation_placeholders={
            "code": str(result.result),
            "text": result.result_text or "-",
        },
    )


def not_sent_error(err: InfocallerConnectionError) -> HomeAssistantError:
    """Return the translated error for a call that never left."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=NOT_SENT_KEYS.get(err.reason, "cannot_connect"),
        translation_placeholders=_details(err),
    )


def not_encoded_error(err: InfocallerRequestError) -> HomeAssistantError:
    """Return the translated error for a request that could not be encoded."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="request_not_sent",
        translation_placeholders={"error": str(err)},
    )


def outcome_unknown_error(err: InfocallerError, phone: str) -> HomeAssistantError:
    """Return the translated error for a call that may have been placed."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=OUTCOME_UNKNOWN_KEYS.get(err.reason, "outcome_unknown"),
        translation_placeholders=_details(err, phone=phone),
    )
