"""Call progress keeps its own store, and takes over an older records file's calls."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.const import DOMAIN
from custom_components.infocaller.progress_state import progress_store
from custom_components.infocaller.records import records_store

from .conftest import WEBHOOK_ID

NOW = "2030-03-01 12:00:00+00:00"
PHONE = "+34611222333"


async def test_calls_followed_in_an_older_records_file_are_taken_once(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A records file from before progress had a store: its calls go on."""
    freezer.move_to(NOW)
    record = {
        "time": "2030-03-01T11:59:00+00:00",
        "source": "action",
        "phone": PHONE,
        "rule_group": "Aviso",
        "scheduled_for": None,
        "result": 0,
        "result_key": "accepted",
        "result_text": "Aceptada",
        "call_id": "4700",
        "saved_call": None,
        "status": "queued",
        "window_end": "2030-03-01T12:05:30+00:00",
        "answered_at": None,
        "ended_at": None,
        "talk_seconds": None,
        "digits": None,
    }
    hass_storage[records_store(hass, mock_config_entry.entry_id).key] = {
        "version": 1,
        "key": records_store(hass, mock_config_entry.entry_id).key,
        "data": {"accepted_calls": 1, "recent": [record], "tracked": [record]},
    }
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={"call_progress": True, "webhook_id": WEBHOOK_ID}
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    progress = mock_config_entry.runtime_data.progress
    assert list(progress.tracked) == ["4700"]
    assert "tracked" not in mock_config_entry.runtime_data.records.as_dict()
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    saved = hass_storage[progress_store(hass, mock_config_entry.entry_id).key]
    assert [item["call_id"] for item in saved["data"]["tracked"]] == ["4700"]


async def test_finished_ids_and_infocallers_ids_survive_a_restart(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Read from the file: finished ids under 24 h, and a followed call's ids."""
    from custom_components.infocaller.api import Stage
    from custom_components.infocaller.api.report import ProgressReport

    freezer.move_to(NOW)
    key = progress_store(hass, mock_config_entry.entry_id).key
    followed = {
        "time": "2030-03-01T11:59:00+00:00",
        "source": "action",
        "phone": "+34622333444",
        "rule_group": "Aviso",
        "scheduled_for": None,
        "result": 0,
        "result_key": "accepted",
        "result_text": "Aceptada",
        "call_id": "4700",
        "saved_call": None,
        "status": "queued",
        "window_end": "2030-03-01T12:05:30+00:00",
        "answered_at": None,
        "ended_at": None,
        "talk_seconds": None,
        "digits": None,
    }
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": {
            "tracked": [followed],
            "ids": {"90700": "4700", "90999": "gone"},
            "finished": {
                "4600": ["4600", "2030-03-01T11:00:00+00:00"],
                "4500": ["4500", "2030-02-28T11:00:00+00:00"],
            },
        },
    }
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={"call_progress": True, "webhook_id": WEBHOOK_ID}
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    progress = mock_config_entry.runtime_data.progress
    assert set(progress.finished_ids) == {"4600"}  # 4500 is over 24 h old
    # A new call to the number of call 4600; its late FIN changes nothing.
    await hass.services.async_call(
        DOMAIN, "issue_call", {"phone": PHONE, "rule_group": "Aviso"}, blocking=True
    )
    progress.async_report(
        ProgressReport(stage=Stage.ANSWERED, call_id="4600", called="611222333")
    )
    assert progress.tracked["4711"].status == "queued"
    # Infocaller's own id for the followed call still finds it.
    progress.async_report(ProgressReport(stage=Stage.ANSWERED, call_id="90700"))
    assert progress.tracked["4700"].status == "answered"
