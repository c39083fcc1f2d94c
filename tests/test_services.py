"""The infocaller.issue_call action and the one call path (client mocked).

What goes over the wire is tested in ``tests/api``; here the client class is
patched, as core's integrations do, and the tests check what the pipeline
asks of it and what it makes of each answer.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller.api import (
    CREDENTIAL_CODES,
    RESULT_CODES,
    CallRequest,
    CallResult,
    Fault,
    InfocallerAuthenticationError,
    InfocallerConnectionError,
    InfocallerError,
    InfocallerRejectedError,
    InfocallerRequestError,
    InfocallerResponseError,
    InfocallerTimeoutError,
    Reason,
    fault_of,
)
from custom_components.infocaller.const import DOMAIN, EVENT_CALL_RESULT
from custom_components.infocaller.schema import vol

from .conftest import ENDPOINT

LAST_RESULT = "sensor.infocaller_34910000000_last_result"
REFUSED = "sensor.infocaller_34910000000_refused_calls"
LINE_PROBLEM = "binary_sensor.infocaller_34910000000_line_problem"
PHONE = "+34611222333"


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


def _refusal(code: int) -> InfocallerRejectedError:
    result = CallResult(result=code, result_text=f"texto {code}")
    if code in CREDENTIAL_CODES:
        return InfocallerAuthenticationError(result)
    return InfocallerRejectedError(result)


@pytest.mark.usefixtures("setup_integration")
async def test_issue_call(hass: HomeAssistant, mock_infocaller: MagicMock) -> None:
    """One validated request reaches the client; one record shape everywhere."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    response = await _call(hass, variables={"ESTADO": 2, "MSG": "Hola ñ 📞"})
    mock_infocaller.issue_call.assert_awaited_once_with(
        CallRequest(
            phone=PHONE,
            rule_group="Aviso",
            max_wait=5,
            retries=0,
            variables=(("ESTADO", "2"), ("MSG", "Hola ñ 📞")),
        )
    )
    assert response == {
        "time": response["time"],
        "source": "action",
        "call_id": "4711",
        "result": 0,
        "result_key": "accepted",
        "result_text": "Aceptada",
        "phone": PHONE,
        "rule_group": "Aviso",
        "scheduled_for": None,
        "saved_call": None,
        # Call progress is off: no status is claimed.
        "status": None,
        "window_end": None,
        "answered_at": None,
        "ended_at": None,
        "talk_seconds": None,
        "digits": None,
    }
    (event,) = events
    entry_id = hass.config_entries.async_entries(DOMAIN)[0].entry_id
    # The event adds the line and the saved call (none here) to the record.
    assert event.data == {
        "config_entry_id": entry_id,
        **response,
        "saved_call_id": None,
    }
    state = hass.states.get(LAST_RESULT)
    assert state.state == "accepted"
    assert {k: state.attributes[k] for k in response} == response


