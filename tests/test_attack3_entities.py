"""Attack 3: entity states after an options change."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from .conftest import issue_call

STATUS = "sensor.infocaller_34910000000_last_call_status"
PHONE = "+34611222333"


async def test_attack3_call_progress_turned_off_leaves_no_call_queued_forever(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Call progress off while a call is followed: its status stays "queued".

    The reload lets the followed calls go (``progress.async_start``), but
    the records' last followed call keeps ``status: queued``: the line's
    "Last call status" says a call from days ago is still queued, and
    never changes again (nothing follows calls any more).
    """
    await issue_call(hass, PHONE)
    assert hass.states.get(STATUS).state == "queued"
    hass.config_entries.async_update_entry(
        progress_integration,
        options={**progress_integration.options, "call_progress": False},
    )
    await hass.async_block_till_done()
    freezer.tick(timedelta(days=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(STATUS).state != "queued"
