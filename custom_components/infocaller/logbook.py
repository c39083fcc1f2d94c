"""Describe Infocaller events in the logbook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import (
    DOMAIN,
    EVENT_CALL_PROGRESS,
    EVENT_CALL_RESULT,
    EVENT_INCOMING_CALL,
    RESULT_CONNECTION_ERROR,
    RESULT_NO_ANSWER,
    RESULT_RATE_LIMITED,
)
from .language import text_language
from .matching import MATCH_CALL_ID, MATCH_NONE

# The logbook takes plain text, not translation keys: the words follow the
# language Home Assistant is set to (``text_language``).
TEXTS = {
    "en": {
        "accepted": "call to {phone} ({rule_group}) accepted, call id {call_id}",
        "refused": "call to {phone} ({rule_group}) refused: {result_text} (code {result})",
        RESULT_NO_ANSWER: "call to {phone} ({rule_group}): no answer from Infocaller, the call may have been placed",
        RESULT_CONNECTION_ERROR: "call to {phone} ({rule_group}) not sent: Infocaller could not be reached",
        RESULT_RATE_LIMITED: "call to {phone} ({rule_group}) not sent: a call limit of the line was reached",
    },
    "es": {
        "accepted": "llamada a {phone} ({rule_group}) aceptada, ID de llamada {call_id}",
        "refused": "llamada a {phone} ({rule_group}) rechazada: {result_text} (código {result})",
        RESULT_NO_ANSWER: "llamada a {phone} ({rule_group}): Infocaller no ha respondido, puede que la llamada se haya realizado",
        RESULT_CONNECTION_ERROR: "llamada a {phone} ({rule_group}) no enviada: no se ha podido conectar con Infocaller",
        RESULT_RATE_LIMITED: "llamada a {phone} ({rule_group}) no enviada: se ha alcanzado un límite de llamadas de la línea",
    },
}


#: Call progress, by stage; an unmatched report says so.
PROGRESS_TEXTS = {
    "en": {
        "answered": "call to {phone} answered",
        "forward_answered": "call to {phone}: forwarded call answered ({forward})",
        "forward_failed": "call to {phone}: forwarding failed ({forward})",
        "ended": "call to {phone} ended",
        "ended_talk": "call to {phone} ended after {talk_seconds} s",
        "acknowledged": "call to {phone} acknowledged",
        "digits": "call to {phone}: keys pressed {digits}",
        "digits_hidden": "call to {phone}: keys pressed (not shown)",
        "not_answered": "call to {phone} not answered",
        "unmatched": "call progress ({stage}) for a call this line did not place",
    },
    "es": {
        "answered": "llamada a {phone} contestada",
        "forward_answered": "llamada a {phone}: desvío contestado ({forward})",
        "forward_failed": "llamada a {phone}: desvío fallido ({forward})",
        "ended": "llamada a {phone} terminada",
        "ended_talk": "llamada a {phone} terminada tras {talk_seconds} s",
        "acknowledged": "llamada a {phone} confirmada",
        "digits": "llamada a {phone}: teclas pulsadas {digits}",
        "digits_hidden": "llamada a {phone}: teclas pulsadas (no se muestran)",
        "not_answered": "llamada a {phone} no contestada",
        "unmatched": "progreso de llamada ({stage}) de una llamada que esta línea no ha hecho",
    },
}
#: The stages as the unmatched line names them (the event entity's states).
STAGE_NAMES = {
    "en": {
        "answered": "answered",
        "forward_answered": "forwarded call answered",
        "forward_failed": "forwarding failed",
        "ended": "ended",
        "acknowledged": "acknowledged",
        "digits": "keys pressed",
        "not_answered": "not answered",
    },
    "es": {
        "answered": "contestada",
        "forward_answered": "desvío contestado",
        "forward_failed": "desvío fallido",
        "ended": "terminada",
        "acknowledged": "confirmada",
        "digits": "teclas pulsadas",
        "not_answered": "no contestada",
    },
}
#: Incoming calls, by stage: who called is the saved call's name, else the
#: number. The keys pressed are not written: they may be a PIN.
INCOMING_TEXTS = {
    "en": {
        "answered": "incoming call from {who} answered",
        "forward_answered": "incoming call from {who}: forwarded call answered",
        "forward_failed": "incoming call from {who}: forwarding failed",
        "ended": "incoming call from {who} ended",
        "ended_talk": "incoming call from {who} ended after {talk_seconds} s",
        "acknowledged": "incoming call from {who} acknowledged",
        "digits": "incoming call from {who}: keys pressed (not shown)",
    },
    "es": {
        "answered": "llamada entrante de {who} contestada",
        "forward_answered": "llamada entrante de {who}: desvío contestado",
        "forward_failed": "llamada entrante de {who}: desvío fallido",
        "ended": "llamada entrante de {who} terminada",
        "ended_talk": "llamada entrante de {who} terminada tras {talk_seconds} s",
        "acknowledged": "llamada entrante de {who} confirmada",
        "digits": "llamada entrante de {who}: teclas pulsadas (no se muestran)",
    },
}
#: Who called, when the report did not say.
UNKNOWN_CALLER = {"en": "an unknown number", "es": "un número desconocido"}
INCOMING_ICONS = {"answered": "mdi:phone-incoming"}
PROGRESS_ICONS = {
    "answered": "mdi:phone-in-talk",
    "forward_answered": "mdi:phone-forward",
    "forward_failed": "mdi:phone-cancel",
    "ended": "mdi:phone-hangup",
    "acknowledged": "mdi:phone-check",
    "digits": "mdi:dialpad",
    "not_answered": "mdi:phone-missed",
}


def _seconds(value: object, language: str) -> str:
    """Write seconds as the language does: "42", "5.5" in English, "5,5" in Spanish."""
    seconds = round(float(str(value)), 1)
    text = str(int(seconds)) if seconds.is_integer() else str(seconds)
    return text.replace(".", ",") if language == "es" else text


def describe_progress(data: dict[str, Any], language: str) -> str:
    """Return one readable line for an ``infocaller_call_progress`` event."""
    language = text_language(language)
    texts = PROGRESS_TEXTS[language]
    stage = str(data.get("stage"))
    talk_seconds = data.get("talk_seconds")
    if data.get("match") == MATCH_NONE:
        key = "unmatched"
    elif stage == "ended" and talk_seconds is not None:
        key = "ended_talk"
    else:
        key = stage if stage in texts else "unmatched"
    if key == "digits" and data.get("match") != MATCH_CALL_ID:
        # Matched by number only: maybe a PIN typed on a call to the line.
        key = "digits_hidden"
    values = {name: data.get(name) for name in ("phone", "forward", "digits")}
    return texts[key].format_map(
        values
        | {
            "stage": STAGE_NAMES[language].get(stage, stage),
            "talk_seconds": (
                None if talk_seconds is None else _seconds(talk_seconds, language)
            ),
        }
    )


def describe_incoming(data: dict[str, Any], language: str) -> str:
    """Return one readable line for an ``infocaller_incoming_call`` event."""
    language = text_language(language)
    texts = INCOMING_TEXTS[language]
    stage = str(data.get("stage"))
    talk_seconds = data.get("talk_seconds")
    key = "ended_talk" if stage == "ended" and talk_seconds is not None else stage
    who = data.get("saved_call") or data.get("caller") or UNKNOWN_CALLER[language]
    return texts.get(key, texts["answered"]).format_map(
        {
            "who": who,
            "talk_seconds": (
                None if talk_seconds is None else _seconds(talk_seconds, language)
            ),
        }
    )


#: The logbook line's icon, by outcome (the same as the last-result sensor's).
ICONS = {
    "accepted": "mdi:phone-check",
    "refused": "mdi:phone-remove",
    RESULT_NO_ANSWER: "mdi:phone-alert",
    RESULT_CONNECTION_ERROR: "mdi:phone-off",
    RESULT_RATE_LIMITED: "mdi:phone-lock",
}


def _outcome(data: dict[str, Any]) -> str:
    if data.get("result") == 0:
        return "accepted"
    if data.get("result") is not None:
        return "refused"
    if data.get("result_key") in (RESULT_CONNECTION_ERROR, RESULT_RATE_LIMITED):
        return str(data["result_key"])
    return RESULT_NO_ANSWER


def describe(data: dict[str, Any], language: str) -> str:
    """Return one readable line for an ``infocaller_call_result`` event."""
    template = TEXTS[text_language(language)][_outcome(data)]
    return template.format_map(
        {
            key: data.get(key)
            for key in ("phone", "rule_group", "call_id", "result", "result_text")
        }
    )


@callback
def _entry(message: str, icon: str) -> dict[str, str]:
    """Return one logbook line of this integration."""
    return {
        LOGBOOK_ENTRY_NAME: "Infocaller",
        LOGBOOK_ENTRY_MESSAGE: message,
        LOGBOOK_ENTRY_ICON: icon,
    }


def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the call-result event."""

    @callback
    def async_describe(event: Event) -> dict[str, str]:
        data = dict(event.data)
        return _entry(describe(data, hass.config.language), ICONS[_outcome(data)])

    @callback
    def async_describe_progress(event: Event) -> dict[str, str]:
        data = dict(event.data)
        return _entry(
            describe_progress(data, hass.config.language),
            PROGRESS_ICONS.get(str(data.get("stage")), "mdi:phone-log"),
        )

    @callback
    def async_describe_incoming(event: Event) -> dict[str, str]:
        data = dict(event.data)
        return _entry(
            describe_incoming(data, hass.config.language),
            INCOMING_ICONS.get(stage := str(data.get("stage")))
            or PROGRESS_ICONS.get(stage, "mdi:phone-incoming"),
        )

    async_describe_event(DOMAIN, EVENT_CALL_RESULT, async_describe)
    async_describe_event(DOMAIN, EVENT_INCOMING_CALL, async_describe_incoming)
    async_describe_event(DOMAIN, EVENT_CALL_PROGRESS, async_describe_progress)
