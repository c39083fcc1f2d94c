"""Saved calls: subentry flows, buttons, notify entities and the voice intent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)

from custom_components.infocaller.const import DOMAIN, EVENT_CALL_RESULT
from custom_components.infocaller.intent import INTENT_CALL_SAVED_CALL

from .conftest import answer_json, sent_requests

PLUMBER = {
    "name": "El fontanero",
    "phone": "611 22 23 33",
    "rule_group": "Click to Call",
    "variables": {"CALLCENTER": "+34911888920"},
    "max_wait": 30,
}
MUM = {
    "name": "Mamá",
    "phone": "+34 622 333 444",
    "rule_group": "Aviso",
    "message_variable": "MENSAJE",
}
BUTTON = "button.call_el_fontanero"
NOTIFY = "notify.call_mama_with_a_message"


async def _add(
    hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, Any]
) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "saved_call"), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


@pytest.fixture
async def with_saved_calls(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> MockConfigEntry:
    """The line with two saved calls (one takes a message), and the intents."""
    assert await async_setup_component(hass, "intent", {})
    for data in (PLUMBER, MUM):
        result = await _add(hass, init_integration, data)
        assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return init_integration


async def test_add_saved_call(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The data is stored normalised; entities appear without a restart."""
    plumber, mum = with_saved_calls.subentries.values()
    assert plumber.title == "El fontanero"
    assert dict(plumber.data) == {
        "phone": "+34611222333",
        "rule_group": "Click to Call",
        "variables": {"CALLCENTER": "+34911888920"},
        "max_wait": 30,
    }
    assert dict(mum.data)["message_variable"] == "MENSAJE"

    button = entity_registry.async_get(BUTTON)
    assert button is not None, [e.entity_id for e in entity_registry.entities.values()]
    assert button.translation_key == "call"
    assert button.config_subentry_id == plumber.subentry_id
    assert hass.states.get(BUTTON).attributes["friendly_name"] == ("Call El fontanero")
    assert entity_registry.async_get(NOTIFY).translation_key == "call_message"
    # Only saved calls with a message variable get a notify entity.
    assert not [
        e
        for e in er.async_entries_for_config_entry(
            entity_registry, with_saved_calls.entry_id
        )
        if e.domain == "notify" and e.config_subentry_id == plumber.subentry_id
    ]


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"name": "  "}, {"name": "missing_field"}),
        ({"name": "el FONTANERÓ"}, {"name": "name_in_use"}),
        ({"phone": "12"}, {"phone": "invalid_phone"}),
        ({"rule_group": "a\x07"}, {"rule_group": "invalid_rule_group"}),
        ({"variables": ["x"]}, {"variables": "invalid_variables"}),
        ({"variables": {"MY VAR": 1}}, {"variables": "invalid_variable_name"}),
        ({"variables": {"A": {"b": 1}}}, {"variables": "invalid_variable_value"}),
        (
            {"message_variable": "MI MENSAJE"},
            {"message_variable": "invalid_message_variable"},
        ),
        (
            {"message_variable": "M" * 60},
            {"message_variable": "invalid_message_variable"},
        ),
    ],
)
async def test_add_saved_call_errors_and_recovery(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    change: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """The same rules as the action, shown on the field; then it recovers."""
    result = await hass.config_entries.subentries.async_init(
        (with_saved_calls.entry_id, "saved_call"), context={"source": SOURCE_USER}
    )
    data = {"name": "Vecino", "phone": "+34633444555", "rule_group": "Alarma", **change}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], data
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert len(with_saved_calls.subentries) == 2
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Vecino", "phone": "+34633444555", "rule_group": "Alarma"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(with_saved_calls.subentries) == 3
    assert aioclient_mock.call_count == 0  # validating never calls anyone


