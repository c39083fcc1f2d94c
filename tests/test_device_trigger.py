"""Device triggers and conditions: listed, translated, and running automations.

Outbound calls run through the real pipeline (a saved call's button, the
action) and Infocaller's reports reach the line's real webhook; incoming
calls are the contract's ``infocaller_incoming_call`` event, fired on the
bus (issue 22: the incoming calls are built alongside).
"""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.device_automation.exceptions import (
    InvalidDeviceAutomationConfig,
)
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    async_get_device_automations,
)
from pytest_homeassistant_custom_component.typing import (
    WebSocketGenerator,
)

from custom_components.infocaller import device_condition, device_trigger
from custom_components.infocaller.api import CallResult, InfocallerRejectedError
from custom_components.infocaller.const import (
    DOMAIN,
    EVENT_CALL_PROGRESS,
    EVENT_CALL_RESULT,
)
from custom_components.infocaller.device_trigger import (
    EVENT_INCOMING_CALL,
    LINE_TRIGGERS,
    SAVED_CALL_TRIGGERS,
)

from .conftest import (
    BUTTON,
    LINE,
    PLUMBER_ID,
    LineDevices,
    automation_trigger,
    incoming_call_event,
    press_plumber,
    ran,
    report_accepted,
    setup_automations,
)

TRANSLATIONS = Path(__file__).parents[1] / "custom_components" / DOMAIN / "translations"


def _config(device_id: str, trigger_type: str, **extra: str) -> dict[str, Any]:
    """A device trigger as the platform is given it."""
    return {
        "platform": "device",
        "domain": DOMAIN,
        "device_id": device_id,
        "type": trigger_type,
        **extra,
    }


# -- listing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "trigger_types"),
    [
        (
            "line",  # its incoming calls and the calls it placed
            [
                "incoming_call",
                "incoming_digits",
                "answered",
                "not_answered",
                "acknowledged",
                "digits",
                "refused",
            ],
        ),
        (
            "mum",  # a saved call's: its own calls, and this person calling
            [
                "answered",
                "not_answered",
                "acknowledged",
                "digits",
                "refused",
                "called_the_line",
            ],
        ),
    ],
)
async def test_each_device_lists_its_triggers(
    hass: HomeAssistant, devices: LineDevices, device: str, trigger_types: list[str]
) -> None:
    """The line's device and a saved call's list their triggers, in order."""
    device_id = getattr(devices, device)
    triggers = [
        trigger
        for trigger in await async_get_device_automations(
            hass, DeviceAutomationType.TRIGGER, device_id
        )
        if trigger["domain"] == DOMAIN  # not the sensors' and buttons' own
    ]
    assert triggers == [
        {
            "platform": "device",
            "domain": DOMAIN,
            "device_id": device_id,
            "type": trigger_type,
            "metadata": {},
        }
        for trigger_type in trigger_types
    ]


async def test_devices_that_are_not_a_line_or_saved_call_have_none(
    hass: HomeAssistant, line: MockConfigEntry
) -> None:
    """Another integration's device, or one never known: no triggers, no conditions."""
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", LINE)}
    )
    for device_id in (device.id, "no-such-device"):
        assert await device_trigger.async_get_triggers(hass, device_id) == []
        assert await device_condition.async_get_conditions(hass, device_id) == []
        with pytest.raises(InvalidDeviceAutomationConfig, match="not an Infocaller"):
            await device_trigger.async_validate_trigger_config(
                hass, _config(device_id, "answered")
            )


async def test_a_trigger_its_device_does_not_offer_is_invalid(
    hass: HomeAssistant, devices: LineDevices
) -> None:
    """An incoming call is the line's; "called the line" a saved call's."""
    with pytest.raises(InvalidDeviceAutomationConfig, match="is a saved call"):
        await device_trigger.async_validate_trigger_config(
            hass,
            _config(devices.mum, "incoming_call"),
        )
    with pytest.raises(InvalidDeviceAutomationConfig, match="is a line"):
        await device_trigger.async_validate_trigger_config(
            hass,
            _config(devices.line, "called_the_line"),
        )


