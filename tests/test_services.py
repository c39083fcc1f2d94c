"""Tests for the infocaller.issue_call action and the one call path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
    AiohttpClientMockResponse,
)
from yarl import URL

from custom_components.infocaller.api import RESULT_CODES
from custom_components.infocaller.const import (
    CONF_REQUEST_FORMAT,
    CONF_TIME_ZONE,
    DOMAIN,
    EVENT_CALL_RESULT,
)

from .conftest import (
    ENDPOINT,
    FIRMA,
    LINE,
    answer_json,
    answer_xml,
    connector_error,
    sent_requests,
)

LAST_RESULT = "sensor.infocaller_34910000000_last_result"


async def _call(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "611 22 23 33", "rule_group": "Aviso", **data},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


@pytest.mark.usefixtures("init_integration")
async def test_issue_call_json(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """The happy path: normalised, signed, defaults applied, response returned."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    response = await _call(hass, variables={"ESTADO": 2, "MSG": "Hola ñ 📞"})
    assert response == {
        "call_id": "4711",
        "result": 0,
        "result_key": "accepted",
        "result_text": "Aceptada",
        "phone": "+34611222333",
        "scheduled_for": None,
    }
    (sent,) = sent_requests(aioclient_mock)
    assert sent["body"] == {
        "callRequest": {
            "UserID": {"idinfocaller": LINE, "firma": FIRMA},
            "callData": {
                "numtelefono": "+34611222333",
                "gruporeglas": "Aviso",
                "EsperaMax": "5",
                "Reintentos": "0",
                "CustVars": {
                    "CustVar": [
                        {"VarName": "ESTADO", "VarValue": "2"},
                        {"VarName": "MSG", "VarValue": "Hola ñ 📞"},
                    ]
                },
            },
        }
    }
    (event,) = events
    assert event.data == {
        "config_entry_id": hass.config_entries.async_entries(DOMAIN)[0].entry_id,
        "call_id": "4711",
        "result": 0,
        "result_key": "accepted",
        "result_text": "Aceptada",
        "phone": "+34611222333",
        "rule_group": "Aviso",
        "scheduled_for": None,
        "source": "action",
    }
    assert hass.states.get(LAST_RESULT).state == "accepted"


async def test_issue_call_xml(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_answer: Callable[..., None],
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """With the XML option the request and the answer are XML."""
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_REQUEST_FORMAT: "xml"}
    )
    await hass.async_block_till_done()
    mock_answer(answer_xml(0, "99", "Aceptada"))
    response = await _call(hass, max_wait=10, retries=3)
    assert response["call_id"] == "99"
    (sent,) = sent_requests(aioclient_mock)
    assert sent["format"] == "xml"
    root = ET.fromstring(sent["text"])
    ns = {"t": "http://tempuri.org/"}
    assert root.findtext("t:UserID/t:firma", namespaces=ns) == FIRMA
    assert root.findtext("t:callData/t:numtelefono", namespaces=ns) == "+34611222333"
    assert root.findtext("t:callData/t:EsperaMax", namespaces=ns) == "10"
    assert root.findtext("t:callData/t:Reintentos", namespaces=ns) == "3"


