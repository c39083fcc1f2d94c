"""Tests for setting up, unloading, removing and restarting the integration."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.storage import Store
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.infocaller.api import (
    CallRequest,
    CallResult,
    InfocallerRejectedError,
)
from custom_components.infocaller.const import DOMAIN, RECORDS_SAVE_DELAY
from custom_components.infocaller.guard import CallGuard
from custom_components.infocaller.records import InfocallerRecords

from .conftest import LINE


async def test_setup_sends_nothing(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    device_registry: dr.DeviceRegistry,
) -> None:
    """No network traffic at start-up; one service device per entry."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    mock_infocaller.issue_call.assert_not_awaited()
    mock_infocaller.check_credentials.assert_not_awaited()
    (device,) = dr.async_entries_for_config_entry(
        device_registry, mock_config_entry.entry_id
    )
    assert device.identifiers == {(DOMAIN, LINE)}
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device.name == f"Infocaller {LINE}"
    assert device.manufacturer == "Infocaller"


async def test_unload_and_remove(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Unloading keeps the records; removing the entry deletes them."""
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "A"},
        blocking=True,
    )
    key = f"{DOMAIN}.{setup_integration.entry_id}"
    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    assert setup_integration.state is ConfigEntryState.NOT_LOADED
    assert hass_storage[key]["data"]["accepted_calls"] == 1
    # The action stays registered (async_setup), refusing politely.
    assert hass.services.has_service(DOMAIN, "issue_call")
    await hass.config_entries.async_remove(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_a_reload_reads_the_files(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A reload reads records and guard back from the files, like a restart.

    Nothing is kept in memory between an unload and the next set-up; the
    files are current, so the new set-up has the same state.
    """
    entry = setup_integration
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "A"},
        blocking=True,
    )
    records = entry.runtime_data.records.as_dict()
    guard = entry.runtime_data.pipeline.guard.as_dict()
    with patch.object(
        Store, "async_load", autospec=True, side_effect=Store.async_load
    ) as load:
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
    key = f"{DOMAIN}.{entry.entry_id}"
    assert sorted(call.args[0].key for call in load.call_args_list) == [
        key,
        f"{key}.guard",
        f"{key}.progress",
    ]
    assert entry.runtime_data.records.as_dict() == records
    assert entry.runtime_data.pipeline.guard.as_dict() == guard
    assert hass.states.get(f"sensor.infocaller_{LINE}_accepted_calls").state == "1"
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
    assert f"{key}.guard" not in hass_storage
    assert f"{key}.progress" not in hass_storage


@pytest.mark.usefixtures("mock_infocaller")
async def test_records_survive_a_restart(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Sensors come back with the saved records after Home Assistant restarts."""
    freezer.move_to("2030-05-01 08:00:00+00:00")
    record = {
        "time": "2030-04-30T07:00:00+00:00",
        "source": "button",
        "phone": "+34611222333",
        "rule_group": "Aviso",
        "scheduled_for": None,
        "result": 11,
        "result_key": "insufficient_balance",
        "result_text": "Saldo insuficiente",
        "call_id": None,
    }
    hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{mock_config_entry.entry_id}",
        "data": {
            "accepted_calls": 7,
            "refused_calls": 2,
            "last_answer": record,
            "recent": [record],
        },
    }
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    prefix = f"infocaller_{LINE}"
    assert (
        hass.states.get(f"sensor.{prefix}_last_result").state == "insufficient_balance"
    )
    assert (
        hass.states.get(f"sensor.{prefix}_last_call").state
        == "2030-04-30T07:00:00+00:00"
    )
    assert hass.states.get(f"sensor.{prefix}_accepted_calls").state == "7"
    assert hass.states.get(f"sensor.{prefix}_refused_calls").state == "2"
    assert hass.states.get(f"binary_sensor.{prefix}_line_problem").state == "on"


async def test_an_accepted_call_is_on_disk_moments_after_the_action_returns(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """A crash right after an accepted call loses neither its record nor the guard.

    What is in ``hass_storage`` and the journals is what a SIGKILL would
    leave on disk. The guard's entry is there when the action returns; the
    record's journal line follows in the executor (not waited for).
    """
    key = f"{DOMAIN}.{setup_integration.entry_id}"
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "A"},
        blocking=True,
    )
    guard = CallGuard(hass, setup_integration.entry_id)
    await guard.async_load()
    with pytest.raises(ServiceValidationError):
        guard.async_check(CallRequest(phone="+34611222333", rule_group="A"))
    journal = Path(hass.config.path(".storage", f"{key}.journal"))
    # The record's line follows the action, in the background.
    await hass.async_block_till_done(wait_background_tasks=True)
    assert journal.exists()
    # Home Assistant restarts from what is on disk now.
    records = InfocallerRecords(hass, setup_integration.entry_id)
    await records.async_load()
    assert records.accepted_calls == 1
    assert records.last_answer is not None
    assert records.last_answer.result_key == "accepted"
    assert [record.phone for record in records.recent] == ["+34611222333"]
    # Read back, it is in the file now, and the journal is gone.
    assert hass_storage[key]["data"]["accepted_calls"] == 1
    assert not journal.exists()


async def test_refusals_are_saved_with_a_delay(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A refused call does not wait for the disk; its record follows within the delay."""
    key = f"{DOMAIN}.{setup_integration.entry_id}"
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=8, result_text="Grupo de reglas no existe")
    )
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": "+34611222333", "rule_group": "A"},
            blocking=True,
        )
    assert key not in hass_storage
    freezer.tick(timedelta(seconds=RECORDS_SAVE_DELAY - 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert key not in hass_storage
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    data = hass_storage[key]["data"]
    assert data["refused_calls"] == 1
    assert [record["phone"] for record in data["recent"]] == ["+34611222333"]
    # Unloading with nothing new to save writes nothing more.
    hass_storage.pop(key)
    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    assert key not in hass_storage


async def test_steady_refusals_do_not_postpone_the_save(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A refusal every 4 s: the records are still written within the delay.

    (Pushing the delayed save back on every change would never write them
    while the calls go on, and a crash would lose all of them.)
    """
    key = f"{DOMAIN}.{setup_integration.entry_id}"
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=8, result_text="Grupo de reglas no existe")
    )
    for index in range(4):
        with pytest.raises(ServiceValidationError):
            await hass.services.async_call(
                DOMAIN,
                "issue_call",
                {"phone": f"+3461122233{index}", "rule_group": "A"},
                blocking=True,
            )
        if index < 3:
            freezer.tick(timedelta(seconds=4))
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
    # 12 s after the first call, 0 s after the last: written at 10 s.
    assert hass_storage[key]["data"]["refused_calls"] == 3
    # The fourth call is written within the delay after it.
    freezer.tick(timedelta(seconds=RECORDS_SAVE_DELAY + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass_storage[key]["data"]["refused_calls"] == 4
