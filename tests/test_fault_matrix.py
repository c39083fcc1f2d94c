"""Every network and server fault, on real loopback sockets, through the action.

One table (``FAULTS``), mirrored by docs/reliability.md's fault table. For
each fault, the real client inside Home Assistant talks to a real socket;
the test checks how many requests the server received (0 when nothing
could leave, 1 otherwise, never 2), the translated error (may have been
placed, or not sent), the record, event and sensor, the duplicate guard
(a call that may have been placed counts as sent), and that the next
ordinary call succeeds. Home Assistant's test harness fails any test that
leaves a task or a timer behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import datetime as dt
import functools
import json
from pathlib import Path
import socket
import ssl
import threading
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller.api import InfocallerClient
from custom_components.infocaller.api.client import MAX_RESPONSE_BYTES
from custom_components.infocaller.const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    DOMAIN,
    EVENT_CALL_RESULT,
)
from custom_components.infocaller.diagnostics import (
    async_get_config_entry_diagnostics,
)

from .conftest import LINE, PASSWORD

pytestmark = pytest.mark.usefixtures("socket_enabled")

TIMEOUT = 1.0
CONNECT_TIMEOUT = 0.4
LAST_RESULT = "sensor.infocaller_34910000000_last_result"
ACCEPTED = json.dumps(
    {"callRequest": {"idcall": "900", "Resultado": "0", "ResultadoTexto": "Aceptada"}}
).encode()
ACCEPTED_XML = (
    b"<?xml version='1.0'?><callRequest><idcall>900</idcall>"
    b"<Resultado>0</Resultado><ResultadoTexto>Aceptada</ResultadoTexto></callRequest>"
)


@dataclass(frozen=True)
class Fault:
    """One row of the matrix."""

    name: str
    #: What the endpoint is: the raw server ("http"), the raw server over
    #: https (it speaks no TLS), a TLS server with a self-signed
    #: certificate, a TLS handshake that hangs, a closed port, a name that
    #: does not resolve.
    endpoint: str
    #: What the raw server answers (see ``RawServer.answer``).
    answer: str = "ok"
    #: HTTP requests the server must have received.
    requests: int = 1
    #: The translated error's key, and the recorded result key.
    error_key: str = ""
    result_key: str = ""
    #: Whether the call may have been placed (the guard counts it as sent).
    may_have_been_placed: bool = False


FAULTS = [
    Fault("connection refused", "closed", requests=0, error_key="cannot_connect",
          result_key="connection_error"),
    Fault("DNS failure", "dns", requests=0, error_key="not_sent_dns",
          result_key="connection_error"),
    Fault("TLS failure (not TLS)", "https", requests=0, error_key="not_sent_tls",
          result_key="connection_error"),
    Fault("TLS failure (self-signed)", "self_signed", requests=0,
          error_key="not_sent_tls", result_key="connection_error"),
    Fault("connect timeout", "hang", requests=0, error_key="not_sent_timeout",
          result_key="connection_error"),
    Fault("no answer in time", "http", "silent", error_key="outcome_unknown_timeout",
          result_key="no_answer", may_have_been_placed=True),
    Fault("reset mid-answer", "http", "reset", error_key="outcome_unknown_broken",
          result_key="no_answer", may_have_been_placed=True),
    Fault("HTTP 500, text body", "http", "500_text",
          error_key="outcome_unknown_unreadable", result_key="no_answer",
          may_have_been_placed=True),
    Fault("HTTP 502, empty", "http", "502_empty", error_key="outcome_unknown_empty",
          result_key="no_answer", may_have_been_placed=True),
    Fault("HTTP 503, readable refusal", "http", "503_readable",
          error_key="result_internal_error", result_key="internal_error"),
    Fault("HTTP 200, HTML page", "http", "html",
          error_key="outcome_unknown_unreadable", result_key="no_answer",
          may_have_been_placed=True),
    Fault("empty body", "http", "empty", error_key="outcome_unknown_empty",
          result_key="no_answer", may_have_been_placed=True),
    Fault("truncated JSON", "http", "truncated_json",
          error_key="outcome_unknown_unreadable", result_key="no_answer",
          may_have_been_placed=True),
    Fault("truncated XML", "http", "truncated_xml",
          error_key="outcome_unknown_unreadable", result_key="no_answer",
          may_have_been_placed=True),
    Fault("body over the size cap", "http", "oversize",
          error_key="outcome_unknown_too_large", result_key="no_answer",
          may_have_been_placed=True),
    Fault("invalid UTF-8", "http", "invalid_utf8",
          error_key="outcome_unknown_unreadable", result_key="no_answer",
          may_have_been_placed=True),
    Fault("redirect to http", "http", "redirect_http",
          error_key="outcome_unknown_unreadable", result_key="no_answer",
          may_have_been_placed=True),
    Fault("redirect to another host", "http", "redirect_host",
          error_key="outcome_unknown_unreadable", result_key="no_answer",
          may_have_been_placed=True),
    Fault("unknown Resultado", "http", "unknown_code",
          error_key="result_unknown_code", result_key="unknown_code"),
    Fault("slow drip, never completes", "http", "drip",
          error_key="outcome_unknown_timeout", result_key="no_answer",
          may_have_been_placed=True),
]  # fmt: skip


class RawServer:
    """A loopback HTTP/1.1 server written on raw sockets, to misbehave exactly."""

    def __init__(self) -> None:
        """Answer "ok" until told otherwise."""
        self.answer = "ok"
        self.requests = 0
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(
            self._connection, "127.0.0.1", 0, ssl=ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for writer in list(self.writers):
            writer.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.writers.add(writer)
        try:
            while True:
                start = await reader.readexactly(5)
                if start != b"POST ":
                    # Not HTTP (a TLS ClientHello, say): a plain-text refusal.
                    writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                    await writer.drain()
                    return
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.requests += 1
                if not await self._answer(writer, xml=b"apiCALLxml" in body):
                    return
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
        ):
            return
        finally:
            self.writers.discard(writer)
            self.tasks.discard(task)
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, *, xml: bool) -> bool:
        """Write the answer; return whether the connection may go on."""

        def response(
            status: str,
            body: bytes,
            content_type: str = "application/json",
            extra: str = "",
        ) -> bytes:
            return (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n{extra}\r\n"
            ).encode() + body

        answer = self.answer
        if answer == "silent":
            await asyncio.sleep(3600)
        if answer == "reset":
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"callReq')
            await writer.drain()
            writer.transport.abort()
            return False
        if answer == "drip":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while True:
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.1)
        ok = (
            response("200 OK", ACCEPTED_XML, "text/xml")
            if xml
            else response("200 OK", ACCEPTED)
        )
        moved = b"<html><body>Moved</body></html>"
        bodies = {
            "ok": ok,
            "500_text": response(
                "500 Internal Server Error", b"Internal Server Error", "text/plain"
            ),
            "502_empty": response("502 Bad Gateway", b""),
            "503_readable": response(
                "503 Service Unavailable",
                b'{"callRequest":{"idcall":"","Resultado":"-100",'
                b'"ResultadoTexto":"Error interno"}}',
            ),
            "html": response(
                "200 OK", b"<html><body>Mantenimiento</body></html>", "text/html"
            ),
            "empty": response("200 OK", b""),
            "truncated_json": response("200 OK", ACCEPTED[: len(ACCEPTED) // 2]),
            "truncated_xml": response(
                "200 OK",
                b"<?xml version='1.0'?><callRequest><idcall>9</idc",
                "text/xml",
            ),
            "oversize": response("200 OK", b" " * (MAX_RESPONSE_BYTES + 10) + ACCEPTED),
            "invalid_utf8": response(
                "200 OK",
                b'{"callRequest":\xff\xfe\x80}',
                "application/json; charset=utf-8",
            ),
            "redirect_http": response(
                "302 Found",
                moved,
                "text/html",
                extra=(f"Location: http://127.0.0.1:{self.port}/elsewhere\r\n"),
            ),
            "redirect_host": response(
                "302 Found",
                moved,
                "text/html",
                extra=("Location: https://infocaller.example.org/\r\n"),
            ),
            "unknown_code": response(
                "200 OK",
                b'{"callRequest":{"idcall":"","Resultado":"77",'
                b'"ResultadoTexto":"Nuevo"}}',
            ),
        }
        writer.write(bodies[answer])
        await writer.drain()
        return True


def _self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@contextlib.asynccontextmanager
async def _endpoint(kind: str, server: RawServer, folder: Path) -> AsyncIterator[str]:
    """Yield the endpoint URL of one kind of fault (and clean it up)."""
    if kind == "http":
        yield f"http://127.0.0.1:{server.port}"
    elif kind == "https":
        yield f"https://127.0.0.1:{server.port}"
    elif kind == "closed":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    elif kind == "dns":
        with patch(
            "aiohttp.connector.TCPConnector._resolve_host",
            AsyncMock(side_effect=socket.gaierror(-2, "Name or service not known")),
        ):
            yield "https://apicall.infocaller.invalid"
    elif kind == "self_signed":
        # A blocking TLS server in a thread: its failed handshake stays out
        # of Home Assistant's event loop (which reports loop errors).
        context = _self_signed_context(folder)
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(5)

        def serve() -> None:
            with contextlib.suppress(OSError):
                connection, _ = listener.accept()
                with (
                    connection,
                    context.wrap_socket(connection, server_side=True) as tls,
                ):
                    if tls.recv(65536).startswith(b"POST "):
                        server.requests += 1

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield f"https://127.0.0.1:{listener.getsockname()[1]}"
        finally:
            listener.close()
            thread.join(5)
    else:  # "hang": TCP accepted, then silence: the TLS handshake never ends
        held: list[asyncio.StreamWriter] = []

        def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)  # kept open, and silent

        hang = await asyncio.start_server(accept, "127.0.0.1", 0)
        try:
            yield f"https://127.0.0.1:{hang.sockets[0].getsockname()[1]}"
        finally:
            for writer in held:
                writer.close()
            hang.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(hang.wait_closed(), 1)


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    """The raw server, stopped at the end."""
    raw = RawServer()
    await raw.start()
    yield raw
    await raw.stop()


async def _call(hass: HomeAssistant, phone: str = "+34611222333") -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": phone, "rule_group": "Aviso"},
        blocking=True,
        return_response=True,
    )


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
async def test_fault(
    hass: HomeAssistant, server: RawServer, tmp_path: Path, fault: Fault
) -> None:
    """One fault, end to end through the action, and the recovery after it."""
    request_format = "xml" if fault.answer == "truncated_xml" else "json"
    short = functools.partial(
        InfocallerClient, timeout=TIMEOUT, connect_timeout=CONNECT_TIMEOUT
    )
    with patch("custom_components.infocaller.account.InfocallerClient", short):
        async with _endpoint(fault.endpoint, server, tmp_path) as endpoint:
            entry = MockConfigEntry(
                domain=DOMAIN,
                unique_id=LINE,
                title=f"Infocaller {LINE}",
                data={
                    CONF_IDINFOCALLER: LINE,
                    CONF_PASSWORD: PASSWORD,
                    CONF_ENDPOINT: endpoint,
                },
                options={"request_format": request_format},
            )
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            events = async_capture_events(hass, EVENT_CALL_RESULT)
            server.answer = fault.answer
            with pytest.raises(HomeAssistantError) as caught:
                await _call(hass)
            await hass.async_block_till_done()
            assert server.requests == fault.requests
            assert caught.value.translation_key == fault.error_key
            (event,) = events
            assert event.data["result_key"] == fault.result_key
            assert hass.states.get(LAST_RESULT).state == fault.result_key
            record = entry.runtime_data.records.last
            assert record is not None
            assert record.result_key == fault.result_key
            guard = (await async_get_config_entry_diagnostics(hass, entry))["guard"]
            assert guard["recently_sent"] == int(fault.may_have_been_placed)
            assert guard["in_flight"] == 0
            if fault.may_have_been_placed:
                # Never sent twice: the same call is refused as a duplicate.
                server.answer = "ok"
                with pytest.raises(ServiceValidationError) as duplicate:
                    await _call(hass)
                assert duplicate.value.translation_key == "duplicate_call"
                assert server.requests == 1
        # Recovery: the next ordinary call goes through, on a working server.
        server.answer = "ok"
        before = server.requests
        hass.config_entries.async_update_entry(
            entry,
            data={**entry.data, CONF_ENDPOINT: f"http://127.0.0.1:{server.port}"},
        )
        await hass.async_block_till_done()
        response = await _call(hass, phone="+34622333444")
        assert response["result_key"] == "accepted"
        assert server.requests == before + 1
        # No connection is left held by the fault (idle keep-alive is fine).
        connector = async_get_clientsession(hass).connector
        assert connector is not None
        assert not connector._acquired
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


def test_the_reliability_page_mirrors_the_table() -> None:
    """docs/reliability.md's fault table has one row per fault, in this order."""
    page = (Path(__file__).parents[1] / "docs" / "reliability.md").read_text()
    heading = "## Every network and server fault"
    section = page.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [
        line.split("|")[1].strip()
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| fault")
    ]
    assert rows == [fault.name for fault in FAULTS]
    for fault in FAULTS:
        row = next(line for line in section.splitlines() if f"| {fault.name} |" in line)
        assert f"`{fault.error_key}`" in row
        assert ("may have" in row) is fault.may_have_been_placed
