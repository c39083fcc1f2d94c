"""Loop protection, account repairs and refused credentials."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.infocaller.api import (
    CallRequest,
    CallResult,
    InfocallerAuthenticationError,
    InfocallerRejectedError,
)
from custom_components.infocaller.const import DOMAIN, EVENT_CALL_RESULT

PHONE = "+34611222333"
NOW = "2030-03-01 12:00:00+00:00"


async def _call(hass: HomeAssistant, phone: str = PHONE, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": phone, "rule_group": "Aviso", **data},
        blocking=True,
        return_response=True,
    )


async def _options(hass: HomeAssistant, entry: MockConfigEntry, **options: Any) -> None:
    hass.config_entries.async_update_entry(entry, options={**entry.options, **options})
    await hass.async_block_till_done()


@pytest.mark.usefixtures("setup_integration")
async def test_concurrent_identical_requests_send_one(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """A double-pressed button / an automation firing twice: one request."""
    release = asyncio.Event()

    async def slow(_request: CallRequest) -> CallResult:
        await release.wait()
        return CallResult(result=0, result_text="Aceptada", call_id="1")

    mock_infocaller.issue_call.side_effect = slow
    calls = [asyncio.create_task(_call(hass)) for _ in range(5)]
    while mock_infocaller.issue_call.await_count == 0:
        await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    accepted = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, ServiceValidationError)]
    assert len(accepted) == 1
    assert [e.translation_key for e in refused] == ["duplicate_call"] * 4
    assert mock_infocaller.issue_call.await_count == 1


async def test_repeat_window_option(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The window is an option; 0 turns it off (in-flight duplicates still refused)."""
    freezer.move_to(NOW)
    await _options(hass, setup_integration, repeat_window=5)
    await _call(hass)
    freezer.tick(timedelta(seconds=4))
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass)
    assert err.value.translation_placeholders["remaining"] == "1"
    freezer.tick(timedelta(seconds=2))
    await _call(hass)
    await _options(hass, setup_integration, repeat_window=0)
    await _call(hass)
    assert mock_infocaller.issue_call.await_count == 3


async def test_duplicate_guard_survives_a_reload(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A reload (or a restart) does not open the door to a repeat."""
    freezer.move_to(NOW)
    await _call(hass)
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError):
        await _call(hass)
    assert mock_infocaller.issue_call.await_count == 1


async def test_calls_per_number_per_hour(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A loop cannot ring one person all night: refused, recorded, announced."""
    freezer.move_to(NOW)
    await _options(hass, setup_integration, max_calls_per_number=3)
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    for index in range(3):
        await _call(hass, variables={"N": index})
        freezer.tick(timedelta(minutes=10))
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, variables={"N": 9})
    assert err.value.translation_key == "rate_limited_number"
    # The oldest of the three leaves the hour in 30 minutes.
    assert err.value.translation_placeholders == {
        "phone": PHONE,
        "count": "3",
        "limit": "3",
        "minutes": "30",
    }
    assert mock_infocaller.issue_call.await_count == 3
    assert events[-1].data["result_key"] == "rate_limited"
    assert events[-1].data["result"] is None
    state = hass.states.get("sensor.infocaller_34910000000_last_result")
    assert state.state == "rate_limited"
    # Another number is not limited; an hour after the first, one more.
    await _call(hass, phone="+34622333444")
    freezer.tick(timedelta(minutes=31))
    await _call(hass, variables={"N": 10})
    assert mock_infocaller.issue_call.await_count == 5


