"""Tests for InfocallerClient against a mocked HTTP layer (HA's aiohttp mocker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
import json
import logging
import socket
from urllib.parse import parse_qs

import aiohttp
import pytest
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)

from custom_components.infocaller.api import (
    RESULT_CODES,
    CallRequest,
    InfocallerAuthenticationError,
    InfocallerClient,
    InfocallerConnectionError,
    InfocallerError,
    InfocallerOutcomeUnknownError,
    InfocallerRejectedError,
    InfocallerResponseError,
    InfocallerTimeoutError,
    Reason,
    RequestFormat,
)
from custom_components.infocaller.api.client import MAX_RESPONSE_BYTES
from tests.conftest import connector_error

URL = "https://apicall.example.test"
PASSWORD = "s3cr3t-Pa55"
LINE = "34910000000"


def _answer(code: int | str, idcall: str = "") -> str:
    return json.dumps(
        {
            "callRequest": {
                "idcall": idcall,
                "Resultado": str(code),
                "ResultadoTexto": "t",
            }
        }
    )


@pytest.fixture
def mocked() -> AiohttpClientMocker:
    """Mock the HTTP layer."""
    return AiohttpClientMocker()


@pytest.fixture
async def session(
    mocked: AiohttpClientMocker,
) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session whose requests the mocker answers."""
    client_session = mocked.create_session(asyncio.get_running_loop())
    yield client_session
    await client_session.close()


def _client(
    session: aiohttp.ClientSession,
    request_format: RequestFormat = RequestFormat.JSON,
) -> InfocallerClient:
    return InfocallerClient(
        session, LINE, PASSWORD, endpoint=URL, request_format=request_format, timeout=5
    )


def _sent_form(mocked: AiohttpClientMocker) -> dict[str, str]:
    assert mocked.call_count == 1
    ((_method, _url, data, _headers),) = mocked.mock_calls
    assert isinstance(data, bytes)
    return {key: value[0] for key, value in parse_qs(data.decode()).items()}


async def test_accepted_call_json(
    session: aiohttp.ClientSession, mocked: AiohttpClientMocker
) -> None:
    """An accepted call returns its id; the request is the canonical JSON."""
    mocked.post(URL, text=_answer(0, "4711"))
    result = await _client(session).issue_call(
        CallRequest(
            phone="+34611222333",
            rule_group="Aviso",
            scheduled_for=datetime(2030, 1, 2, 3, 4, 5),  # noqa: DTZ001
            max_wait=10,
            retries=1,
            variables=tuple({"ESTADO": "2"}.items()),
        )
    )
    assert result.accepted
    assert result.call_id == "4711"
    assert result.result_key == "accepted"
    form = _sent_form(mocked)
    assert list(form) == ["apiCALLjson"]
    body = json.loads(form["apiCALLjson"])["callRequest"]
    assert body["UserID"] == {
        "idinfocaller": LINE,
        "firma": __import__("hashlib").md5(f"{LINE}{PASSWORD}".encode()).hexdigest(),
    }
    assert body["callData"]["fechahora"] == "2030-01-02T03:04:05"


async def test_accepted_call_xml(
    session: aiohttp.ClientSession, mocked: AiohttpClientMocker
) -> None:
    """XML request, XML answer."""
    mocked.post(
        URL,
        text="<?xml version='1.0'?><callRequest><idcall>9</idcall>"
        "<Resultado>0</Resultado><ResultadoTexto>Aceptada</ResultadoTexto></callRequest>",
    )
    result = await _client(session, RequestFormat.XML).issue_call(
        CallRequest(phone="+34611222333", rule_group="Aviso")
    )
    assert (result.result, result.call_id, result.result_text) == (0, "9", "Aceptada")
    form = _sent_form(mocked)
    assert list(form) == ["apiCALLxml"]
    assert form["apiCALLxml"].startswith('<callRequest xmlns="http://tempuri.org/">')