@pytest.mark.parametrize(
    ("trigger_type", "fields"),
    [
        ("incoming_call", [{"name": "caller", "optional": True, "type": "string"}]),
        (
            "incoming_digits",
            [
                {"name": "caller", "optional": True, "type": "string"},
                {"name": "digits", "optional": True, "type": "string"},
            ],
        ),
        ("digits", [{"name": "digits", "optional": True, "type": "string"}]),
        ("answered", []),
        ("refused", []),
    ],
)
async def test_optional_fields_in_the_editor(
    hass: HomeAssistant,
    devices: LineDevices,
    hass_ws_client: WebSocketGenerator,
    trigger_type: str,
    fields: list[dict[str, Any]],
) -> None:
    """The caller's number on an incoming call; the keys on keys pressed."""
    assert await async_setup_component(hass, "device_automation", {})
    ws = await hass_ws_client(hass)
    await ws.send_json(
        {
            "id": 1,
            "type": "device_automation/trigger/capabilities",
            "trigger": {
                "platform": "device",
                "domain": DOMAIN,
                "device_id": devices.line,
                "type": trigger_type,
            },
        }
    )
    response = await ws.receive_json()
    assert response["success"], response
    shown = [
        {key: field[key] for key in ("name", "optional", "type")}
        for field in response["result"].get("extra_fields", [])
    ]
    assert shown == fields


@pytest.mark.parametrize(
    ("field", "value"),
    [("caller", "not a number"), ("caller", "12"), ("digits", "12a")],
)
async def test_optional_fields_are_checked(
    hass: HomeAssistant, devices: LineDevices, field: str, value: str
) -> None:
    """A number that is none, keys a keypad does not have: refused."""
    with pytest.raises(Exception, match="expected"):
        await device_trigger.async_validate_trigger_config(
            hass,
            _config(devices.line, "incoming_call", **{field: value}),
        )


@pytest.mark.parametrize(
    ("trigger_type", "field"),
    [("answered", "caller"), ("incoming_call", "digits"), ("digits", "caller")],
)
async def test_a_field_its_trigger_does_not_take_is_invalid(
    hass: HomeAssistant, devices: LineDevices, trigger_type: str, field: str
) -> None:
    """A caller's number on "answered" would be silently ignored: refused."""
    value = {"caller": "+34622333444", "digits": "1"}[field]
    with pytest.raises(InvalidDeviceAutomationConfig, match=f"has no '{field}'"):
        await device_trigger.async_validate_trigger_config(
            hass, _config(devices.line, trigger_type, **{field: value})
        )


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_trigger_and_condition_is_translated(language: str) -> None:
    """The editor names each type in English and Spanish (and no other)."""
    texts = json.loads((TRANSLATIONS / f"{language}.json").read_text())
    automation_texts = texts["device_automation"]
    assert set(automation_texts["trigger_type"]) == set(LINE_TRIGGERS) | set(
        SAVED_CALL_TRIGGERS
    )
    assert set(automation_texts["condition_type"]) == set(
        device_condition.CONDITION_TYPES
    )
    assert set(automation_texts["extra_fields"]) == {"caller", "digits"}
    assert all(text.strip() for text in automation_texts["trigger_type"].values())


# -- outbound calls -------------------------------------------------------------


