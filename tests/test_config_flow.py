"""Tests for the Infocaller config, reauth, reconfigure and options flows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)

from custom_components.infocaller.const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    CONF_MAX_WAIT,
    CONF_REQUEST_FORMAT,
    CONF_RETRIES,
    CONF_TIME_ZONE,
    DOMAIN,
)

from .conftest import (
    ENDPOINT,
    LINE,
    PASSWORD,
    answer_json,
    connector_error,
    sent_requests,
)

DEFAULT_ENDPOINT = "https://apicall.infoe.es"


async def test_user_flow(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    mock_setup_entry: AsyncMock,
) -> None:
    """The line is checked with the probe and the entry created (and set up)."""
    aioclient_mock.post(DEFAULT_ENDPOINT, text=answer_json(4))
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert "advanced" in result["data_schema"].schema

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_IDINFOCALLER: "+34 910 000 000", CONF_PASSWORD: PASSWORD},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Infocaller {LINE}"
    assert result["data"] == {CONF_IDINFOCALLER: LINE, CONF_PASSWORD: PASSWORD}
    assert result["result"].unique_id == LINE
    assert len(mock_setup_entry.mock_calls) == 1
    # The probe cannot ring anyone: impossible phone, rule group and date.
    (probe,) = sent_requests(aioclient_mock)
    data = probe["body"]["callRequest"]["callData"]
    assert data["numtelefono"] == "0"
    assert data["fechahora"] == "2000-01-01T00:00:00"


@pytest.mark.parametrize(
    ("line_input", "mock", "errors"),
    [
        (
            "34-abc",
            {"text": answer_json(4)},
            {CONF_IDINFOCALLER: "invalid_idinfocaller"},
        ),
        ("123", {"text": answer_json(4)}, {CONF_IDINFOCALLER: "invalid_idinfocaller"}),
        (LINE, {"text": answer_json(1)}, {CONF_PASSWORD: "invalid_auth"}),
        (LINE, {"text": answer_json(-1)}, {CONF_PASSWORD: "invalid_auth"}),
        (LINE, {"text": answer_json(2)}, {CONF_PASSWORD: "invalid_auth"}),
        (LINE, {"exc": connector_error()}, {"base": "cannot_connect"}),
        (LINE, {"exc": TimeoutError()}, {"base": "cannot_connect"}),
        (LINE, {"text": "<html>Mantenimiento</html>"}, {"base": "cannot_connect"}),
        (LINE, {"exc": ValueError("boom")}, {"base": "unknown"}),
    ],
)
async def test_user_flow_errors_and_recovery(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    line_input: str,
    mock: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Each error is shown on its field, and the flow then recovers."""
    aioclient_mock.post(DEFAULT_ENDPOINT, **mock)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_IDINFOCALLER: line_input, CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors

    aioclient_mock.clear_requests()
    aioclient_mock.post(DEFAULT_ENDPOINT, text=answer_json(8))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_IDINFOCALLER: LINE, CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_IDINFOCALLER] == LINE


async def test_unexpected_error_is_logged(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected exception shows "unknown" and logs the traceback."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    with patch(
        "custom_components.infocaller.config_flow.InfocallerClient.check_credentials",
        side_effect=RuntimeError("surprise"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_IDINFOCALLER: LINE, CONF_PASSWORD: PASSWORD}
        )
    assert result["errors"] == {"base": "unknown"}
    assert "Traceback" in caplog.text
    assert "surprise" in caplog.text


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("https://apicall.example.test", True),
        ("https://apicall.example.test/", True),
        ("http://127.0.0.1:8765", True),
        ("http://localhost:8765", True),
        ("http://[::1]:8765", True),
        ("http://192.168.1.10:8765", False),
        ("http://apicall.infoe.es", False),
        ("ftp://apicall.infoe.es", False),
        ("https://", False),
        ("http://[bad", False),
    ],
)
async def test_advanced_endpoint(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    endpoint: str,
    allowed: bool,
) -> None:
    """Https anywhere; plain http only on loopback."""
    if allowed:
        aioclient_mock.post(endpoint.rstrip("/"), text=answer_json(4))
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_IDINFOCALLER: LINE,
            CONF_PASSWORD: PASSWORD,
            "advanced": {CONF_ENDPOINT: endpoint},
        },
    )
    if allowed:
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_ENDPOINT] == endpoint.rstrip("/")
    else:
        assert result["errors"] == {CONF_ENDPOINT: "invalid_endpoint"}
        assert aioclient_mock.call_count == 0


