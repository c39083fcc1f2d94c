"""Incoming calls and security: the fixes of the attack on issue 22.

The keys budget, the keys out of entities, device triggers, the blueprint.
"""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.infocaller.const import DOMAIN, EVENT_INCOMING_CALL
from custom_components.infocaller.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.infocaller.digits_budget import (
    DIGITS_PER_CALLER,
    DIGITS_PER_LINE,
    guessing_issue_id,
)

from .conftest import (
    LINE,
    WEBHOOK_ID,
    LineDevices,
    automation_trigger,
    incoming_call_event,
    ran,
    setup_automations,
)
from .test_blueprint import (  # noqa: F401 (autouse fixture)
    _fire,
    _incoming,
    _incoming_automation,
    our_blueprint_folder,
)
from .test_call_progress_flow import EXTERNAL, _turn_on

URL = f"/api/webhook/{WEBHOOK_ID}"
NOW = "2030-03-01 12:00:00+00:00"
PIN = "918273"


async def _keys(client: Any, caller: str, call_id: str, digits: str = PIN) -> None:
    response = await client.get(
        URL,
        params={
            "event": "query",
            "call_id": call_id,
            "caller": caller,
            "called": LINE,
            "digits": digits,
        },
    )
    assert response.status == 200


# -- H3: the keys of incoming calls have a budget --------------------------------