@pytest.mark.usefixtures("setup_integration")
async def test_schedule_is_an_aware_moment(
    hass: HomeAssistant, mock_infocaller: MagicMock, freezer: FrozenDateTimeFactory
) -> None:
    """A naive schedule is Home Assistant's local time; the client converts it."""
    freezer.move_to("2030-01-15 10:00:00+00:00")
    await hass.config.async_set_time_zone("America/New_York")
    response = await _call(hass, schedule="2030-01-15 09:30:00.250")
    (request,), _ = mock_infocaller.issue_call.call_args
    assert request.scheduled_for == datetime(2030, 1, 15, 14, 30, tzinfo=UTC)
    assert response["scheduled_for"] == "2030-01-15T09:30:00-05:00"
    await _call(
        hass, phone="+34611222334", schedule=datetime(2030, 1, 16, 12, 0, tzinfo=UTC)
    )
    (request,), _ = mock_infocaller.issue_call.call_args
    assert request.scheduled_for == datetime(2030, 1, 16, 12, 0, tzinfo=UTC)


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"phone": None}, "phone"),
        ({"phone": ["+34611222333"]}, "phone"),
        ({"rule_group": {"a": 1}}, "rule_group"),
        ({"schedule": "tomorrow-ish"}, "schedule"),
        ({"max_wait": 301}, "max_wait"),
        ({"max_wait": -1}, "max_wait"),
        ({"max_wait": "ten"}, "max_wait"),
        ({"max_wait": 2.5}, "max_wait"),
        ({"max_wait": True}, "max_wait"),
        ({"retries": 5}, "retries"),
        ({"variables": ["A", "B"]}, "variables"),
        ({"variables": {"A": [1, 2]}}, "variables"),
        ({"variables": {"A": None}}, "variables"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
async def test_schema_refuses_wrong_types(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    data: dict[str, Any],
    path: str,
) -> None:
    """The action's schema types each field and names it; nothing is sent."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    with pytest.raises(vol.Invalid) as caught:
        await _call(hass, **data)
    assert path in str(caught.value)
    mock_infocaller.issue_call.assert_not_awaited()
    assert events == []
    assert (await _call(hass))["result_key"] == "accepted"


@pytest.mark.usefixtures("setup_integration")
async def test_required_fields(hass: HomeAssistant, mock_infocaller: MagicMock) -> None:
    """Phone and rule_group are required by the schema, as services.yaml says."""
    for missing in ("phone", "rule_group"):
        data = {"phone": PHONE, "rule_group": "A"}
        del data[missing]
        with pytest.raises(vol.Invalid, match=missing):
            await hass.services.async_call(DOMAIN, "issue_call", data, blocking=True)
    mock_infocaller.issue_call.assert_not_awaited()


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    ("data", "key", "placeholders"),
    [
        ({"phone": "   "}, "missing_field", {"field": "phone"}),
        ({"rule_group": ""}, "missing_field", {"field": "rule_group"}),
        ({"phone": "12"}, "invalid_phone", {"field": "phone", "value": "12"}),
        ({"phone": "not a number"}, "invalid_phone", {"value": "not a number"}),
        ({"phone": "+3461122\ud8003"}, "invalid_phone", {"value": "+3461122\ufffd3"}),
        ({"rule_group": "x" * 101}, "invalid_rule_group", {"field": "rule_group"}),
        ({"rule_group": "a\x07b"}, "invalid_rule_group", {"field": "rule_group"}),
        ({"rule_group": "a\ud800"}, "invalid_rule_group", {"value": "a\ufffd"}),
        ({"rule_group": "a\uffff"}, "invalid_rule_group", {"field": "rule_group"}),
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
        (
            {"variables": {f"V{i}": i for i in range(21)}},
            "too_many_variables",
            {"max": "20"},
        ),
        ({"variables": {"": "x"}}, "invalid_variable_name", {"name": ""}),
        ({"variables": {"MY VAR": "x"}}, "invalid_variable_name", {"name": "MY VAR"}),
        ({"variables": {"V" * 65: "x"}}, "invalid_variable_name", {}),
        ({"variables": {"A": "x" * 1001}}, "invalid_variable_value", {"name": "A"}),
        ({"variables": {"A": "bell\x07"}}, "invalid_variable_value", {"name": "A"}),
        # A lone surrogate (from a template) and U+FFFE/U+FFFF cannot be sent.
        ({"variables": {"A": "\ud83d"}}, "invalid_variable_value", {"name": "A"}),
        ({"variables": {"A": "x\ufffe"}}, "invalid_variable_value", {"name": "A"}),
        ({"variables": {"A\udc00": "x"}}, "invalid_variable_name", {"name": "A\ufffd"}),
    ],
)
async def test_meaning_errors_change_nothing(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
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
    assert caught.value.translation_placeholders["field"] in data
    assert placeholders.items() <= caught.value.translation_placeholders.items()
    mock_infocaller.issue_call.assert_not_awaited()
    assert events == []
    assert hass.states.get(LAST_RESULT) == before
    # The same action with good input still works afterwards.
    assert (await _call(hass))["result_key"] == "accepted"


@pytest.mark.usefixtures("setup_integration")
async def test_valid_edge_values(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """Limits are inclusive; numbers may come as text; bools become words."""
    await _call(
        hass,
        phone=34611222333,
        max_wait="300",
        retries=4.0,
        variables={"OK": True, "N": 1.5, "T": "línea 1\r\nlínea 2"},
    )
    (request,), _ = mock_infocaller.issue_call.call_args
    assert (request.phone, request.max_wait, request.retries) == (PHONE, 300, 4)
    assert request.variables == (
        ("OK", "true"),
        ("N", "1.5"),
        ("T", "línea 1\r\nlínea 2"),
    )


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize("code", sorted(set(RESULT_CODES) - {0}) + [77])
async def test_every_refusal(
    hass: HomeAssistant, mock_infocaller: MagicMock, code: int
) -> None:
    """Input faults raise ServiceValidationError, the rest HomeAssistantError."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_infocaller.issue_call.side_effect = _refusal(code)
    with pytest.raises(HomeAssistantError) as caught:
        await _call(hass)
    key = RESULT_CODES[code].key if code in RESULT_CODES else "unknown_code"
    assert caught.value.translation_key == f"result_{key}"
    assert caught.value.translation_placeholders == {
        "code": str(code),
        "text": f"texto {code}",
    }
    assert isinstance(caught.value, ServiceValidationError) is (
        fault_of(code) is Fault.INPUT
    )
    (event,) = events
    assert (event.data["result"], event.data["result_key"], event.data["call_id"]) == (
        code,
        key,
        None,
    )
    assert hass.states.get(LAST_RESULT).state == key
    assert hass.states.get(REFUSED).state == "1"
    assert hass.states.get(LINE_PROBLEM).state == (
        "on" if fault_of(code) is Fault.ACCOUNT else "off"
    )
    # Recovery: the next call goes through and clears the line problem
    # (after refused credentials, once they are fixed: the line reloads).
    mock_infocaller.issue_call.side_effect = None
    if code in CREDENTIAL_CODES:
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        assert await hass.config_entries.async_reload(entry.entry_id)
    await _call(hass, phone="+34611222399")
    assert hass.states.get(LAST_RESULT).state == "accepted"
    assert hass.states.get(LINE_PROBLEM).state == "off"


@pytest.mark.parametrize("code", sorted(CREDENTIAL_CODES))
async def test_refused_credentials_start_reauth(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    code: int,
) -> None:
    """The client's authentication error starts the reauthentication flow."""
    mock_infocaller.issue_call.side_effect = _refusal(code)
    with pytest.raises(HomeAssistantError):
        await _call(hass)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == setup_integration.entry_id


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    "error",
    [
        InfocallerTimeoutError("No answer within 30 s"),
        InfocallerResponseError("Unreadable answer (HTTP 200): not JSON"),
        InfocallerError("anything else the client may raise"),
    ],
)
async def test_no_usable_answer(
    hass: HomeAssistant, mock_infocaller: MagicMock, error: InfocallerError
) -> None:
    """The error says the call may have been placed; the same call is not resent."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_infocaller.issue_call.side_effect = error
    with pytest.raises(HomeAssistantError) as caught:
        await _call(hass)
    assert not isinstance(caught.value, ServiceValidationError)
    assert caught.value.translation_key == "outcome_unknown"
    assert caught.value.translation_placeholders["phone"] == PHONE
    (event,) = events
    assert (event.data["result"], event.data["result_key"]) == (None, "no_answer")
    assert hass.states.get(LAST_RESULT).state == "no_answer"
    # An immediate retry of the same call is refused: it may have rung already.
    mock_infocaller.issue_call.side_effect = None
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass)
    assert caught.value.translation_key == "duplicate_call"
    assert mock_infocaller.issue_call.await_count == 1
    # Another call works.
    assert (await _call(hass, phone="+34611222300"))["result"] == 0


@pytest.mark.usefixtures("setup_integration")
@pytest.mark.parametrize(
    ("error", "key", "placeholders"),
    [
        (
            InfocallerConnectionError("refused", reason=Reason.UNREACHABLE),
            "cannot_connect",
            {},
        ),
        (
            InfocallerConnectionError("dns", reason=Reason.DNS),
            "not_sent_dns",
            {},
        ),
        (
            InfocallerConnectionError("tls", reason=Reason.TLS),
            "not_sent_tls",
            {},
        ),
        (
            InfocallerConnectionError(
                "slow connect", reason=Reason.CONNECT_TIMEOUT, seconds=10
            ),
            "not_sent_timeout",
            {"seconds": "10"},
        ),
        (
            InfocallerTimeoutError("slow", reason=Reason.ANSWER_TIMEOUT, seconds=30),
            "outcome_unknown_timeout",
            {"seconds": "30", "phone": PHONE},
        ),
        (
            InfocallerTimeoutError("reset", reason=Reason.CONNECTION_BROKEN),
            "outcome_unknown_broken",
            {"phone": PHONE},
        ),
        (
            InfocallerResponseError("big", reason=Reason.ANSWER_TOO_LARGE, status=200),
            "outcome_unknown_too_large",
            {"status": "200", "phone": PHONE},
        ),
        (
            InfocallerResponseError("empty", reason=Reason.EMPTY_ANSWER, status=502),
            "outcome_unknown_empty",
            {"status": "502", "phone": PHONE},
        ),
        (
            InfocallerResponseError(
                "HTML", reason=Reason.UNREADABLE_ANSWER, status=503
            ),
            "outcome_unknown_unreadable",
            {"status": "503", "phone": PHONE},
        ),
    ],
)
async def test_each_failure_has_its_own_translated_message(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    error: InfocallerError,
    key: str,
    placeholders: dict[str, str],
) -> None:
    """The reason picks the message; only numbers and the phone are filled in.

    The client's English text stays in the log: nothing of it reaches the
    translated message, so a Spanish user reads Spanish only.
    """
    mock_infocaller.issue_call.side_effect = error
    with pytest.raises(HomeAssistantError) as caught:
        await _call(hass)
    assert caught.value.translation_key == key
    assert caught.value.translation_placeholders == placeholders
    assert str(error) not in str(caught.value.translation_placeholders)


@pytest.mark.usefixtures("setup_integration")
async def test_connection_error(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """Nothing was sent: a plain error, recorded, and retrying is allowed."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_infocaller.issue_call.side_effect = InfocallerConnectionError(
        f"Timed out connecting to {ENDPOINT} within 10 s"
    )
    with pytest.raises(HomeAssistantError) as caught:
        await _call(hass)
    assert caught.value.translation_key == "cannot_connect"
    assert events[0].data["result_key"] == "connection_error"
    mock_infocaller.issue_call.side_effect = None
    assert (await _call(hass))["call_id"] == "4711"


