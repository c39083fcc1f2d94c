"""Attack on issue 22: the gate blueprint opens on the line's OWN call.

End to end: the integration, a real webhook request, the blueprint
``incoming_call.yaml`` loaded with Home Assistant's blueprint code.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.infocaller.api.exceptions import InfocallerTimeoutError
from custom_components.infocaller.const import DOMAIN

from .conftest import LINE, WEBHOOK_ID
from .test_blueprint import INCOMING, our_blueprint_folder  # noqa: F401 (autouse)

URL = f"/api/webhook/{WEBHOOK_ID}"
MOBILE = "+34611222333"  # the owner's mobile: allowed to open the gate


async def test_the_gate_does_not_open_when_the_line_calls_the_allowed_mobile(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The line calls the allowed mobile; the gate must not open.

    The alarm makes the line call the owner's mobile; Infocaller's answer
    times out (``no_answer``), the call is placed anyway and the owner
    picks up. Infocaller reports the answer with the person as caller.

    Nobody called the line, yet the gate blueprint (no PIN, the mobile
    allowed) runs its actions: the gate opens while the alarm is going off.
    """
    freezer.move_to("2030-03-01 12:00:00+00:00")
    opened = async_capture_events(hass, "gate_opened")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": INCOMING,
                    "input": {
                        "line": progress_integration.entry_id,
                        "numbers": [MOBILE],
                        "actions": [{"event": "gate_opened"}],
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    mock_infocaller.issue_call.side_effect = InfocallerTimeoutError("timed out")
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": MOBILE, "rule_group": "Alarma"},
            blocking=True,
            return_response=True,
        )
    await hass.async_block_till_done()
    freezer.tick(15)
    client: Any = await hass_client_no_auth()
    response = await client.get(
        URL,
        params={
            "event": "answered",
            "call_id": "4711",
            "caller": MOBILE.lstrip("+"),
            "called": LINE,
            "line": LINE,
        },
    )
    assert response.status == 200
    await hass.async_block_till_done()
    assert opened == []


async def test_the_pin_cannot_be_guessed_through_the_url(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The README's defence against a leaked URL is the PIN; it is guessed.

    Someone who has the call-progress URL sends digits reports from the
    allowed number, one guess each, a fresh call id each (so the cap of 20
    digits per call never applies). Nothing limits wrong guesses but the
    webhook's 100 requests a second (500 at once): a 4-digit PIN falls in
    at most 100 s; this one ("0420") within the first burst.
    """
    opened = async_capture_events(hass, "gate_opened")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": INCOMING,
                    "input": {
                        "line": progress_integration.entry_id,
                        "numbers": [MOBILE],
                        "pin": "0420",
                        "actions": [{"event": "gate_opened"}],
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    client: Any = await hass_client_no_auth()
    statuses = set()
    for guess in range(421):
        response = await client.get(
            URL,
            params={
                "event": "query",
                "call_id": f"9{guess:05d}",
                "caller": MOBILE.lstrip("+"),
                "called": LINE,
                "digits": f"{guess:04d}",
            },
        )
        statuses.add(response.status)
    await hass.async_block_till_done()
    assert statuses == {200}
    assert opened == []