async def test_answered_runs_automations_from_a_real_webhook_request(
    hass: HomeAssistant,
    line: MockConfigEntry,
    devices: LineDevices,
    mock_infocaller: MagicMock,
    client: Any,
    service_calls: list[ServiceCall],
) -> None:
    """INICIO for the plumber's call: the line's and the plumber's automations run."""
    await setup_automations(
        hass,
        {
            "line_answered": automation_trigger(devices.line, "answered"),
            "plumber_answered": automation_trigger(devices.plumber, "answered"),
            "mum_answered": automation_trigger(devices.mum, "answered"),
            "line_incoming": automation_trigger(devices.line, "incoming_call"),
        },
    )
    await press_plumber(hass, mock_infocaller, "4711")
    await report_accepted(client, event="answered", call_id="4711")
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == ["line_answered", "plumber_answered"]
    # A report that matches no call of the line's runs nothing, nor would
    # one that a later version marks otherwise (an incoming call's).
    await report_accepted(
        client, event="answered", call_id="999", called="+34699000000"
    )
    hass.bus.async_fire(
        EVENT_CALL_PROGRESS,
        {"config_entry_id": line.entry_id, "stage": "answered", "match": "incoming"},
    )
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == ["line_answered", "plumber_answered"]


async def test_acknowledged_and_keys_pressed(
    hass: HomeAssistant,
    devices: LineDevices,
    mock_infocaller: MagicMock,
    client: Any,
    service_calls: list[ServiceCall],
) -> None:
    """API QUERY: an acknowledgement, then keys (all, or only the ones named)."""
    plumber = devices.plumber
    await setup_automations(
        hass,
        {
            "line_acknowledged": automation_trigger(devices.line, "acknowledged"),
            "plumber_acknowledged": automation_trigger(plumber, "acknowledged"),
            "line_digits": automation_trigger(devices.line, "digits"),
            "plumber_digits": automation_trigger(plumber, "digits"),
            "plumber_42": automation_trigger(plumber, "digits", digits="42"),
            "plumber_13": automation_trigger(plumber, "digits", digits="13"),
            "mum_digits": automation_trigger(devices.mum, "digits"),
            "line_incoming_digits": automation_trigger(devices.line, "incoming_digits"),
        },
    )
    await press_plumber(hass, mock_infocaller, "4711")
    await report_accepted(client, event="query", call_id="4711", digits="[PULSACION]")
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == ["line_acknowledged", "plumber_acknowledged"]
    service_calls.clear()
    await report_accepted(client, event="query", call_id="4711", digits="42")
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == [
        "line_digits",
        "plumber_42",
        "plumber_digits",
    ]
    assert {
        str(call.data["digits"]) for call in service_calls if call.domain == "test"
    } == {"42"}


async def test_not_answered_at_the_end_of_the_window(
    hass: HomeAssistant,
    devices: LineDevices,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
    service_calls: list[ServiceCall],
) -> None:
    """Nobody picked up: the inferred "not answered" runs the automations."""
    await setup_automations(
        hass,
        {
            "line_not_answered": automation_trigger(devices.line, "not_answered"),
            "plumber_not_answered": automation_trigger(devices.plumber, "not_answered"),
            "mum_not_answered": automation_trigger(devices.mum, "not_answered"),
            "plumber_answered": automation_trigger(devices.plumber, "answered"),
        },
    )
    await press_plumber(hass, mock_infocaller, "4711")
    # The plumber's maximum wait (30 min) and 90 s of ringing.
    freezer.tick(timedelta(minutes=30, seconds=91))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == ["line_not_answered", "plumber_not_answered"]


async def test_refused_by_infocaller(
    hass: HomeAssistant,
    devices: LineDevices,
    mock_infocaller: MagicMock,
    service_calls: list[ServiceCall],
) -> None:
    """A refusal runs "refused"; a call not sent (a duplicate) does not."""
    await setup_automations(
        hass,
        {
            "line_refused": automation_trigger(devices.line, "refused"),
            "plumber_refused": automation_trigger(devices.plumber, "refused"),
            "mum_refused": automation_trigger(devices.mum, "refused"),
        },
    )
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=11, result_text="Saldo insuficiente")
    )
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "button", "press", {"entity_id": BUTTON}, blocking=True
        )
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == ["line_refused", "plumber_refused"]
    service_calls.clear()
    # An action's call to another number: the line's only.
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": "+34 699 000 000", "rule_group": "Aviso"},
            blocking=True,
        )
    await hass.async_block_till_done()
    assert ran(service_calls) == ["line_refused"]
    service_calls.clear()
    # Accepted, then pressed again at once: a duplicate, never sent.
    mock_infocaller.issue_call.side_effect = None
    await press_plumber(hass, mock_infocaller, "4711")
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "button", "press", {"entity_id": BUTTON}, blocking=True
        )
    await hass.async_block_till_done()
    assert ran(service_calls) == []