@pytest.mark.usefixtures("setup_integration")
async def test_request_error_is_translated_and_not_recorded(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """Should the client refuse to encode a request, nothing is recorded."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    mock_infocaller.issue_call.side_effect = InfocallerRequestError("bad value")
    with pytest.raises(HomeAssistantError) as caught:
        await _call(hass)
    assert caught.value.translation_key == "request_not_sent"
    assert events == []
    mock_infocaller.issue_call.side_effect = None
    assert (await _call(hass))["result"] == 0


@pytest.mark.usefixtures("setup_integration")
async def test_duplicate_guard(
    hass: HomeAssistant, mock_infocaller: MagicMock, freezer: FrozenDateTimeFactory
) -> None:
    """The same call within the window is refused; later, or different, it's fine."""
    await _call(hass, variables={"X": 1, "Y": 2})
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, phone="+34 611 222 333", variables={"X": 1, "Y": 2})
    assert caught.value.translation_key == "duplicate_call"
    # The same variables in another order are the same call.
    with pytest.raises(ServiceValidationError):
        await _call(hass, variables={"Y": 2, "X": 1})
    assert mock_infocaller.issue_call.await_count == 1
    await _call(hass, rule_group="Alarma")
    await _call(hass, variables={"X": 1})
    assert mock_infocaller.issue_call.await_count == 3
    # The repeat window (option, default 60 s) names the time left.
    freezer.tick(timedelta(seconds=50))
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, variables={"Y": 2, "X": 1})
    assert caught.value.translation_placeholders == {
        "phone": PHONE,
        "seconds": "60",
        "remaining": "10",
    }
    freezer.tick(timedelta(seconds=11))
    await _call(hass, variables={"Y": 2, "X": 1})
    assert mock_infocaller.issue_call.await_count == 4


