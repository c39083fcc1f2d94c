"""Tests for the logbook description of call results."""

from __future__ import annotations

from typing import Any

from homeassistant.core import Event, HomeAssistant
import pytest

from custom_components.infocaller.const import DOMAIN, EVENT_CALL_RESULT
from custom_components.infocaller.logbook import describe

BASE = {
    "phone": "+34611222333",
    "rule_group": "Aviso",
    "result_text": "Saldo insuficiente",
}


@pytest.mark.parametrize(
    ("data", "language", "expected"),
    [
        (
            {"result": 0, "call_id": "9"},
            "en",
            "call to +34611222333 (Aviso) accepted, call id 9",
        ),
        (
            {"result": 0, "call_id": "9"},
            "es",
            "llamada a +34611222333 (Aviso) aceptada, ID de llamada 9",
        ),
        (
            {"result": 11},
            "en",
            "call to +34611222333 (Aviso) refused: Saldo insuficiente (code 11)",
        ),
        (
            {"result": 11},
            "es-ES",
            "llamada a +34611222333 (Aviso) rechazada: Saldo insuficiente (código 11)",
        ),
        (
            {"result": None, "result_key": "no_answer"},
            "en",
            "call to +34611222333 (Aviso): no answer from Infocaller, the call may have been placed",
        ),
        (
            {"result": None, "result_key": "connection_error"},
            "es",
            "llamada a +34611222333 (Aviso) no enviada: no se ha podido conectar con Infocaller",
        ),
    ],
)
def test_describe(data: dict[str, object], language: str, expected: str) -> None:
    """One readable line per event, in English or Spanish."""
    assert describe({**BASE, **data}, language) == expected


async def test_logbook_platform(hass: HomeAssistant) -> None:
    """The platform registers a describer for the integration's event."""
    from custom_components.infocaller import logbook

    described: dict[str, Any] = {}
    logbook.async_describe_events(
        hass,
        lambda domain, event_type, describer: described.update(
            {event_type: (domain, describer)}
        ),
    )
    domain, describer = described[EVENT_CALL_RESULT]
    assert domain == DOMAIN
    hass.config.language = "es"
    assert describer(
        Event(EVENT_CALL_RESULT, {**BASE, "result": 0, "call_id": "1"})
    ) == {
        "name": "Infocaller",
        "message": "llamada a +34611222333 (Aviso) aceptada, ID de llamada 1",
        "icon": "mdi:phone-check",
    }
    # Each outcome has its icon (the logbook line had none).
    for data, icon in (
        ({"result": 11}, "mdi:phone-remove"),
        ({"result": None, "result_key": "no_answer"}, "mdi:phone-alert"),
        ({"result": None, "result_key": "connection_error"}, "mdi:phone-off"),
    ):
        assert describer(Event(EVENT_CALL_RESULT, {**BASE, **data}))["icon"] == icon


PROGRESS = {"phone": "+34611222333", "match": "call_id"}


@pytest.mark.parametrize(
    ("data", "language", "expected"),
    [
        ({"stage": "answered"}, "en", "call to +34611222333 answered"),
        ({"stage": "answered"}, "es", "llamada a +34611222333 contestada"),
        (
            {"stage": "ended", "talk_seconds": 42.0},
            "en",
            "call to +34611222333 ended after 42 s",
        ),
        # Spanish writes a decimal comma (it printed "5.5 s").
        (
            {"stage": "ended", "talk_seconds": 5.5},
            "es",
            "llamada a +34611222333 terminada tras 5,5 s",
        ),
        (
            {"stage": "ended", "talk_seconds": 5.5},
            "en-GB",
            "call to +34611222333 ended after 5.5 s",
        ),
        (
            {"stage": "ended", "talk_seconds": None},
            "es",
            "llamada a +34611222333 terminada",
        ),
        (
            {"stage": "forward_failed", "forward": "622333444"},
            "es",
            "llamada a +34611222333: desvío fallido (622333444)",
        ),
        (
            {"stage": "digits", "digits": "1#"},
            "en",
            "call to +34611222333: keys pressed 1#",
        ),
        ({"stage": "not_answered"}, "es", "llamada a +34611222333 no contestada"),
        (
            {"stage": "answered", "match": "none"},
            "en",
            "call progress (answered) for a call this line did not place",
        ),
        # The stage by its name, not its key ("progreso de llamada (answered)").
        (
            {"stage": "answered", "match": "none"},
            "es-ES",
            "progreso de llamada (contestada) de una llamada que esta línea no ha hecho",
        ),
        (
            {"stage": "forward_answered", "match": "none"},
            "en",
            "call progress (forwarded call answered) for a call this line did not place",
        ),
        (
            {"stage": "hung_up", "match": "call_id"},
            "es",
            "progreso de llamada (hung_up) de una llamada que esta línea no ha hecho",
        ),
    ],
)
def test_describe_progress(
    data: dict[str, object], language: str, expected: str
) -> None:
    """One line per progress event; an unmatched report says so."""
    from custom_components.infocaller.logbook import describe_progress

    assert describe_progress({**PROGRESS, **data}, language) == expected


async def test_logbook_describes_progress(hass: HomeAssistant) -> None:
    """The progress event is described too, with an icon per stage."""
    from custom_components.infocaller import logbook
    from custom_components.infocaller.const import EVENT_CALL_PROGRESS

    described: dict[str, Any] = {}
    logbook.async_describe_events(
        hass,
        lambda domain, event_type, describer: described.update(
            {event_type: (domain, describer)}
        ),
    )
    domain, describer = described[EVENT_CALL_PROGRESS]
    assert domain == DOMAIN
    assert describer(
        Event(EVENT_CALL_PROGRESS, {**PROGRESS, "stage": "not_answered"})
    ) == {
        "name": "Infocaller",
        "message": "call to +34611222333 not answered",
        "icon": "mdi:phone-missed",
    }


@pytest.mark.parametrize(
    ("language", "match", "expected"),
    [
        ("en", "call_id", "call to +34611222333: keys pressed 4242"),
        ("en", "phone", "call to +34611222333: keys pressed (not shown)"),
        ("es", "phone", "llamada a +34611222333: teclas pulsadas (no se muestran)"),
    ],
)
def test_keys_matched_by_number_only_are_not_shown(
    language: str, match: str, expected: str
) -> None:
    """Keys matched by number only may be a PIN typed on a call to the line."""
    from custom_components.infocaller.logbook import describe_progress

    data = {"stage": "digits", "match": match, "phone": "+34611222333"}
    assert describe_progress({**data, "digits": "4242"}, language) == expected
