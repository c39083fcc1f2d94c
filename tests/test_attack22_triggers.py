"""Attack on issue 22: device triggers of saved calls that share a number."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

from homeassistant.components import automation
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.infocaller.const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    DOMAIN,
)

from .conftest import ENDPOINT, LINE, PASSWORD, SAVED_CALLS, WEBHOOK_ID, device_id

URL = f"/api/webhook/{WEBHOOK_ID}"
#: A second saved call for Mamá: the same phone, another rule group.
MUM_ALARM = ConfigSubentryData(
    data={"phone": "+34622333444", "rule_group": "Alarma", "variables": {}},
    subentry_id="mum00003",
    subentry_type="saved_call",
    title="Mamá (alarma)",
    unique_id=None,
)


async def test_each_saved_call_of_the_caller_hears_that_they_called(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    hass_client_no_auth: ClientSessionGenerator,
    service_calls: list[ServiceCall],
) -> None:
    """Each saved call with the caller's number hears that they called.

    Mamá has two saved calls (the same phone, two rule groups: natural,
    a saved call is a number *and* a script). Both devices offer "This
    person called the line"; when she calls, only the first saved call's
    trigger runs: the event names one saved call (the first whose phone
    matches) and the trigger filters on its ``saved_call_id``.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Infocaller {LINE}",
        unique_id=LINE,
        data={
            CONF_IDINFOCALLER: LINE,
            CONF_PASSWORD: PASSWORD,
            CONF_ENDPOINT: ENDPOINT,
        },
        options={"call_progress": True, "webhook_id": WEBHOOK_ID},
        subentries_data=[*SAVED_CALLS, MUM_ALARM],
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "alias": alias,
                    "triggers": [
                        {
                            "trigger": "device",
                            "domain": DOMAIN,
                            "device_id": device_id(hass, f"{LINE}_{subentry_id}"),
                            "type": "called_the_line",
                        }
                    ],
                    "actions": [{"action": "test.automation", "data": {"a": alias}}],
                }
                for alias, subentry_id in (
                    ("mum", "mum00002"),
                    ("mum_alarm", "mum00003"),
                )
            ]
        },
    )
    await hass.async_block_till_done()
    client: Any = await hass_client_no_auth()
    response = await client.get(
        URL,
        params={"event": "inicio", "call_id": "800000001", "caller": "622333444"},
    )
    assert response.status == 200
    await hass.async_block_till_done()
    ran = sorted(call.data["a"] for call in service_calls if call.domain == "test")
    assert ran == ["mum", "mum_alarm"]