@pytest.mark.parametrize("code", [*sorted(set(RESULT_CODES) - {0}), 77])
async def test_every_refusal_raises_with_its_result(
    session: aiohttp.ClientSession, mocked: AiohttpClientMocker, code: int
) -> None:
    """Each non-zero Resultado is raised with code, text and key."""
    mocked.post(URL, text=_answer(code, "ignored"))
    expected = (
        InfocallerAuthenticationError if code in (-1, 1, 2) else InfocallerRejectedError
    )
    with pytest.raises(InfocallerRejectedError) as caught:
        await _client(session).issue_call(
            CallRequest(phone="+34611222333", rule_group="A")
        )
    assert type(caught.value) is expected
    assert caught.value.result.result == code
    assert caught.value.result.call_id is None
    assert caught.value.result.result_key == (
        RESULT_CODES[code].key if code in RESULT_CODES else "unknown_code"
    )


async def test_connection_refused_is_not_sent(
    session: aiohttp.ClientSession, mocked: AiohttpClientMocker
) -> None:
    """A failure to connect is a connection error: nothing was placed."""
    mocked.post(
        URL,
        exc=connector_error(),
    )
    with pytest.raises(InfocallerConnectionError) as caught:
        await _client(session).issue_call(
            CallRequest(phone="+34611222333", rule_group="A")
        )
    assert not isinstance(caught.value, InfocallerOutcomeUnknownError)
    assert caught.value.reason is Reason.UNREACHABLE


async def test_a_name_that_does_not_resolve_is_not_sent(
    session: aiohttp.ClientSession, mocked: AiohttpClientMocker
) -> None:
    """DNS failure: not sent, and said so (reason dns)."""
    mocked.post(
        URL,
        exc=aiohttp.ClientConnectorError(
            aiohttp.client_reqrep.ConnectionKey(
                "apicall.example.test", 443, True, True, None, None, None
            ),
            socket.gaierror(-2, "Name or service not known"),
        ),
    )
    with pytest.raises(InfocallerConnectionError) as caught:
        await _client(session).issue_call(
            CallRequest(phone="+34611222333", rule_group="A")
        )
    assert caught.value.reason is Reason.DNS


async def test_connect_timeout_is_not_sent(
    session: aiohttp.ClientSession, mocked: AiohttpClientMocker
) -> None:
    """A timeout while connecting: nothing was sent."""
    mocked.post(URL, exc=aiohttp.ConnectionTimeoutError())
    with pytest.raises(InfocallerConnectionError) as caught:
        await _client(session).issue_call(
            CallRequest(phone="+34611222333", rule_group="A")
        )
    assert caught.value.reason is Reason.CONNECT_TIMEOUT
    assert caught.value.seconds == 5  # the total limit caps the connect one


@pytest.mark.parametrize(
    ("exception", "reason"),
    [
        (TimeoutError(), Reason.ANSWER_TIMEOUT),
        (aiohttp.SocketTimeoutError(), Reason.ANSWER_TIMEOUT),
        (aiohttp.ServerDisconnectedError(), Reason.CONNECTION_BROKEN),
        (aiohttp.ClientPayloadError("truncated"), Reason.CONNECTION_BROKEN),
        (
            aiohttp.ClientOSError(104, "Connection reset by peer"),
            Reason.CONNECTION_BROKEN,
        ),
    ],
)
async def test_failure_after_sending_may_have_placed_a_call(
    session: aiohttp.ClientSession,
    mocked: AiohttpClientMocker,
    exception: Exception,
    reason: Reason,
) -> None:
    """Timeouts and broken connections after sending: outcome unknown, once."""
    mocked.post(URL, exc=exception)
    with pytest.raises(InfocallerTimeoutError) as caught:
        await _client(session).issue_call(
            CallRequest(phone="+34611222333", rule_group="A")
        )
    assert isinstance(caught.value, InfocallerOutcomeUnknownError)
    assert caught.value.reason is reason
    if reason is Reason.ANSWER_TIMEOUT:
        assert caught.value.seconds == 5
    assert mocked.call_count == 1


