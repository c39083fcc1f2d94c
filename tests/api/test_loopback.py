"""The client against a real HTTP server on loopback: the local simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from datetime import datetime, timedelta
import socket
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from infocaller_simulator import (
    DEMO_LINE,
    DEMO_PASSWORD,
    Line,
    Simulator,
    urls_by_event,
)
import pytest

from custom_components.infocaller.api import (
    CallRequest,
    InfocallerAuthenticationError,
    InfocallerClient,
    InfocallerConnectionError,
    InfocallerRejectedError,
    InfocallerRequestError,
    InfocallerResponseError,
    InfocallerTimeoutError,
    Reason,
    RequestFormat,
    signature,
)

# Home Assistant's test plugin blocks sockets; these tests need loopback ones.
pytestmark = pytest.mark.usefixtures("socket_enabled")

TRICKY = "<Aviso> & \"Ñandú\" 'bis' 📞"


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """A simulator on 127.0.0.1, with the demo line and a tricky rule group."""
    line = Line(DEMO_LINE, DEMO_PASSWORD)
    line.rule_groups[TRICKY] = "ok"
    sim = Simulator([line])
    await sim.start()
    yield sim
    await sim.stop()


@contextlib.asynccontextmanager
async def _serve(
    handler: Callable[[web.Request], Awaitable[web.Response]],
) -> AsyncIterator[str]:
    """Serve ``handler`` on a free loopback port; yield its address."""
    app = web.Application()
    app.router.add_post("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A real aiohttp session."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def _client(
    session: aiohttp.ClientSession,
    simulator: Simulator,
    request_format: RequestFormat,
    *,
    password: str = DEMO_PASSWORD,
    line: str = DEMO_LINE,
    timeout: float = 5,
) -> InfocallerClient:
    return InfocallerClient(
        session,
        line,
        password,
        endpoint=simulator.url,
        request_format=request_format,
        timeout=timeout,
    )


@pytest.mark.parametrize("request_format", list(RequestFormat))
async def test_accepted_and_received_exactly(
    session: aiohttp.ClientSession, simulator: Simulator, request_format: RequestFormat
) -> None:
    """The server receives the signed request with every value intact."""
    when = datetime.now(ZoneInfo("Europe/Madrid")).replace(tzinfo=None, microsecond=0)
    when += timedelta(hours=1)
    result = await _client(session, simulator, request_format).issue_call(
        CallRequest(
            phone="+34611222333",
            rule_group=TRICKY,
            scheduled_for=when,
            max_wait=30,
            retries=2,
            variables=tuple({"MSG": TRICKY, "N": "7"}.items()),
        )
    )
    assert result.accepted
    assert result.call_id == "SIM00000001"
    assert result.result_text == "Aceptada"
    (received,) = simulator.requests
    assert received.form_field == f"apiCALL{request_format.value}"
    body = received.fields["callRequest"]
    assert body["UserID"]["firma"] == signature(DEMO_LINE, DEMO_PASSWORD)
    data = body["callData"]
    assert data["gruporeglas"] == TRICKY
    assert data["fechahora"] == when.strftime("%Y-%m-%dT%H:%M:%S")
    assert (data["EsperaMax"], data["Reintentos"]) == ("30", "2")
    assert data["CustVars"]["CustVar"] == [
        {"VarName": "MSG", "VarValue": TRICKY},
        {"VarName": "N", "VarValue": "7"},
    ]


@pytest.mark.parametrize("request_format", list(RequestFormat))
@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"password": "wrong"}, 1),
        ({"line": "34999999999"}, -1),
    ],
)
async def test_refused_credentials(
    session: aiohttp.ClientSession,
    simulator: Simulator,
    request_format: RequestFormat,
    kwargs: dict[str, str],
    code: int,
) -> None:
    """Wrong password or unknown line: an authentication error, and the probe agrees."""
    client = _client(session, simulator, request_format, **kwargs)
    with pytest.raises(InfocallerAuthenticationError) as caught:
        await client.issue_call(CallRequest(phone="+34611222333", rule_group="Aviso"))
    assert caught.value.result.result == code
    check = await client.check_credentials()
    assert not check.valid
    assert check.result.result == code


@pytest.mark.parametrize("request_format", list(RequestFormat))
async def test_probe_accepts_good_credentials_without_a_call(
    session: aiohttp.ClientSession, simulator: Simulator, request_format: RequestFormat
) -> None:
    """The simulator refuses the probe on its fields (no idcall): valid."""
    check = await _client(session, simulator, request_format).check_credentials()
    assert check.valid
    assert check.result.result == 4
    assert simulator.requests[0].idcall is None


@pytest.mark.parametrize(
    ("call", "state", "code"),
    [
        ({"rule_group": "Nope"}, "active", 8),
        ({"rule_group": "Colgar"}, "active", 9),
        ({"rule_group": "Vacio"}, "active", 13),
        ({"phone": "12ab"}, "active", 5),
        ({"max_wait": 301}, "active", 6),
        ({"retries": 5}, "active", 7),
        ({"scheduled_for": datetime(2001, 1, 1)}, "active", 4),  # noqa: DTZ001
        ({}, "switched_off", 3),
        ({}, "suspended", 10),
        ({}, "no_balance", 11),
        ({}, "credit_limit", 12),
        ({}, "quota_exceeded", 14),
    ],
)
async def test_refusals_from_the_server(
    session: aiohttp.ClientSession,
    simulator: Simulator,
    call: dict[str, object],
    state: str,
    code: int,
) -> None:
    """Field and line-state refusals come back as typed rejections."""
    simulator.configure({"line_state": state})
    arguments: dict[str, object] = {"phone": "+34611222333", "rule_group": "Aviso"}
    arguments.update(call)
    with pytest.raises(InfocallerRejectedError) as caught:
        await _client(session, simulator, RequestFormat.XML).issue_call(
            CallRequest(**arguments)
        )  # type: ignore[arg-type]
    assert caught.value.result.result == code


@pytest.mark.parametrize("request_format", list(RequestFormat))
@pytest.mark.parametrize(
    ("misbehave", "error"),
    [
        ("http_500", InfocallerResponseError),
        ("html", InfocallerResponseError),
        ("empty", InfocallerResponseError),
        ("truncated", InfocallerResponseError),
        ("reset", InfocallerTimeoutError),
        ("redirect", InfocallerResponseError),
    ],
)
async def test_misbehaving_server(
    session: aiohttp.ClientSession,
    simulator: Simulator,
    request_format: RequestFormat,
    misbehave: str,
    error: type[Exception],
) -> None:
    """Broken answers: a clear error, one request only, and the next one works."""
    simulator.configure({"misbehave": misbehave})
    client = _client(session, simulator, request_format)
    with pytest.raises(error):
        await client.issue_call(CallRequest(phone="+34611222333", rule_group="Aviso"))
    assert len(simulator.requests) == 1
    assert simulator.redirects_followed == 0
    simulator.configure({"misbehave": None})
    assert (
        await client.issue_call(CallRequest(phone="+34611222333", rule_group="Aviso"))
    ).accepted


async def test_slow_server_times_out_once(
    session: aiohttp.ClientSession, simulator: Simulator
) -> None:
    """No answer in time: outcome unknown, and never resent."""
    simulator.configure({"delay": 1.0})
    client = _client(session, simulator, RequestFormat.JSON, timeout=0.3)
    with pytest.raises(InfocallerTimeoutError, match=r"within 0\.3 s"):
        await client.issue_call(CallRequest(phone="+34611222333", rule_group="Aviso"))
    assert len(simulator.requests) == 1
    assert simulator.requests[0].idcall == "SIM00000001"


async def test_nothing_listening_is_a_connection_error(
    session: aiohttp.ClientSession,
) -> None:
    """A closed port: connection error (nothing was sent)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = InfocallerClient(
        session, DEMO_LINE, DEMO_PASSWORD, endpoint=f"http://127.0.0.1:{port}"
    )
    with pytest.raises(InfocallerConnectionError):
        await client.issue_call(CallRequest(phone="+34611222333", rule_group="Aviso"))


