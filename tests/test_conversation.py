"""The shipped custom sentences, run through Home Assistant's default agent."""

from __future__ import annotations

from pathlib import Path
import shutil
from unittest.mock import MagicMock

from homeassistant.components import conversation
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller.api import CallResult, InfocallerRejectedError
from custom_components.infocaller.const import EVENT_CALL_RESULT

EXAMPLES = Path(__file__).parents[1] / "examples" / "custom_sentences"


@pytest.fixture
async def voice(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> MockConfigEntry:
    """The default agent with the shipped sentences, and two saved calls."""
    for language in ("en", "es"):
        target = Path(hass.config.path("custom_sentences", language))
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLES / language / "infocaller.yaml", target / "infocaller.yaml")
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})
    for data in (
        {"name": "El fontanero", "phone": "+34611222333", "rule_group": "Aviso"},
        {"name": "Mamá", "phone": "+34622333444", "rule_group": "Aviso"},
    ):
        result = await hass.config_entries.subentries.async_init(
            (setup_integration.entry_id, "saved_call"), context={"source": SOURCE_USER}
        )
        await hass.config_entries.subentries.async_configure(result["flow_id"], data)
    await hass.async_block_till_done()
    return setup_integration


@pytest.mark.usefixtures("voice")
@pytest.mark.parametrize(
    ("language", "sentence", "speech", "phone"),
    [
        ("en", "call the plumber", None, None),
        ("en", "call el fontanero", "Calling El fontanero", "+34611222333"),
        ("en", "phone mama", "Calling Mamá", "+34622333444"),
        ("es", "llama al fontanero", "Llamando al fontanero", "+34611222333"),
        ("es", "llama a mamá", "Llamando a Mamá", "+34622333444"),
        ("es", "haz una llamada a mama", "Llamando a Mamá", "+34622333444"),
        # What people in Spain say, too: possessives, "le", usted forms, and
        # how to call after the name (not part of it).
        ("es", "llama a mi mamá", "Llamando a Mamá", "+34622333444"),
        ("es", "llámale a mamá", "Llamando a Mamá", "+34622333444"),
        (
            "es",
            "hazle una llamada al fontanero",
            "Llamando al fontanero",
            "+34611222333",
        ),
        ("es", "dale un toque a mi mamá", "Llamando a Mamá", "+34622333444"),
        ("es", "llame a mamá", "Llamando a Mamá", "+34622333444"),
        (
            "es",
            "haga una llamada al fontanero",
            "Llamando al fontanero",
            "+34611222333",
        ),
        ("es", "llama a mamá por teléfono", "Llamando a Mamá", "+34622333444"),
        ("es", "llama al fontanero al móvil", "Llamando al fontanero", "+34611222333"),
        ("es", "telefonea a mi mamá al móvil", "Llamando a Mamá", "+34622333444"),
        ("en", "call my mama on the phone", "Calling Mamá", "+34622333444"),
    ],
)
async def test_sentences(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    language: str,
    sentence: str,
    speech: str | None,
    phone: str | None,
) -> None:
    """A spoken sentence places the saved call and answers in the language."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    result = await conversation.async_converse(
        hass, sentence, None, Context(), language=language
    )
    response = result.response
    if speech is None:
        # "plumber" is not a saved call: a clear answer, and nobody is called.
        assert response.response_type is intent.IntentResponseType.ERROR
        assert "no saved call named plumber" in response.speech["plain"]["speech"]
        mock_infocaller.issue_call.assert_not_awaited()
        return
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert response.speech["plain"]["speech"] == speech
    (event,) = events
    assert (event.data["phone"], event.data["source"]) == (phone, "intent")


@pytest.mark.usefixtures("voice")
async def test_refused_call_is_answered(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """Infocaller's refusal is spoken back, in Spanish here."""
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=11, result_text="Saldo insuficiente")
    )
    result = await conversation.async_converse(
        hass, "llama a mamá", None, Context(), language="es"
    )
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert result.response.speech["plain"]["speech"].startswith(
        "La llamada a Mamá ha fallado: "
    )