async def test_keys_beyond_the_budget_are_dropped_counted_and_reported(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Per caller, then per line; one warning without keys or numbers; a repair."""
    freezer.move_to(NOW)
    caplog.set_level(logging.DEBUG)
    fired = async_capture_events(hass, EVENT_INCOMING_CALL)
    client = await hass_client_no_auth()
    for n in range(DIGITS_PER_CALLER + 2):  # one caller: 5 fire, 2 dropped
        await _keys(client, "699000111", f"1{n}")
    await hass.async_block_till_done()
    assert len(fired) == DIGITS_PER_CALLER
    for n in range(DIGITS_PER_LINE):  # a caller each: the line's 5 left fire
        await _keys(client, f"6990002{n:02d}", f"2{n}")
    await hass.async_block_till_done()
    assert len(fired) == DIGITS_PER_LINE
    dropped = 2 + DIGITS_PER_LINE - (DIGITS_PER_LINE - DIGITS_PER_CALLER)
    diagnostics = await async_get_config_entry_diagnostics(hass, progress_integration)
    assert diagnostics["incoming_calls"]["digits_dropped"] == dropped
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, guessing_issue_id(progress_integration.entry_id)
    )
    assert issue is not None
    assert issue.translation_key == "pin_guessing"
    assert issue.severity is ir.IssueSeverity.WARNING
    warnings = [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING
        and record.name.startswith("custom_components.infocaller")
    ]
    assert len(warnings) == 1
    assert "make new URLs" in warnings[0].getMessage()
    ours = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.infocaller")
    )
    assert PIN not in ours
    assert "699000" not in ours
    # Ten minutes later the budget is back.
    freezer.tick(timedelta(minutes=10, seconds=1))
    await _keys(client, "699000111", "31")
    await hass.async_block_till_done()
    assert len(fired) == DIGITS_PER_LINE + 1
    assert fired[-1].data["digits"] == PIN


async def test_new_urls_clear_the_pin_guessing_repair(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Showing the same URLs keeps the repair; making new ones clears it."""
    client = await hass_client_no_auth()
    for n in range(DIGITS_PER_CALLER + 1):
        await _keys(client, "699000111", f"1{n}")
    await hass.async_block_till_done()
    issues = ir.async_get(hass)
    issue_id = guessing_issue_id(progress_integration.entry_id)
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    await hass.config.async_update(external_url=EXTERNAL)
    result = await _turn_on(hass, progress_integration, new_urls=False)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    result = await _turn_on(hass, progress_integration, new_urls=True)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None


async def test_removing_the_line_removes_the_pin_guessing_repair(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A removed line leaves no repair behind."""
    client = await hass_client_no_auth()
    for n in range(DIGITS_PER_CALLER + 1):
        await _keys(client, "699000111", f"1{n}")
    await hass.async_block_till_done()
    issue_id = guessing_issue_id(progress_integration.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    await hass.config_entries.async_remove(progress_integration.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


# -- M3: the keys are not in the entities' state ---------------------------------


async def test_call_progress_entity_shows_our_calls_keys_not_a_strangers(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Keys of a report that matched no call of ours stay off the entity.

    The line's own number as caller makes the report outbound (never
    incoming): it matches no call, so it is a ``match: none`` progress
    report, whose keys may be anybody's PIN.
    """
    events = async_capture_events(hass, "infocaller_call_progress")
    client = await hass_client_no_auth()
    response = await client.get(
        URL,
        params={
            "event": "query",
            "call_id": "555",
            "caller": LINE,
            "called": "699000111",
            "digits": PIN,
        },
    )
    assert response.status == 200
    await hass.async_block_till_done()
    assert [event.data["digits"] for event in events] == [PIN]  # the bus has them
    assert events[0].data["match"] == "none"
    state = hass.states.get(f"event.infocaller_{LINE}_call_progress")
    assert state is not None
    assert state.attributes["event_type"] == "digits"
    assert "digits" not in state.attributes
    assert PIN not in str(state.attributes)


# -- M6 and LOW: device triggers ---------------------------------------------------


async def test_keys_trigger_takes_a_from_number_and_ignores_a_final_hash(
    hass: HomeAssistant,
    line: MockConfigEntry,
    devices: LineDevices,
    service_calls: list[ServiceCall],
) -> None:
    """*Keys pressed on an incoming call* from one number; "1234#" is "1234"."""
    await setup_automations(
        hass,
        {
            "pin": automation_trigger(devices.line, "incoming_digits", digits="1234"),
            "mum_pin": automation_trigger(
                devices.line, "incoming_digits", digits="1234", caller="622 333 444"
            ),
            "hash_pin": automation_trigger(
                devices.line, "incoming_digits", digits="1234#"
            ),
        },
    )
    hass.bus.async_fire(
        EVENT_INCOMING_CALL,
        incoming_call_event(line.entry_id, "digits", digits="1234#"),
    )
    await hass.async_block_till_done()
    assert sorted(ran(service_calls)) == ["hash_pin", "mum_pin", "pin"]
    service_calls.clear()
    hass.bus.async_fire(
        EVENT_INCOMING_CALL,
        incoming_call_event(line.entry_id, "digits", digits="1234")
        | {
            "caller": "+34699000000",
            "saved_call": None,
            "saved_call_id": None,
            "saved_calls": [],
            "saved_call_ids": [],
        },
    )
    await hass.async_block_till_done()
    assert ran(service_calls) == ["pin"]
    service_calls.clear()
    hass.bus.async_fire(
        EVENT_INCOMING_CALL,
        incoming_call_event(line.entry_id, "digits", digits="12345"),
    )
    await hass.async_block_till_done()
    assert ran(service_calls) == []


# -- M6 and L1: the blueprint --------------------------------------------------------


async def test_blueprint_name_entry_matches_every_saved_call_of_the_caller(
    hass: HomeAssistant,
) -> None:
    """An entry naming the caller's second saved call opens too."""
    opened = await _incoming_automation(hass, numbers=["Mamá (alarma)"])
    data = _incoming("answered", "+34622333444", saved_call="Mamá") | {
        "saved_calls": ["Mamá", "Mamá (alarma)"],
        "saved_call_ids": ["sub1", "sub2"],
    }
    await _fire(hass, data)
    assert len(opened) == 1


@pytest.mark.parametrize(
    ("entry", "opens"),
    [
        ("611.222.333", True),
        ("+34 611 222 333", True),
        ("Vecino 611222333", False),  # letters: a name, and no saved call has it
        ("12", False),  # fewer than 3 digits: a name
    ],
)
async def test_blueprint_entry_without_letters_is_a_number(
    hass: HomeAssistant, entry: str, opens: bool
) -> None:
    """No letters and 3 digits or more: a number, however it is written."""
    opened = await _incoming_automation(hass, numbers=[entry])
    await _fire(hass, _incoming("answered", "+34611222333"))
    assert len(opened) == int(opens)