async def test_simulator_refuses_missing_field_and_bad_document(
    session: aiohttp.ClientSession, simulator: Simulator
) -> None:
    """The simulator's own request checks (-99, -3, -2)."""
    for form, code in (
        ({"other": "x"}, "-99"),
        ({"apiCALLjson": "{not json"}, "-3"),
        ({"apiCALLxml": "<callRequest><UserID/></callRequest>"}, "-2"),
    ):
        async with session.post(simulator.url, data=form) as response:
            assert f"<Resultado>{code}</Resultado>" in await response.text() or (
                f'"Resultado": "{code}"' in await response.text()
            )


async def test_simulator_control_endpoints(
    session: aiohttp.ClientSession, simulator: Simulator
) -> None:
    """Tests in another process drive the simulator over HTTP."""
    async with session.post(
        f"{simulator.url}/_simulator/configure", json={"force_result": 11}
    ) as response:
        assert response.status == 200
    async with session.post(
        f"{simulator.url}/_simulator/configure", json={"misbehave": "explode"}
    ) as response:
        assert response.status == 400
    with pytest.raises(InfocallerRejectedError):
        await _client(session, simulator, RequestFormat.JSON).issue_call(
            CallRequest(phone="+34611222333", rule_group="Aviso")
        )
    async with session.get(f"{simulator.url}/_simulator/requests") as response:
        received = await response.json()
    assert [item["result"] for item in received] == [11]
    async with session.post(f"{simulator.url}/_simulator/reset") as response:
        assert response.status == 200
    assert simulator.requests == []
    assert simulator.force_result is None


async def test_simulator_listens_on_loopback_only() -> None:
    """It refuses any other address."""
    with pytest.raises(ValueError, match="loopback"):
        await Simulator().start(host="0.0.0.0")  # noqa: S104


