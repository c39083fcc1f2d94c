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
        {"name": "La vecina", "phone": "+34644555666", "rule_group": "Aviso"},
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
        # A Spanish tester's sentences that were not understood, and a
        # courtesy that became part of the name.
        ("es", "llama por teléfono a mamá", "Llamando a Mamá", "+34622333444"),
        ("es", "llámela a la vecina", "Llamando a La vecina", "+34644555666"),
        ("es", "llámelo al fontanero", "Llamando al fontanero", "+34611222333"),
        ("es", "llama a mamá, por favor", "Llamando a Mamá", "+34622333444"),
        (
            "es",
            "llama a mi mamá al móvil por favor",
            "Llamando a Mamá",
            "+34622333444",
        ),
        ("en", "call mama, please", "Calling Mamá", "+34622333444"),
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
        "La llamada a Mamá ha fallado. La cuenta de Infocaller"
    )


@pytest.mark.usefixtures("voice")
@pytest.mark.parametrize(
    ("language", "sentence", "expected"),
    [
        (
            "es",
            "llama al fontanero",
            "No he llamado al fontanero. No se ha vuelto a enviar: hay una "
            "llamada idéntica a +34611222333 en curso o enviada hace menos de "
            "60 segundos",
        ),
        (
            "en",
            "call el fontanero",
            "I did not call El fontanero. Not sent again: an identical call to "
            "+34611222333 is in progress or was sent less than 60 seconds ago",
        ),
    ],
)
async def test_a_refused_duplicate_is_not_called_a_failure(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    language: str,
    sentence: str,
    expected: str,
) -> None:
    """The same call again within the repeat window: refused, said as such.

    It was answered "La llamada al fontanero ha fallado: No se ha vuelto a
    enviar..." ("ha fallado" for a refusal, a capital after a colon).
    """
    mock_infocaller.issue_call.return_value = CallResult(result=0, result_text="OK")
    first = await conversation.async_converse(
        hass, sentence, None, Context(), language=language
    )
    assert first.response.response_type is intent.IntentResponseType.ACTION_DONE
    again = await conversation.async_converse(
        hass, sentence, None, Context(), language=language
    )
    assert again.response.response_type is intent.IntentResponseType.ERROR
    assert again.response.speech["plain"]["speech"].startswith(expected)
    assert mock_infocaller.issue_call.await_count == 1


@pytest.mark.usefixtures("voice")
@pytest.mark.parametrize(
    ("language", "sentence", "expected"),
    [
        (
            "es",
            "llama a mi madre al móvil, por favor",
            "No hay ninguna llamada guardada con el nombre madre",
        ),
        ("en", "call my dentist please", "There is no saved call named dentist"),
    ],
)
async def test_an_unknown_name_is_answered_without_the_words_around_it(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    language: str,
    sentence: str,
    expected: str,
) -> None:
    """The reply names what was looked for, not "mi madre al móvil"."""
    result = await conversation.async_converse(
        hass, sentence, None, Context(), language=language
    )
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert result.response.speech["plain"]["speech"] == expected
    mock_infocaller.issue_call.assert_not_awaited()