async def test_reconfigure_and_delete_saved_call(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Editing renames the button at once; deleting removes its entities."""
    plumber = next(iter(with_saved_calls.subentries.values()))
    result = await hass.config_entries.subentries.async_init(
        (with_saved_calls.entry_id, "saved_call"),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": plumber.subentry_id},
    )
    assert result["type"] is FlowResultType.FORM
    # Its own name is not "in use"; the phone is checked again.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**PLUMBER, "phone": "bad"}
    )
    assert result["errors"] == {"phone": "invalid_phone"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**PLUMBER, "name": "Fontanero Juan", "retries": 2}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert with_saved_calls.subentries[plumber.subentry_id].data["retries"] == 2
    state = hass.states.get(BUTTON)
    assert state.attributes["friendly_name"] == "Call Fontanero Juan"

    assert hass.config_entries.async_remove_subentry(
        with_saved_calls, plumber.subentry_id
    )
    await hass.async_block_till_done()
    assert entity_registry.async_get(BUTTON) is None
    assert hass.states.get(BUTTON) is None
    assert entity_registry.async_get(NOTIFY) is not None


async def test_button_press(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    mock_answer: Callable[..., None],
) -> None:
    """Pressing places the saved call through the same path as the action."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_answer(answer_json(0, "77"))
    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    (sent,) = sent_requests(aioclient_mock)
    data = sent["body"]["callRequest"]["callData"]
    assert data["numtelefono"] == "+34611222333"
    assert data["gruporeglas"] == "Click to Call"
    assert data["EsperaMax"] == "30"
    assert data["CustVars"]["CustVar"] == [
        {"VarName": "CALLCENTER", "VarValue": "+34911888920"}
    ]
    assert events[0].data["source"] == "button"
    assert events[0].data["call_id"] == "77"
    assert (
        hass.states.get("sensor.infocaller_34910000000_last_result").state == "accepted"
    )
    # A second press at once is a duplicate and rings nobody.
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            "button", "press", {"entity_id": BUTTON}, blocking=True
        )
    assert caught.value.translation_key == "duplicate_call"


async def test_button_press_refused(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_answer: Callable[..., None],
) -> None:
    """A refusal shows the same translated error as the action."""
    mock_answer(answer_json(11))
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            "button", "press", {"entity_id": BUTTON}, blocking=True
        )
    assert caught.value.translation_key == "result_insufficient_balance"
    assert (
        hass.states.get("binary_sensor.infocaller_34910000000_line_problem").state
        == "on"
    )


async def test_notify_send_message(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    mock_answer: Callable[..., None],
) -> None:
    """The message and title go into the message variable (and _TITLE)."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_answer(answer_json(0, "8"))
    await hass.services.async_call(
        "notify",
        "send_message",
        {
            "entity_id": NOTIFY,
            "message": 'Alarma en casa: <cocina> & "salón"',
            "title": "¡Alarma!",
        },
        blocking=True,
    )
    (sent,) = sent_requests(aioclient_mock)
    data = sent["body"]["callRequest"]["callData"]
    assert data["numtelefono"] == "+34622333444"
    assert data["CustVars"]["CustVar"] == [
        {"VarName": "MENSAJE", "VarValue": 'Alarma en casa: <cocina> & "salón"'},
        {"VarName": "MENSAJE_TITLE", "VarValue": "¡Alarma!"},
    ]
    assert events[0].data["source"] == "notify"

    # Without a title only the message is sent; a bad message is refused.
    mock_answer(answer_json(0, "9"))
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": NOTIFY, "message": "Otra"},
        blocking=True,
    )
    (sent,) = sent_requests(aioclient_mock)
    assert sent["body"]["callRequest"]["callData"]["CustVars"]["CustVar"] == [
        {"VarName": "MENSAJE", "VarValue": "Otra"}
    ]
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            "notify",
            "send_message",
            {"entity_id": NOTIFY, "message": "x" * 1001},
            blocking=True,
        )
    assert caught.value.translation_key == "invalid_variable_value"


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
    aioclient_mock: AiohttpClientMocker,
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
    assert aioclient_mock.call_count == 1


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
    aioclient_mock: AiohttpClientMocker,
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
    assert aioclient_mock.call_count == 0


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            "The call to Mamá failed: The Infocaller account has insufficient balance (code 11",
        ),
        (
            "es",
            "La llamada a Mamá ha fallado: La cuenta de Infocaller no tiene saldo suficiente (código 11",
        ),
    ],
)
async def test_intent_refused_call(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_answer: Callable[..., None],
    language: str,
    expected: str,
) -> None:
    """A refusal is answered clearly, with the reason."""
    mock_answer(answer_json(11))
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
    aioclient_mock: AiohttpClientMocker,
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
    result = await _add(hass, second, MUM)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    response = await intent.async_handle(
        hass, "test", INTENT_CALL_SAVED_CALL, {"name": {"value": "Mamá"}}, language="en"
    )
    assert response.speech["plain"]["speech"] == (
        "More than one Infocaller line has a saved call named Mamá"
    )
    assert aioclient_mock.call_count == 0


@pytest.mark.usefixtures("with_saved_calls")
async def test_intent_is_described_for_llms(hass: HomeAssistant) -> None:
    """The handler has a description and a slot schema, so it can be a tool."""
    handler = next(
        h for h in intent.async_get(hass) if h.intent_type == INTENT_CALL_SAVED_CALL
    )
    assert "saved calls" in handler.description
    assert set(handler.slot_schema) == {"name"}