async def test_declared_charset_is_honoured(session: aiohttp.ClientSession) -> None:
    """An answer in ISO-8859-1, declared in Content-Type, decodes correctly."""

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(
            body='{"callRequest":{"Resultado":"5","ResultadoTexto":"Teléfono no válido"}}'.encode(
                "latin-1"
            ),
            headers={"Content-Type": "application/json; charset=iso-8859-1"},
        )

    async with _serve(handler) as endpoint:
        client = InfocallerClient(session, DEMO_LINE, DEMO_PASSWORD, endpoint=endpoint)
        with pytest.raises(InfocallerRejectedError) as caught:
            await client.issue_call(
                CallRequest(phone="+34611222333", rule_group="Aviso")
            )
    assert caught.value.result.result_text == "Teléfono no válido"


async def test_a_connect_that_hangs_is_not_sent(
    session: aiohttp.ClientSession,
) -> None:
    """A TLS handshake that never completes: "not sent", within the connect timeout.

    The server accepts the TCP connection and then says nothing, so the
    client's TLS handshake hangs: no request byte can have left.
    """
    received: list[bytes] = []
    connections: list[asyncio.StreamWriter] = []

    async def silent(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connections.append(writer)
        received.append(await reader.read(65536))

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = InfocallerClient(
        session,
        DEMO_LINE,
        DEMO_PASSWORD,
        endpoint=f"https://127.0.0.1:{port}",
        timeout=5,
        connect_timeout=0.3,
    )
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(InfocallerConnectionError, match=r"within 0\.3 s") as caught:
            await client.issue_call(
                CallRequest(phone="+34611222333", rule_group="Aviso")
            )
        assert (caught.value.reason, caught.value.seconds) == (
            Reason.CONNECT_TIMEOUT,
            0.3,
        )
        assert asyncio.get_running_loop().time() - started < 2
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
    assert len(connections) == 1
    # Only the TLS ClientHello reached the server, never the request.
    assert all(b"apiCALL" not in chunk for chunk in received)


async def test_utf8_answer_with_bom_and_a_wrong_label(
    session: aiohttp.ClientSession,
) -> None:
    """An accepted answer with a BOM, labelled ISO-8859-1, keeps its call id."""

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(
            body=b"\xef\xbb\xbf"
            + '{"callRequest":{"idcall":"88","Resultado":"0","ResultadoTexto":"Aceptada ñ"}}'.encode(),
            headers={"Content-Type": "application/json; charset=iso-8859-1"},
        )

    async with _serve(handler) as endpoint:
        client = InfocallerClient(session, DEMO_LINE, DEMO_PASSWORD, endpoint=endpoint)
        result = await client.issue_call(
            CallRequest(phone="+34611222333", rule_group="Aviso")
        )
    assert (result.call_id, result.result_text) == ("88", "Aceptada ñ")


@pytest.mark.parametrize("request_format", list(RequestFormat))
async def test_unsendable_value_sends_nothing(
    session: aiohttp.ClientSession,
    simulator: Simulator,
    request_format: RequestFormat,
) -> None:
    """A lone surrogate raises the client's own error, and nothing is sent."""
    client = _client(session, simulator, request_format)
    with pytest.raises(InfocallerRequestError):
        await client.issue_call(
            CallRequest(
                phone="+34611222333", rule_group="Aviso", variables=(("V", "\ud83d"),)
            )
        )
    assert simulator.requests == []


async def test_tls_failure_is_not_sent(
    session: aiohttp.ClientSession, simulator: Simulator
) -> None:
    """https:// to a server that speaks plain HTTP: a TLS failure, nothing sent."""
    client = InfocallerClient(
        session,
        DEMO_LINE,
        DEMO_PASSWORD,
        endpoint=simulator.url.replace("http://", "https://"),
        timeout=5,
    )
    with pytest.raises(InfocallerConnectionError) as caught:
        await client.issue_call(CallRequest(phone="+34611222333", rule_group="Aviso"))
    assert caught.value.reason is Reason.TLS
    assert simulator.requests == []


def test_simulator_strips_the_punctuation_of_pasted_urls() -> None:
    """URLs pasted out of sentences lose the punctuation that ends them."""
    base = "http://127.0.0.1:8123/api/webhook/abc"
    pasted = (
        f"INICIO: `{base}?event=answered&line=[_NumInfocaller]`,\n"
        f"FIN ({base}?event=ended&line=[_NumInfocaller]);\n"
        f"Keys: {base}?event=query&digits=[PULSACION]. Replace PULSACION."
    )
    assert urls_by_event(pasted) == {
        "INICIO": f"{base}?event=answered&line=[_NumInfocaller]",
        "FIN": f"{base}?event=ended&line=[_NumInfocaller]",
        "API_QUERY": f"{base}?event=query&digits=[PULSACION]",
    }