async def test_schedule_is_sent_in_account_time(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A schedule in any zone is sent as the account's local wall time."""
    freezer.move_to("2030-01-15 10:00:00+00:00")
    await hass.config.async_set_time_zone("America/New_York")
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_TIME_ZONE: "Atlantic/Canary"}
    )
    # Naive: Home Assistant's zone (New York, UTC-5) -> Canary (UTC+0).
    response = await _call(hass, schedule="2030-01-15 09:30:00")
    assert response["scheduled_for"] == "2030-01-15T14:30:00+00:00"
    # Aware: its own zone -> Canary.
    aioclient_mock.mock_calls.clear()
    await _call(
        hass,
        phone="+34611222334",
        schedule=datetime(2030, 1, 16, 12, 0, tzinfo=dt_util.UTC),
    )
    (sent,) = sent_requests(aioclient_mock)
    assert sent["body"]["callRequest"]["callData"]["fechahora"] == "2030-01-16T12:00:00"


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("data", "key", "placeholders"),
    [
        ({"phone": None}, "missing_field", {"field": "phone"}),
        ({"phone": "   "}, "missing_field", {"field": "phone"}),
        ({"rule_group": ""}, "missing_field", {"field": "rule_group"}),
        ({"phone": "12"}, "invalid_phone", {"field": "phone", "value": "12"}),
        (
            {"phone": "not a number"},
            "invalid_phone",
            {"field": "phone", "value": "not a number"},
        ),
        ({"rule_group": "x" * 101}, "invalid_rule_group", {"field": "rule_group"}),
        ({"rule_group": "a\x07b"}, "invalid_rule_group", {"field": "rule_group"}),
        ({"schedule": "tomorrow-ish"}, "invalid_schedule", {"field": "schedule"}),
        (
            {"schedule": "2001-01-01 10:00:00"},
            "schedule_in_past",
            {"field": "schedule"},
        ),
        (
            {"schedule": "2999-01-01 10:00:00"},
            "schedule_too_far",
            {"field": "schedule"},
        ),
        ({"max_wait": 301}, "invalid_max_wait", {"field": "max_wait", "max": "300"}),
        ({"max_wait": -1}, "invalid_max_wait", {"field": "max_wait"}),
        ({"max_wait": "ten"}, "invalid_max_wait", {"field": "max_wait"}),
        ({"max_wait": 2.5}, "invalid_max_wait", {"field": "max_wait"}),
        ({"max_wait": True}, "invalid_max_wait", {"field": "max_wait"}),
        ({"retries": 5}, "invalid_retries", {"field": "retries", "max": "4"}),
        ({"variables": ["A", "B"]}, "invalid_variables", {"field": "variables"}),
        (
            {"variables": {f"V{i}": i for i in range(21)}},
            "too_many_variables",
            {"max": "20"},
        ),
        ({"variables": {"": "x"}}, "invalid_variable_name", {"name": ""}),
        ({"variables": {"MY VAR": "x"}}, "invalid_variable_name", {"name": "MY VAR"}),
        (
            {"variables": {"V" * 65: "x"}},
            "invalid_variable_name",
            {"field": "variables"},
        ),
        ({"variables": {"A": [1, 2]}}, "invalid_variable_value", {"name": "A"}),
        ({"variables": {"A": None}}, "invalid_variable_value", {"name": "A"}),
        ({"variables": {"A": "x" * 1001}}, "invalid_variable_value", {"name": "A"}),
        ({"variables": {"A": "bell\x07"}}, "invalid_variable_value", {"name": "A"}),
    ],
)
async def test_validation_errors_change_nothing(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    data: dict[str, Any],
    key: str,
    placeholders: dict[str, str],
) -> None:
    """Bad input: a translated error naming the field, nothing sent or recorded."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    before = hass.states.get(LAST_RESULT)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, **data)
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == key
    assert placeholders.items() <= caught.value.translation_placeholders.items()
    assert aioclient_mock.call_count == 0
    assert events == []
    assert hass.states.get(LAST_RESULT) == before
    # The same action with good input still works afterwards.
    assert (await _call(hass))["result_key"] == "accepted"


@pytest.mark.usefixtures("init_integration")
async def test_valid_edge_values(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Limits are inclusive; numbers may come as text; bools become words."""
    await _call(
        hass,
        phone=34611222333,
        max_wait="300",
        retries=4.0,
        variables={"OK": True, "N": 1.5, "T": "línea 1\nlínea 2"},
    )
    data = sent_requests(aioclient_mock)[0]["body"]["callRequest"]["callData"]
    assert data["numtelefono"] == "+34611222333"
    assert (data["EsperaMax"], data["Reintentos"]) == ("300", "4")
    assert data["CustVars"]["CustVar"] == [
        {"VarName": "OK", "VarValue": "true"},
        {"VarName": "N", "VarValue": "1.5"},
        {"VarName": "T", "VarValue": "línea 1\nlínea 2"},
    ]


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("code", sorted(set(RESULT_CODES) - {0}) + [77])
async def test_every_refusal(
    hass: HomeAssistant,
    mock_answer: Callable[..., None],
    code: int,
) -> None:
    """Input codes raise ServiceValidationError, the rest HomeAssistantError."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_answer(answer_json(code, "ignored"))
    with pytest.raises(HomeAssistantError) as caught:
        await _call(hass)
    key = RESULT_CODES[code].key if code in RESULT_CODES else "unknown_code"
    assert caught.value.translation_key == f"result_{key}"
    assert caught.value.translation_placeholders["code"] == str(code)
    assert isinstance(caught.value, ServiceValidationError) is (
        code in (4, 5, 6, 7, 8, 9, 13)
    )
    (event,) = events
    assert (event.data["result"], event.data["result_key"], event.data["call_id"]) == (
        code,
        key,
        None,
    )
    assert hass.states.get(LAST_RESULT).state == key
    assert hass.states.get("sensor.infocaller_34910000000_refused_calls").state == "1"
    assert hass.states.get(
        "binary_sensor.infocaller_34910000000_line_problem"
    ).state == ("on" if code in (3, 10, 11, 12, 14) else "off")
    # Recovery: the next call goes through and clears the line problem.
    mock_answer(answer_json(0, "5"))
    await _call(hass, phone="+34611222399")
    assert hass.states.get(LAST_RESULT).state == "accepted"
    assert (
        hass.states.get("binary_sensor.infocaller_34910000000_line_problem").state
        == "off"
    )


@pytest.mark.parametrize("code", [-1, 1, 2])
async def test_refused_credentials_start_reauth(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_answer: Callable[..., None],
    code: int,
) -> None:
    """-1, 1 and 2 start the reauthentication flow."""
    mock_answer(answer_json(code))
    with pytest.raises(HomeAssistantError):
        await _call(hass)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == init_integration.entry_id


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("mock", "key", "translation_key"),
    [
        ({"exc": TimeoutError()}, "no_answer", "outcome_unknown"),
        ({"text": "<html>Mantenimiento</html>"}, "no_answer", "outcome_unknown"),
        ({"text": '{"callRequest":{"Resul'}, "no_answer", "outcome_unknown"),
        ({"text": "", "status": 500}, "no_answer", "outcome_unknown"),
        ({"exc": OSError(104, "reset")}, "no_answer", "outcome_unknown"),
    ],
)
async def test_no_usable_answer(
    hass: HomeAssistant,
    mock_answer: Callable[..., None],
    aioclient_mock: AiohttpClientMocker,
    mock: dict[str, Any],
    key: str,
    translation_key: str,
) -> None:
    """The error says the call may have been placed; nothing is resent."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_answer(**mock)
    with pytest.raises(HomeAssistantError) as caught:
        await _call(hass)
    assert not isinstance(caught.value, ServiceValidationError)
    assert caught.value.translation_key == translation_key
    assert caught.value.translation_placeholders["phone"] == "+34611222333"
    assert aioclient_mock.call_count == 1
    (event,) = events
    assert (event.data["result"], event.data["result_key"]) == (None, key)
    assert hass.states.get(LAST_RESULT).state == key
    # An immediate retry of the same call is refused: it may have rung already.
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass)
    assert caught.value.translation_key == "duplicate_call"
    assert aioclient_mock.call_count == 1
    # Another call works.
    mock_answer(answer_json(0, "1"))
    assert (await _call(hass, phone="+34611222300"))["result"] == 0


