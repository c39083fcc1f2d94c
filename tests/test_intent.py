"""The voice intent: "call the plumber" places a saved call by name."""

from __future__ import annotations

from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import intent
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller.api import (
    CallResult,
    InfocallerRejectedError,
)
from custom_components.infocaller.const import DOMAIN, EVENT_CALL_RESULT
from custom_components.infocaller.intent import INTENT_CALL_SAVED_CALL

from .conftest import MUM, add_saved_call


@pytest.mark.parametrize(
    ("language", "spoken", "expected"),
    [
        ("en", "el fontanero", "Calling El fontanero"),
        ("es", "EL FONTANERO", "Llamando al fontanero"),
        ("es", "mama", "Llamando a Mamá"),
        ("es-ES", "  Mamá ", "Llamando a Mamá"),
    ],
)
async def test_intent(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_infocaller: MagicMock,
    language: str,
    spoken: str,
    expected: str,
) -> None:
    """Names match without case or accents; the answer is in the language."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    response = await intent.async_handle(
        hass,
        "test",
        INTENT_CALL_SAVED_CALL,
        {"name": {"value": spoken}},
        language=language,
    )
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert response.speech["plain"]["speech"] == expected
    assert events[0].data["source"] == "intent"
    mock_infocaller.issue_call.assert_awaited_once()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "There is no saved call named the dentist"),
        ("es", "No hay ninguna llamada guardada con el nombre the dentist"),
    ],
)
async def test_intent_unknown_name(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_infocaller: MagicMock,
    language: str,
    expected: str,
) -> None:
    """An unknown name is said so, and nobody is called."""
    response = await intent.async_handle(
        hass,
        "test",
        INTENT_CALL_SAVED_CALL,
        {"name": {"value": "the dentist"}},
        language=language,
    )
    assert response.response_type is intent.IntentResponseType.ERROR
    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
    assert response.speech["plain"]["speech"] == expected
    mock_infocaller.issue_call.assert_not_awaited()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "The call to Mamá failed. The Infocaller account has insufficient balance (code 11",
        ),
        (
            "es",
            "La llamada a Mamá ha fallado. La cuenta de Infocaller no tiene saldo suficiente (código 11",
        ),
    ],
)
async def test_intent_refused_call(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_infocaller: MagicMock,
    language: str,
    expected: str,
) -> None:
    """A refusal is answered clearly, with the reason."""
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=11, result_text="Saldo insuficiente")
    )
    response = await intent.async_handle(
        hass,
        "test",
        INTENT_CALL_SAVED_CALL,
        {"name": {"value": "mamá"}},
        language=language,
    )
    assert response.response_type is intent.IntentResponseType.ERROR
    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert response.speech["plain"]["speech"].startswith(expected)


async def test_intent_ambiguous_across_lines(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """The same name on two lines: ask, don't guess."""
    second = MockConfigEntry(
        domain=DOMAIN,
        title="Infocaller 34920000000",
        unique_id="34920000000",
        data={
            "idinfocaller": "34920000000",
            "password": "x",
            "endpoint": "https://apicall.example.test",
        },
    )
    second.add_to_hass(hass)
    await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()
    result = await add_saved_call(hass, second, MUM)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    response = await intent.async_handle(
        hass, "test", INTENT_CALL_SAVED_CALL, {"name": {"value": "Mamá"}}, language="en"
    )
    assert response.speech["plain"]["speech"] == (
        "More than one Infocaller line has a saved call named Mamá"
    )
    # Not "una llamada guardada llamada Mamá".
    response = await intent.async_handle(
        hass, "test", INTENT_CALL_SAVED_CALL, {"name": {"value": "Mamá"}}, language="es"
    )
    assert response.speech["plain"]["speech"] == (
        "Hay más de una línea de Infocaller con una llamada guardada que se llama Mamá"
    )
    mock_infocaller.issue_call.assert_not_awaited()


@pytest.mark.usefixtures("with_saved_calls")
async def test_intent_is_described_for_llms(hass: HomeAssistant) -> None:
    """The handler has a description and a slot schema, so it can be a tool."""
    handler = next(
        h for h in intent.async_get(hass) if h.intent_type == INTENT_CALL_SAVED_CALL
    )
    assert "saved calls" in handler.description
    assert set(handler.slot_schema) == {"name"}


async def test_a_name_with_a_possessive_is_found_as_said(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """A saved call named "Mi madre" is called by "mi madre por teléfono".

    The possessive and the trailing words are only dropped when the name as
    said matches nothing.
    """
    result = await add_saved_call(
        hass,
        with_saved_calls,
        {"name": "Mi madre", "phone": "+34633444555", "rule_group": "Aviso"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_infocaller.issue_call.return_value = CallResult(result=0, result_text="OK")
    response = await intent.async_handle(
        hass,
        "test",
        INTENT_CALL_SAVED_CALL,
        {"name": {"value": "mi madre por teléfono"}},
        language="es",
    )
    assert response.speech["plain"]["speech"] == "Llamando a Mi madre"
    assert events[0].data["phone"] == "+34633444555"