async def test_outbound_events_name_the_saved_call(
    hass: HomeAssistant,
    line: MockConfigEntry,
    mock_infocaller: MagicMock,
    client: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """``saved_call_id`` in both events, for an older call of the same one too.

    The plumber is called again (past the repeat window) while the first
    call is still followed: a late report of the first still names him.
    """
    results = async_capture_events(hass, EVENT_CALL_RESULT)
    progress = async_capture_events(hass, EVENT_CALL_PROGRESS)
    await press_plumber(hass, mock_infocaller, "4711")
    freezer.tick(timedelta(seconds=61))
    await press_plumber(hass, mock_infocaller, "4712")
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id="4713"
    )
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34 699 000 000", "rule_group": "Aviso"},
        blocking=True,
    )
    assert [event.data["saved_call_id"] for event in results] == [
        PLUMBER_ID,
        PLUMBER_ID,
        None,
    ]
    await report_accepted(client, event="answered", call_id="4711")
    await report_accepted(client, event="answered", call_id="4712")
    await report_accepted(
        client, event="answered", call_id="999", called="+34655000000"
    )
    assert [
        (event.data["call_id"], event.data["saved_call_id"]) for event in progress
    ] == [("4711", PLUMBER_ID), ("4712", PLUMBER_ID), ("999", None)]


# -- incoming calls -------------------------------------------------------------


async def test_incoming_call_triggers(
    hass: HomeAssistant,
    line: MockConfigEntry,
    devices: LineDevices,
    service_calls: list[ServiceCall],
) -> None:
    """Incoming call (from anyone, from a number), keys, "this person called"."""
    await setup_automations(
        hass,
        {
            "incoming": automation_trigger(devices.line, "incoming_call"),
            "from_mum": automation_trigger(
                devices.line, "incoming_call", caller="622 333 444"
            ),
            "from_stranger": automation_trigger(
                devices.line, "incoming_call", caller="0034 699 000 000"
            ),
            "mum_called": automation_trigger(devices.mum, "called_the_line"),
            "plumber_called": automation_trigger(devices.plumber, "called_the_line"),
            "keys": automation_trigger(devices.line, "incoming_digits"),
            "pin": automation_trigger(devices.line, "incoming_digits", digits="1234"),
            "answered": automation_trigger(devices.line, "answered"),
        },
    )
    hass.bus.async_fire(
        EVENT_INCOMING_CALL, incoming_call_event(line.entry_id, "answered")
    )
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == ["from_mum", "incoming", "mum_called"]
    service_calls.clear()
    hass.bus.async_fire(
        EVENT_INCOMING_CALL, incoming_call_event(line.entry_id, "digits", digits="1234")
    )
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == ["keys", "pin"]
    service_calls.clear()
    # A stranger (no saved call) with the wrong PIN; then another line's call.
    stranger = {
        "caller": "+34699000000",
        "saved_call": None,
        "saved_call_id": None,
        "saved_calls": [],
        "saved_call_ids": [],
    }
    hass.bus.async_fire(
        EVENT_INCOMING_CALL, incoming_call_event(line.entry_id, "answered", **stranger)
    )
    hass.bus.async_fire(
        EVENT_INCOMING_CALL,
        incoming_call_event(line.entry_id, "digits", digits="9999", **stranger),
    )
    hass.bus.async_fire(
        EVENT_INCOMING_CALL, incoming_call_event("another-line", "answered")
    )
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == ["from_stranger", "incoming", "keys"]