@pytest.mark.usefixtures("setup_integration")
async def test_in_flight_duplicate_is_refused(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """A second identical request while the first waits for its answer."""
    release = asyncio.Event()

    async def slow(_request: CallRequest) -> CallResult:
        await release.wait()
        return CallResult(result=0, result_text="Aceptada", call_id="1")

    mock_infocaller.issue_call.side_effect = slow
    first = hass.async_create_task(_call(hass))
    while mock_infocaller.issue_call.await_count == 0:
        await asyncio.sleep(0)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass)
    assert caught.value.translation_key == "duplicate_call"
    release.set()
    assert (await first)["call_id"] == "1"


@pytest.mark.usefixtures("setup_integration")
async def test_cancelled_call_counts_as_sent(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """A call cancelled in flight may have been placed: recorded, never resent.

    This is what a script with ``mode: restart`` or a stopped automation
    does to a running action.
    """
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    started = asyncio.Event()

    async def hang(_request: CallRequest) -> CallResult:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError  # pragma: no cover - never reached

    mock_infocaller.issue_call.side_effect = hang
    task = hass.async_create_task(_call(hass))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (event,) = events
    assert (event.data["result_key"], event.data["phone"]) == ("no_answer", PHONE)
    assert hass.states.get(LAST_RESULT).state == "no_answer"
    # The identical call right after is refused as a duplicate; nothing sent.
    mock_infocaller.issue_call.side_effect = None
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass)
    assert caught.value.translation_key == "duplicate_call"
    assert mock_infocaller.issue_call.await_count == 1
    # Another call still works.
    assert (await _call(hass, phone="+34611222300"))["result"] == 0


async def test_entry_selection(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """config_entry_id may be left out with one line; errors name the field."""
    assert (await _call(hass, config_entry_id=setup_integration.entry_id))[
        "result"
    ] == 0

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

    await hass.config_entries.async_unload(setup_integration.entry_id)
    assert setup_integration.state is ConfigEntryState.NOT_LOADED
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, phone="+34611000002")
    assert caught.value.translation_key == "no_loaded_entries"


@pytest.mark.usefixtures("setup_integration")
async def test_response_is_optional(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """Called without return_response, the action still places the call."""
    result = await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": PHONE, "rule_group": "Aviso"},
        blocking=True,
    )
    assert result is None
    mock_infocaller.issue_call.assert_awaited_once()