@pytest.mark.usefixtures("init_integration")
async def test_connection_error(
    hass: HomeAssistant, mock_answer: Callable[..., None]
) -> None:
    """Nothing was sent: a plain error, recorded, and retrying is allowed."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_answer(exc=connector_error())
    with pytest.raises(HomeAssistantError) as caught:
        await _call(hass)
    assert caught.value.translation_key == "cannot_connect"
    assert events[0].data["result_key"] == "connection_error"
    mock_answer(answer_json(0, "2"))
    assert (await _call(hass))["call_id"] == "2"


@pytest.mark.usefixtures("init_integration")
async def test_duplicate_guard(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The same call within the window is refused; later, or different, it's fine."""
    await _call(hass)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, phone="+34 611 222 333")
    assert caught.value.translation_key == "duplicate_call"
    assert aioclient_mock.call_count == 1
    await _call(hass, rule_group="Alarma")
    await _call(hass, variables={"X": 1})
    assert aioclient_mock.call_count == 3
    freezer.tick(timedelta(seconds=11))
    await _call(hass)
    assert aioclient_mock.call_count == 4


async def test_in_flight_duplicate_is_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """A second identical request while the first waits for its answer."""
    import asyncio

    release = asyncio.Event()

    async def slow(*_args: Any) -> Any:
        await release.wait()
        return AiohttpClientMockResponse(
            "post", URL(ENDPOINT), text=answer_json(0, "1")
        )

    aioclient_mock.clear_requests()
    aioclient_mock.post(ENDPOINT, side_effect=slow)
    first = hass.async_create_task(_call(hass))
    await asyncio.sleep(0.05)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass)
    assert caught.value.translation_key == "duplicate_call"
    release.set()
    assert (await first)["call_id"] == "1"


async def test_entry_selection(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """config_entry_id may be left out with one line; errors name the field."""
    assert (await _call(hass, config_entry_id=init_integration.entry_id))["result"] == 0

    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, config_entry_id="nope")
    assert caught.value.translation_key == "entry_not_found"

    second = MockConfigEntry(
        domain=DOMAIN,
        title="Infocaller 34920000000",
        unique_id="34920000000",
        data={"idinfocaller": "34920000000", "password": "x", "endpoint": ENDPOINT},
    )
    second.add_to_hass(hass)
    await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, phone="+34611000001")
    assert caught.value.translation_key == "entry_required"

    await hass.config_entries.async_unload(second.entry_id)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, config_entry_id=second.entry_id)
    assert caught.value.translation_key == "entry_not_loaded"

    await hass.config_entries.async_unload(init_integration.entry_id)
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, phone="+34611000002")
    assert caught.value.translation_key == "no_loaded_entries"


@pytest.mark.usefixtures("init_integration")
async def test_response_is_optional(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """Called without return_response, the action still places the call."""
    result = await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "Aviso"},
        blocking=True,
    )
    assert result is None
    assert aioclient_mock.call_count == 1