async def test_calls_per_line_per_day(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The daily limit counts every number; refusals by Infocaller do not count."""
    freezer.move_to(NOW)
    await _options(hass, setup_integration, max_calls_per_day=2)
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=8, result_text="Grupo de reglas no existe")
    )
    with pytest.raises(ServiceValidationError):
        await _call(hass, phone="+34600000001")
    mock_infocaller.issue_call.side_effect = None
    await _call(hass, phone="+34600000002")
    await _call(hass, phone="+34600000003")
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, phone="+34600000004")
    assert err.value.translation_key == "rate_limited_line"
    assert err.value.translation_placeholders["minutes"] == str(24 * 60)
    assert mock_infocaller.issue_call.await_count == 3


@pytest.mark.parametrize(
    ("code", "key"),
    [
        (3, "line_switched_off"),
        (10, "line_suspended"),
        (11, "insufficient_balance"),
        (12, "credit_limit_exceeded"),
        (14, "call_quota_exceeded"),
    ],
)
async def test_account_problem_raises_a_repair_issue(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    issue_registry: ir.IssueRegistry,
    code: int,
    key: str,
) -> None:
    """Account answers create a translated repair; the next acceptance clears it."""
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=code, result_text="texto")
    )
    with pytest.raises(HomeAssistantError):
        await _call(hass)
    issue_id = f"account_{setup_integration.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == f"account_{key}"
    assert issue.translation_placeholders == {
        "title": setup_integration.title,
        "code": str(code),
        "text": "texto",
    }
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.learn_more_url == "https://www.infocaller.com"
    mock_infocaller.issue_call.side_effect = None
    await _call(hass, phone="+34622333444")
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_removing_the_line_removes_its_repair(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    issue_registry: ir.IssueRegistry,
) -> None:
    """No orphan repair issue after the line is deleted."""
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=11, result_text="Saldo insuficiente")
    )
    with pytest.raises(HomeAssistantError):
        await _call(hass)
    issue_id = f"account_{setup_integration.entry_id}"
    assert list(issue_registry.issues) == [(DOMAIN, issue_id)]
    await hass.config_entries.async_remove(setup_integration.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert not issue_registry.issues


async def test_refused_credentials_stop_sending_until_fixed(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Reauthentication starts once; nothing is sent until the password is fixed."""
    mock_infocaller.issue_call.side_effect = InfocallerAuthenticationError(
        CallResult(result=1, result_text="Firma no correcta")
    )
    with pytest.raises(HomeAssistantError):
        await _call(hass)
    for phone in ("+34600000001", "+34600000002", "+34600000003"):
        with pytest.raises(HomeAssistantError) as err:
            await _call(hass, phone=phone)
        assert err.value.translation_key == "credentials_refused"
        assert err.value.translation_placeholders == {"title": setup_integration.title}
    assert mock_infocaller.issue_call.await_count == 1
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    # The user enters the right password: the line reloads and calls again.
    mock_infocaller.issue_call.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_PASSWORD: "the-right-one"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    await _call(hass, phone="+34600000004")
    assert mock_infocaller.issue_call.await_count == 2


async def test_a_chains_attempts_count_for_the_loop_limit(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """A chain calls through the pipeline: its attempts meet the same limits."""
    await _options(hass, progress_integration, max_calls_per_number=1, repeat_window=0)
    results = async_capture_events(hass, EVENT_CALL_RESULT)
    task = asyncio.create_task(
        hass.services.async_call(
            DOMAIN,
            "call_until_answered",
            {"targets": [PHONE], "rule_group": "A", "wait": 5, "rounds": 2},
            blocking=True,
            return_response=True,
        )
    )
    # Nobody answers the first round's call within its wait.
    for _ in range(500):
        await asyncio.sleep(0.01)
        if mock_infocaller.issue_call.await_count:
            break
    assert mock_infocaller.issue_call.await_count == 1, "the chain never called"

    async def fire_until(done: Any, seconds: int) -> None:
        # Timers may be set a moment after the call on a loaded machine:
        # time is moved on until what is awaited happened (a bounded loop,
        # not asyncio.timeout: moving time on would fire that too).
        for _ in range(200):
            if done():
                return
            await hass.async_block_till_done()
            async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
            await asyncio.sleep(0.05)
        pytest.fail("what the test waited for never happened")

    # Round 1 gets no answer within its wait; round 2 is refused by the limit.
    await fire_until(
        lambda: any(e.data["result_key"] == "rate_limited" for e in results), 6
    )
    # Round 1's call may still ring: the chain waits on it before going on.
    await hass.async_block_till_done()
    assert not task.done()
    await fire_until(task.done, 12)
    response = task.result()
    assert [a["error"] for a in response["attempts"]] == [None, "rate_limited_number"]
    assert mock_infocaller.issue_call.await_count == 1


def test_every_account_repair_is_translated() -> None:
    """Each account answer's repair has a title and text in English and Spanish."""
    import json
    from pathlib import Path

    from custom_components.infocaller.api import RESULT_CODES, Fault

    keys = {code.key for code in RESULT_CODES.values() if code.fault is Fault.ACCOUNT}
    assert len(keys) == 5
    folder = Path(__file__).parents[1] / "custom_components/infocaller/translations"
    for language in ("en", "es"):
        issues = json.loads((folder / f"{language}.json").read_text())["issues"]
        for key in keys:
            issue = issues[f"account_{key}"]
            assert "{title}" in issue["title"]
            assert "{code}" in issue["description"]