@pytest.mark.usefixtures("mock_setup_entry")
async def test_default_endpoint_is_not_stored(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker
) -> None:
    """The default address is not written into the entry."""
    aioclient_mock.post(DEFAULT_ENDPOINT, text=answer_json(4))
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_IDINFOCALLER: LINE,
            CONF_PASSWORD: PASSWORD,
            "advanced": {CONF_ENDPOINT: DEFAULT_ENDPOINT},
        },
    )
    assert CONF_ENDPOINT not in result["data"]


async def test_already_configured(
    hass: HomeAssistant,
    aioclient_mock: AiohttpClientMocker,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The same line cannot be added twice."""
    mock_config_entry.add_to_hass(hass)
    aioclient_mock.post(DEFAULT_ENDPOINT, text=answer_json(4))
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_IDINFOCALLER: f"00{LINE}", CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reauth(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_answer: Callable[..., None],
) -> None:
    """A refused password is replaced after a failed and a good try."""
    result = await init_integration.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["line"] == LINE

    mock_answer(answer_json(1))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "still-wrong"}
    )
    assert result["errors"] == {CONF_PASSWORD: "invalid_auth"}

    mock_answer(answer_json(4))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "new-password"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_integration.data[CONF_PASSWORD] == "new-password"
    assert init_integration.data[CONF_ENDPOINT] == ENDPOINT
    # The entry's update listener reloaded the line with the new password.
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert init_integration.runtime_data.data[CONF_PASSWORD] == "new-password"


async def test_reauth_of_a_line_that_is_not_loaded(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_answer: Callable[..., None],
) -> None:
    """Without an update listener, the flow itself reloads (sets up) the line."""
    mock_config_entry.add_to_hass(hass)
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
    result = await mock_config_entry.start_reauth_flow(hass)
    mock_answer(answer_json(4))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "new-password"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.data[CONF_PASSWORD] == "new-password"


async def test_reconfigure(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    mock_answer: Callable[..., None],
) -> None:
    """Password and endpoint can change; the form starts with current values."""
    result = await init_integration.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"

    mock_answer(exc=TimeoutError())
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_IDINFOCALLER: LINE,
            CONF_PASSWORD: "p2",
            "advanced": {CONF_ENDPOINT: ENDPOINT},
        },
    )
    assert result["errors"] == {"base": "cannot_connect"}

    mock_answer(answer_json(4))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_IDINFOCALLER: LINE,
            CONF_PASSWORD: "p2",
            "advanced": {CONF_ENDPOINT: ENDPOINT},
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.data == {
        CONF_IDINFOCALLER: LINE,
        CONF_PASSWORD: "p2",
        CONF_ENDPOINT: ENDPOINT,
    }


async def test_reconfigure_other_line_aborts(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> None:
    """Reconfigure keeps the same line."""
    result = await init_integration.start_reconfigure_flow(hass)
    aioclient_mock.post(ENDPOINT, text=answer_json(4))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_IDINFOCALLER: "34911111111",
            CONF_PASSWORD: "p",
            "advanced": {CONF_ENDPOINT: ENDPOINT},
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_line"
    assert init_integration.data[CONF_PASSWORD] == PASSWORD


async def test_options_flow(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Defaults, format and time zone are stored as typed values."""
    runtime = init_integration.runtime_data
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_MAX_WAIT: 30.0,
            CONF_RETRIES: 2.0,
            CONF_REQUEST_FORMAT: "xml",
            CONF_TIME_ZONE: "Atlantic/Canary",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {
        CONF_MAX_WAIT: 30,
        CONF_RETRIES: 2,
        CONF_REQUEST_FORMAT: "xml",
        CONF_TIME_ZONE: "Atlantic/Canary",
    }
    await hass.async_block_till_done()
    # Takes effect at once, without a reload.
    assert init_integration.runtime_data is runtime
    assert runtime.caller.client.request_format.value == "xml"
    assert str(runtime.caller.client.time_zone) == "Atlantic/Canary"