@pytest.mark.parametrize(
    ("status", "body", "headers", "reason"),
    [
        (500, "Internal Server Error", None, Reason.UNREADABLE_ANSWER),
        (
            200,
            "<html><body>Mantenimiento</body></html>",
            None,
            Reason.UNREADABLE_ANSWER,
        ),
        (200, "", None, Reason.EMPTY_ANSWER),
        (200, '{"callRequest":{"idcall":"1","Resul', None, Reason.UNREADABLE_ANSWER),
        (
            302,
            "",
            {"Location": "https://elsewhere.example.test/"},
            Reason.EMPTY_ANSWER,
        ),
        (200, "x" * (MAX_RESPONSE_BYTES + 1), None, Reason.ANSWER_TOO_LARGE),
    ],
)
async def test_unreadable_answers(
    session: aiohttp.ClientSession,
    mocked: AiohttpClientMocker,
    status: int,
    body: str,
    headers: dict[str, str] | None,
    reason: Reason,
) -> None:
    """HTTP errors, HTML, empty, truncated, redirects, oversized: outcome unknown."""
    mocked.post(URL, status=status, text=body, headers=headers)
    with pytest.raises(InfocallerResponseError) as caught:
        await _client(session).issue_call(
            CallRequest(phone="+34611222333", rule_group="A")
        )
    assert isinstance(caught.value, InfocallerOutcomeUnknownError)
    assert (caught.value.reason, caught.value.status) == (reason, status)
    assert mocked.call_count == 1


async def test_answer_with_error_status_but_valid_body_is_read(
    session: aiohttp.ClientSession, mocked: AiohttpClientMocker
) -> None:
    """Lenient in what we accept: a readable answer counts, whatever the status."""
    mocked.post(URL, status=500, text=_answer(-100))
    with pytest.raises(InfocallerRejectedError) as caught:
        await _client(session).issue_call(
            CallRequest(phone="+34611222333", rule_group="A")
        )
    assert caught.value.result.result_key == "internal_error"


async def test_probe_cannot_ring_anyone(
    session: aiohttp.ClientSession, mocked: AiohttpClientMocker
) -> None:
    """The credential check fails five independent field checks at once."""
    mocked.post(URL, text=_answer(4))
    check = await _client(session).check_credentials()
    assert check.valid
    data = json.loads(_sent_form(mocked)["apiCALLjson"])["callRequest"]["callData"]
    assert data["numtelefono"] == "0"
    assert data["gruporeglas"].startswith("home-assistant-credential-check-")
    assert data["fechahora"] == "2000-01-01T00:00:00"
    assert int(data["EsperaMax"]) > 300
    assert int(data["Reintentos"]) > 4


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (-1, False),
        (-2, False),
        (1, False),
        (2, False),
        (3, True),
        (4, True),
        (5, True),
        (8, True),
        (10, True),
        (11, True),
        (-100, True),
        (0, True),
    ],
)
async def test_probe_classification(
    session: aiohttp.ClientSession, mocked: AiohttpClientMocker, code: int, valid: bool
) -> None:
    """-1, -2, 1 and 2 refuse the credentials; any other answer accepts them."""
    mocked.post(URL, text=_answer(code))
    check = await _client(session).check_credentials()
    assert check.valid is valid
    assert check.result.result == code


async def test_probe_errors_propagate(
    session: aiohttp.ClientSession, mocked: AiohttpClientMocker
) -> None:
    """A probe with no answer raises like any request."""
    mocked.post(URL, text="<html></html>")
    with pytest.raises(InfocallerResponseError):
        await _client(session).check_credentials()


async def test_secrets_never_leak(
    session: aiohttp.ClientSession,
    mocked: AiohttpClientMocker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Password and signature: not in repr, log lines or exception messages."""
    caplog.set_level(logging.DEBUG)
    client = _client(session)
    firma = __import__("hashlib").md5(f"{LINE}{PASSWORD}".encode()).hexdigest()
    mocked.post(URL, text=_answer(0, "1"))
    await client.issue_call(CallRequest(phone="+34611222333", rule_group="A"))
    messages = [repr(client), str(client)]
    for answer in (
        {"text": _answer(1)},
        {"text": "<html>oops</html>"},
        {"exc": TimeoutError()},
    ):
        mocked.clear_requests()
        mocked.post(URL, **answer)
        with pytest.raises(InfocallerError) as caught:
            await client.issue_call(CallRequest(phone="+34611222333", rule_group="A"))
        messages.extend((str(caught.value), repr(caught.value)))
    messages.append(caplog.text)
    assert "Sending json request" in caplog.text
    for text in messages:
        assert PASSWORD not in text
        assert firma not in text
