"""The config, reauth, reconfigure and options flows (client class patched).

What the credential probe sends is tested in ``tests/api``; here the
client's ``check_credentials`` answers and the tests check what the flows
make of each answer.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import AsyncMock, MagicMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_TIME_ZONE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.api import (
    CallResult,
    CredentialCheck,
    InfocallerConnectionError,
    InfocallerResponseError,
    InfocallerTimeoutError,
    RequestFormat,
)
from custom_components.infocaller.const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    CONF_MAX_WAIT,
    CONF_REQUEST_FORMAT,
    CONF_RETRIES,
    DOMAIN,
)

from .conftest import ENDPOINT, LINE, PASSWORD

DEFAULT_ENDPOINT = "https://apicall.infoe.es"


def _refused(code: int) -> CredentialCheck:
    return CredentialCheck(valid=False, result=CallResult(result=code, result_text=""))


async def _start(hass: HomeAssistant) -> Any:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    return result


async def test_user_flow(
    hass: HomeAssistant,
    mock_infocaller_class: MagicMock,
    mock_infocaller: MagicMock,
    mock_setup_entry: AsyncMock,
) -> None:
    """The line is checked with the probe and the entry created (and set up)."""
    result = await _start(hass)
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
    # The normalised line was checked against the default address.
    (_session, line, password), kwargs = mock_infocaller_class.call_args
    assert (line, password, kwargs["endpoint"]) == (LINE, PASSWORD, DEFAULT_ENDPOINT)
    mock_infocaller.check_credentials.assert_awaited_once()
    mock_infocaller.issue_call.assert_not_awaited()


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("line_input", "check", "errors"),
    [
        ("34-abc", None, {CONF_IDINFOCALLER: "invalid_idinfocaller"}),
        ("123", None, {CONF_IDINFOCALLER: "invalid_idinfocaller"}),
        ("٣٤٩١٠٠٠٠٠٠٠", None, {CONF_IDINFOCALLER: "invalid_idinfocaller"}),
        (LINE, {"return_value": _refused(1)}, {CONF_PASSWORD: "invalid_auth"}),
        (LINE, {"return_value": _refused(-1)}, {CONF_PASSWORD: "invalid_auth"}),
        (LINE, {"return_value": _refused(2)}, {CONF_PASSWORD: "invalid_auth"}),
        (
            LINE,
            {"side_effect": InfocallerConnectionError("refused")},
            {"base": "cannot_connect"},
        ),
        (
            LINE,
            {"side_effect": InfocallerTimeoutError("no answer")},
            {"base": "cannot_connect"},
        ),
        (
            LINE,
            {"side_effect": InfocallerResponseError("HTML")},
            {"base": "cannot_connect"},
        ),
        (LINE, {"side_effect": ValueError("boom")}, {"base": "unknown"}),
    ],
)
async def test_user_flow_errors_and_recovery(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    line_input: str,
    check: dict[str, Any] | None,
    errors: dict[str, str],
) -> None:
    """Each error is shown on its field, and the flow then recovers."""
    good = mock_infocaller.check_credentials.return_value
    for name, value in (check or {}).items():
        setattr(mock_infocaller.check_credentials, name, value)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_IDINFOCALLER: line_input, CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    if check is None:  # a malformed line id is refused before any request
        mock_infocaller.check_credentials.assert_not_awaited()

    mock_infocaller.check_credentials.side_effect = None
    mock_infocaller.check_credentials.return_value = good
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_IDINFOCALLER: LINE, CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_IDINFOCALLER] == LINE


@pytest.mark.usefixtures("mock_setup_entry")
async def test_demo_hints_at_the_simulator_when_advanced_is_forgotten(
    hass: HomeAssistant,
    mock_infocaller_class: MagicMock,
    mock_infocaller: MagicMock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In the demo, the default address unreachable: the simulator's is offered.

    It used to say only "Could not reach Infocaller. Check the network".
    """
    simulator = "http://127.0.0.1:8765"
    monkeypatch.setenv("INFOCALLER_DEMO_SIMULATOR", f"{simulator}/")
    good = mock_infocaller.check_credentials.return_value
    mock_infocaller.check_credentials.side_effect = InfocallerConnectionError("no")
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_IDINFOCALLER: LINE, CONF_PASSWORD: PASSWORD}
    )
    assert result["errors"] == {"base": "cannot_connect_demo"}
    assert result["description_placeholders"] == {"simulator": simulator}
    # The Advanced section is open, with the simulator's address in it.
    advanced = result["data_schema"].schema["advanced"]
    assert advanced.options["collapsed"] is False
    (endpoint,) = advanced.schema.schema
    assert endpoint.default() == simulator

    mock_infocaller.check_credentials.side_effect = None
    mock_infocaller.check_credentials.return_value = good
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_IDINFOCALLER: LINE,
            CONF_PASSWORD: PASSWORD,
            "advanced": {CONF_ENDPOINT: simulator},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_ENDPOINT] == simulator


@pytest.mark.parametrize(
    ("environment", "advanced"),
    [
        # Not the demo: no variable, or one that is not an address we accept.
        (None, {}),
        ("", {}),
        ("ftp://127.0.0.1:8765", {}),
        # The demo, but the user chose an address of their own.
        ("http://127.0.0.1:8765", {"advanced": {CONF_ENDPOINT: "https://x.test"}}),
    ],
)
async def test_no_demo_hint_outside_the_demo(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    monkeypatch: pytest.MonkeyPatch,
    environment: str | None,
    advanced: dict[str, Any],
) -> None:
    """Anywhere else, an unreachable Infocaller is the plain error."""
    if environment is None:
        monkeypatch.delenv("INFOCALLER_DEMO_SIMULATOR", raising=False)
    else:
        monkeypatch.setenv("INFOCALLER_DEMO_SIMULATOR", environment)
    mock_infocaller.check_credentials.side_effect = InfocallerConnectionError("no")
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_IDINFOCALLER: LINE, CONF_PASSWORD: PASSWORD, **advanced},
    )
    assert result["errors"] == {"base": "cannot_connect"}
    assert result["data_schema"].schema["advanced"].options["collapsed"] is (
        not advanced
    )


