"""Saved calls: the subentry flows that add, edit and delete them."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from .conftest import BUTTON, MUM, NOTIFY, PLUMBER, add_saved_call


async def test_add_saved_call(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The data is stored normalised; entities appear without a restart."""
    plumber, mum = with_saved_calls.subentries.values()
    assert plumber.title == "El fontanero"
    assert dict(plumber.data) == {
        "phone": "+34611222333",
        "rule_group": "Click to Call",
        "variables": {"CALLCENTER": "+34911888920"},
        "max_wait": 30,
    }
    assert dict(mum.data)["message_variable"] == "MENSAJE"

    button = entity_registry.async_get(BUTTON)
    assert button is not None, [e.entity_id for e in entity_registry.entities.values()]
    assert button.translation_key == "call"
    assert button.config_subentry_id == plumber.subentry_id
    assert hass.states.get(BUTTON).attributes["friendly_name"] == ("Call El fontanero")
    assert entity_registry.async_get(NOTIFY).translation_key == "call_message"
    # Only saved calls with a message variable get a notify entity.
    assert not [
        e
        for e in er.async_entries_for_config_entry(
            entity_registry, with_saved_calls.entry_id
        )
        if e.domain == "notify" and e.config_subentry_id == plumber.subentry_id
    ]


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"name": "  "}, {"name": "missing_field"}),
        ({"name": "el FONTANERÓ"}, {"name": "name_in_use"}),
        ({"phone": "12"}, {"phone": "invalid_phone"}),
        ({"rule_group": "a\x07"}, {"rule_group": "invalid_rule_group"}),
        ({"variables": ["x"]}, {"variables": "invalid_variables"}),
        ({"variables": {"MY VAR": 1}}, {"variables": "invalid_variable_name"}),
        ({"variables": {"A": {"b": 1}}}, {"variables": "invalid_variable_value"}),
        (
            {"message_variable": "MI MENSAJE"},
            {"message_variable": "invalid_message_variable"},
        ),
        (
            {"message_variable": "M" * 60},
            {"message_variable": "invalid_message_variable"},
        ),
    ],
)
async def test_add_saved_call_errors_and_recovery(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    mock_infocaller: MagicMock,
    change: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """The same rules as the action, shown on the field; then it recovers."""
    result = await hass.config_entries.subentries.async_init(
        (with_saved_calls.entry_id, "saved_call"), context={"source": SOURCE_USER}
    )
    data = {"name": "Vecino", "phone": "+34633444555", "rule_group": "Alarma", **change}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], data
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert len(with_saved_calls.subentries) == 2
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Vecino", "phone": "+34633444555", "rule_group": "Alarma"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(with_saved_calls.subentries) == 3
    mock_infocaller.issue_call.assert_not_awaited()  # validating calls nobody
    # The new saved call has its button, never pressed.
    await hass.async_block_till_done()
    state = hass.states.get("button.call_vecino")
    assert state is not None
    assert state.state == STATE_UNKNOWN
    assert state.attributes["friendly_name"] == "Call Vecino"


async def test_reconfigure_and_delete_saved_call(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Editing renames the button at once; deleting removes its entities."""
    plumber = next(iter(with_saved_calls.subentries.values()))
    result = await hass.config_entries.subentries.async_init(
        (with_saved_calls.entry_id, "saved_call"),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": plumber.subentry_id},
    )
    assert result["type"] is FlowResultType.FORM
    # Its own name is not "in use"; the phone is checked again.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**PLUMBER, "phone": "bad"}
    )
    assert result["errors"] == {"phone": "invalid_phone"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**PLUMBER, "name": "Fontanero Juan", "retries": 2}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert with_saved_calls.subentries[plumber.subentry_id].data["retries"] == 2
    state = hass.states.get(BUTTON)
    assert state.attributes["friendly_name"] == "Call Fontanero Juan"

    assert hass.config_entries.async_remove_subentry(
        with_saved_calls, plumber.subentry_id
    )
    await hass.async_block_till_done()
    assert entity_registry.async_get(BUTTON) is None
    assert hass.states.get(BUTTON) is None
    # Mamá's entities stay, working.
    assert entity_registry.async_get(NOTIFY) is not None
    assert hass.states.get(NOTIFY).state == STATE_UNKNOWN


async def test_saved_call_changes_do_not_reload_the_line(
    hass: HomeAssistant,
    with_saved_calls: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Add, edit, drop a message variable, delete: the line never reloads.

    Its sensors keep their state throughout (no "unavailable" in history);
    only the saved call's own entities change.
    """
    from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE

    from custom_components.infocaller.saved_call import SUBENTRY_SAVED_CALL

    runtime = with_saved_calls.runtime_data
    changes = async_capture_events(hass, EVENT_STATE_CHANGED)
    line_sensor = "sensor.infocaller_34910000000_last_result"

    result = await add_saved_call(
        hass,
        with_saved_calls,
        {"name": "Vecino", "phone": "+34633444555", "rule_group": "Alarma"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hass.states.get("button.call_vecino").state == STATE_UNKNOWN
    vecino = next(
        s
        for s in with_saved_calls.subentries.values()
        if s.subentry_type == SUBENTRY_SAVED_CALL and s.title == "Vecino"
    )
    assert vecino.subentry_id in runtime.saved_calls  # the intent sees it

    # Mamá without her message variable: her notify entity goes away.
    mum = next(s for s in with_saved_calls.subentries.values() if s.title == "Mamá")
    result = await hass.config_entries.subentries.async_init(
        (with_saved_calls.entry_id, "saved_call"),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": mum.subentry_id},
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Mamá", "phone": "+34622333444", "rule_group": "Aviso"},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entity_registry.async_get(NOTIFY) is None
    assert hass.states.get(NOTIFY) is None
    assert hass.states.get("button.call_mama").state == STATE_UNKNOWN

    assert hass.config_entries.async_remove_subentry(
        with_saved_calls, vecino.subentry_id
    )
    await hass.async_block_till_done()
    assert hass.states.get("button.call_vecino") is None
    assert vecino.subentry_id not in runtime.saved_calls

    assert with_saved_calls.runtime_data is runtime  # never reloaded
    assert not [
        event
        for event in changes
        if event.data["entity_id"].startswith(
            ("sensor.infocaller_", "binary_sensor.infocaller_", "event.infocaller_")
        )
    ], "the line's entities changed state"
    assert hass.states.get(line_sensor).state != STATE_UNAVAILABLE


@pytest.mark.parametrize(
    ("language", "names"),
    [
        (
            "es",
            ["Llamar a Mamá", "Llamar a Mamá con un mensaje", "Llamar al fontanero"],
        ),
        ("en", ["Call El fontanero", "Call Mamá", "Call Mamá with a message"]),
    ],
)
async def test_names_as_each_language_writes_them(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    language: str,
    names: list[str],
) -> None:
    """Spanish says "Llamar al fontanero", not "Llamar a El fontanero".

    The device, its button and its notify entity all carry the name.
    """
    from homeassistant.helpers import device_registry as dr

    hass.config.language = language
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    for data in (PLUMBER, MUM):
        result = await add_saved_call(hass, mock_config_entry, data)
        assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    shown = sorted(
        state.attributes["friendly_name"]
        for state in hass.states.async_all(("button", "notify"))
    )
    assert shown == names
    devices = dr.async_entries_for_config_entry(
        dr.async_get(hass), mock_config_entry.entry_id
    )
    devices_named = {
        name for name in names if not name.endswith(("mensaje", "message"))
    }
    assert devices_named <= {device.name for device in devices}