async def test_incoming_triggers_run_from_real_webhook_requests(
    hass: HomeAssistant,
    devices: LineDevices,
    client: Any,
    service_calls: list[ServiceCall],
) -> None:
    """Mum calls the line and types her PIN: reports through the real webhook."""
    await setup_automations(
        hass,
        {
            "incoming": automation_trigger(devices.line, "incoming_call"),
            "from_mum": automation_trigger(
                devices.line, "incoming_call", caller="622 333 444"
            ),
            "mum_called": automation_trigger(devices.mum, "called_the_line"),
            "plumber_called": automation_trigger(devices.plumber, "called_the_line"),
            "pin": automation_trigger(devices.line, "incoming_digits", digits="1234"),
            "answered": automation_trigger(devices.line, "answered"),
        },
    )
    call = {"call_id": "800000001", "caller": "0034622333444", "called": LINE}
    await report_accepted(client, event="inicio", **call)
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == ["from_mum", "incoming", "mum_called"]
    service_calls.clear()
    await report_accepted(client, event="query", digits="1234", **call)
    await report_accepted(client, event="fin", **call)
    await hass.async_block_till_done()
    assert ran(service_calls) == ["pin"]


# -- a saved call removed -------------------------------------------------------


async def test_a_removed_saved_call_has_no_triggers(
    hass: HomeAssistant,
    line: MockConfigEntry,
    devices: LineDevices,
    mock_infocaller: MagicMock,
    client: Any,
    service_calls: list[ServiceCall],
) -> None:
    """Its device goes; validating or attaching its trigger says why it fails."""
    device_id = devices.plumber
    config = _config(device_id, "answered")
    config = await device_trigger.async_validate_trigger_config(hass, config)
    assert hass.config_entries.async_remove_subentry(line, PLUMBER_ID)
    await hass.async_block_till_done()
    assert dr.async_get(hass).async_get(device_id) is None
    assert await device_trigger.async_get_triggers(hass, device_id) == []
    with pytest.raises(InvalidDeviceAutomationConfig, match="may have been removed"):
        await device_trigger.async_validate_trigger_config(hass, config)

    async def action(run_variables: dict[str, Any], context: Any = None) -> None:
        raise AssertionError("attached")  # pragma: no cover

    with pytest.raises(InvalidDeviceAutomationConfig, match="may have been removed"):
        await device_trigger.async_attach_trigger(
            hass,
            config,
            action,
            {
                "domain": "automation",
                "name": "plumber",
                "home_assistant_start": False,
                "variables": {},
                "trigger_data": {"id": "0", "idx": "0", "alias": None},
            },
        )


async def test_an_automation_of_a_removed_saved_call_says_why(
    hass: HomeAssistant,
    line: MockConfigEntry,
    devices: LineDevices,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Reloaded after the saved call went: unavailable, and the log says why.

    Its device left the registry with it, so Home Assistant's own check
    answers first (*Unknown device*); ours speaks for a device that is
    still there but no longer the line's (tested above).
    """
    device_id = devices.plumber
    await setup_automations(
        hass, {"plumber_answered": automation_trigger(device_id, "answered")}
    )
    assert hass.config_entries.async_remove_subentry(line, PLUMBER_ID)
    await hass.async_block_till_done()
    with patch(
        "homeassistant.config.load_yaml_config_file",
        return_value={
            automation.DOMAIN: [
                {
                    "alias": "plumber_answered",
                    "triggers": [automation_trigger(device_id, "answered")],
                    "actions": [{"action": "test.automation"}],
                }
            ]
        },
    ):
        await hass.services.async_call(automation.DOMAIN, "reload", blocking=True)
    await hass.async_block_till_done()
    assert hass.states.get("automation.plumber_answered").state == "unavailable"
    assert "'plumber_answered' failed to setup triggers" in caplog.text
    assert f"Unknown device '{device_id}'" in caplog.text