async def test_unexpected_error_is_logged(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected exception shows "unknown" and logs the traceback."""
    mock_infocaller.check_credentials.side_effect = RuntimeError("surprise")
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_IDINFOCALLER: LINE, CONF_PASSWORD: PASSWORD}
    )
    assert result["errors"] == {"base": "unknown"}
    assert "Traceback" in caplog.text
    assert "surprise" in caplog.text


@pytest.mark.usefixtures("mock_setup_entry")
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
    mock_infocaller_class: MagicMock,
    endpoint: str,
    allowed: bool,
) -> None:
    """Https anywhere; plain http only on loopback."""
    result = await _start(hass)
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
        assert mock_infocaller_class.call_args.kwargs["endpoint"] == endpoint.rstrip(
            "/"
        )
    else:
        assert result["errors"] == {CONF_ENDPOINT: "invalid_endpoint"}
        mock_infocaller_class.assert_not_called()


@pytest.mark.usefixtures("mock_setup_entry", "mock_infocaller")
async def test_default_endpoint_is_not_stored(hass: HomeAssistant) -> None:
    """The default address is not written into the entry."""
    result = await _start(hass)
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
    mock_infocaller: MagicMock,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The same line cannot be added twice."""
    mock_config_entry.add_to_hass(hass)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_IDINFOCALLER: f"00{LINE}", CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reauth(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """A refused password is replaced after a failed and a good try."""
    result = await setup_integration.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["line"] == LINE

    good = mock_infocaller.check_credentials.return_value
    mock_infocaller.check_credentials.return_value = _refused(1)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "still-wrong"}
    )
    assert result["errors"] == {CONF_PASSWORD: "invalid_auth"}

    mock_infocaller.check_credentials.return_value = good
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "new-password"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert setup_integration.data[CONF_PASSWORD] == "new-password"
    assert setup_integration.data[CONF_ENDPOINT] == ENDPOINT
    # The entry's update listener reloaded the line with the new password.
    await hass.async_block_till_done()
    assert setup_integration.state is ConfigEntryState.LOADED
    assert setup_integration.runtime_data.data[CONF_PASSWORD] == "new-password"


@pytest.mark.usefixtures("mock_infocaller")
async def test_reauth_of_a_line_that_is_not_loaded(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Without an update listener, the flow itself reloads (sets up) the line."""
    mock_config_entry.add_to_hass(hass)
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
    result = await mock_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "new-password"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.data[CONF_PASSWORD] == "new-password"


async def test_reconfigure(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Password and endpoint can change; the form starts with current values."""
    result = await setup_integration.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    new = {
        CONF_IDINFOCALLER: LINE,
        CONF_PASSWORD: "p2",
        "advanced": {CONF_ENDPOINT: ENDPOINT},
    }
    mock_infocaller.check_credentials.side_effect = InfocallerTimeoutError("slow")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], new)
    assert result["errors"] == {"base": "cannot_connect"}

    mock_infocaller.check_credentials.side_effect = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], new)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert setup_integration.data == {
        CONF_IDINFOCALLER: LINE,
        CONF_PASSWORD: "p2",
        CONF_ENDPOINT: ENDPOINT,
    }
    await hass.async_block_till_done()
    assert setup_integration.runtime_data.data[CONF_PASSWORD] == "p2"


@pytest.mark.usefixtures("mock_infocaller")
async def test_reconfigure_reloads_the_line_once(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """The line's update listener reloads it, once; the flow does not again.

    ``async_update_reload_and_abort`` next to an update listener would reload
    it twice, and Home Assistant 2026.x reports that (the suite's guard fails
    the test on such a report).
    """
    result = await setup_integration.start_reconfigure_flow(hass)
    with patch.object(hass.config_entries, "async_schedule_reload") as schedule_reload:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_IDINFOCALLER: LINE, CONF_PASSWORD: "new"}
        )
        await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert setup_integration.data[CONF_PASSWORD] == "new"
    schedule_reload.assert_called_once_with(setup_integration.entry_id)


@pytest.mark.usefixtures("mock_infocaller")
async def test_reconfigure_other_line_aborts(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Reconfigure keeps the same line."""
    result = await setup_integration.start_reconfigure_flow(hass)
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
    assert setup_integration.data[CONF_PASSWORD] == PASSWORD


async def test_options_flow(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller_class: MagicMock,
) -> None:
    """Defaults, format and time zone are stored as typed values."""
    runtime = setup_integration.runtime_data
    result = await hass.config_entries.options.async_init(setup_integration.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["defaults", "call_progress"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "defaults"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "defaults"
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
    assert setup_integration.options == {
        CONF_MAX_WAIT: 30,
        CONF_RETRIES: 2,
        CONF_REQUEST_FORMAT: "xml",
        CONF_TIME_ZONE: "Atlantic/Canary",
        # Loop protection keeps its defaults when not changed.
        "repeat_window": 60,
        "max_calls_per_number": 10,
        "max_calls_per_day": 0,
    }
    await hass.async_block_till_done()
    # Takes effect at once, without a reload: a client for the new options.
    assert setup_integration.runtime_data is runtime
    kwargs = mock_infocaller_class.call_args.kwargs
    assert kwargs["request_format"] is RequestFormat.XML
    assert str(kwargs["time_zone"]) == "Atlantic/Canary"
