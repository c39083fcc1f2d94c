"""Shared fixtures for the Infocaller tests."""

from __future__ import annotations

from collections.abc import Callable, Generator
import json
import logging
from typing import Any
from unittest.mock import AsyncMock, MagicMock, patch
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import aiohttp
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)

from custom_components.infocaller.api import CallResult, RequestFormat
from custom_components.infocaller.const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    DOMAIN,
)

LINE = "34910000000"
PASSWORD = "Secr3t-line-pass"
ENDPOINT = "https://apicall.example.test"
# md5("34910000000" + "Secr3t-line-pass")
FIRMA = __import__("hashlib").md5(f"{LINE}{PASSWORD}".encode()).hexdigest()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/infocaller in every test."""


#: What Home Assistant logs when an integration does something it deprecates
#: or forbids (helpers/frame.py, block_async_io.py): "Detected that custom
#: integration 'infocaller' ..." and "Detected blocking call ...".
FRAME_REPORT_MARKERS = (
    f"Detected that custom integration '{DOMAIN}'",
    "Detected blocking call",
    "Detected code that",
)


def frame_reports(records: list[logging.LogRecord]) -> list[str]:
    """Return the Home Assistant frame and blocking-call reports in ``records``."""
    reports = []
    for record in records:
        message = record.getMessage()
        if any(marker in message for marker in FRAME_REPORT_MARKERS) and (
            "Detected blocking call" not in message or DOMAIN in message
        ):
            reports.append(message)
    return reports


@pytest.fixture(autouse=True)
def fail_on_frame_reports(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail any test in whose log Home Assistant reports this integration.

    Such reports ("... will stop working in Home Assistant 2026.12") are
    only logged, and pytest hides the log of a passing test; this makes
    them failures.
    """
    yield
    if reports := frame_reports(caplog.get_records("call")):
        pytest.fail("Home Assistant reported this integration:\n" + "\n".join(reports))


def connector_error() -> aiohttp.ClientConnectorError:
    """The error aiohttp raises when nothing accepts the connection."""
    return aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey(
            "apicall.example.test", 443, True, True, None, None, None
        ),
        OSError(111, "Connection refused"),
    )


def answer_json(code: int, idcall: str = "", text: str | None = None) -> str:
    """An Infocaller answer in JSON, as the vendor documents it."""
    from custom_components.infocaller.api import RESULT_CODES

    if text is None:
        text = RESULT_CODES[code].vendor_text if code in RESULT_CODES else "Nuevo"
    return json.dumps(
        {
            "callRequest": {
                "idcall": idcall,
                "Resultado": str(code),
                "ResultadoTexto": text,
            }
        },
        ensure_ascii=False,
    )


def answer_xml(code: int, idcall: str = "", text: str = "Texto") -> str:
    """An Infocaller answer in XML."""
    return (
        f"<?xml version='1.0'?><callRequest><idcall>{idcall}</idcall>"
        f"<Resultado>{code}</Resultado><ResultadoTexto>{text}</ResultadoTexto>"
        "</callRequest>"
    )


def sent_requests(aioclient_mock: AiohttpClientMocker) -> list[dict[str, Any]]:
    """Decode what was posted to Infocaller: [{"format": ..., "body": ...}]."""
    out = []
    for _method, _url, data, _headers in aioclient_mock.mock_calls:
        form = (
            dict(data)
            if not isinstance(data, (str, bytes))
            else {
                k: v[0]
                for k, v in parse_qs(
                    data if isinstance(data, str) else data.decode()
                ).items()
            }
        )
        ((field, text),) = form.items()
        if field == "apiCALLjson":
            out.append({"format": "json", "text": text, "body": json.loads(text)})
        else:
            out.append({"format": "xml", "text": text, "body": None})
    return out


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A configured Infocaller line."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Infocaller {LINE}",
        unique_id=LINE,
        data={
            CONF_IDINFOCALLER: LINE,
            CONF_PASSWORD: PASSWORD,
            CONF_ENDPOINT: ENDPOINT,
        },
    )


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep flows from setting up the entry they create."""
    with patch(
        "custom_components.infocaller.async_setup_entry", return_value=True
    ) as setup_entry:
        yield setup_entry


@pytest.fixture
def mock_infocaller() -> Generator[MagicMock]:
    """Patch the client class the integration builds (core's ``mock_elgato``).

    Infocaller accepts every call with id 4711 unless a test says otherwise
    (``issue_call.side_effect`` / ``return_value``).
    """
    with patch(
        "custom_components.infocaller.caller.InfocallerClient", autospec=True
    ) as client_class:
        client = client_class.return_value
        client.endpoint = ENDPOINT
        client.request_format = RequestFormat.JSON
        client.time_zone = ZoneInfo("Europe/Madrid")
        client.issue_call.return_value = CallResult(
            result=0, result_text="Aceptada", call_id="4711"
        )
        yield client


@pytest.fixture
async def setup_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_infocaller: MagicMock
) -> MockConfigEntry:
    """Set up the integration with one line and the mocked client."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
def mock_answer(
    aioclient_mock: AiohttpClientMocker,
) -> Callable[..., None]:
    """Set what Infocaller answers next (replacing any earlier answer)."""

    def _answer(
        text: str | None = None, *, exc: Exception | None = None, status: int = 200
    ) -> None:
        aioclient_mock.clear_requests()
        aioclient_mock.post(ENDPOINT, text=text, exc=exc, status=status)

    return _answer


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> MockConfigEntry:
    """Set up the integration with one line; Infocaller accepts calls."""
    aioclient_mock.post(ENDPOINT, text=answer_json(0, "4711"))
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry
