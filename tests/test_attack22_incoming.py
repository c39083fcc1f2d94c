"""Attack on issue 22: outbound calls' reports taken for incoming calls.

Each test states what the docs promise and FAILS on the current code
(evidence for the review; no production code is changed on this branch).
"""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.infocaller.api.exceptions import InfocallerTimeoutError
from custom_components.infocaller.const import EVENT_INCOMING_CALL

from .conftest import LINE, issue_call, report_to_webhook

NOW = "2030-03-01 12:00:00+00:00"
X = "+34611000009"  # a person the line calls
B = "+34611000008"
ATTACKER = "34699999999"


def _progress(entry: MockConfigEntry) -> Any:
    return entry.runtime_data.progress


async def test_a_call_whose_answer_was_lost_is_not_an_incoming_call(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    client: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A call whose answer timed out is not an incoming call.

    Infocaller's answer times out (``no_answer``: "the call may have been
    placed"); the call rings X and X picks up. Infocaller reports it with
    the person as caller (either way round is accepted: PROTOCOL.md).

    The report is an outbound call's (a request to X just left): the
    reference promises a report "from a number the line is calling, or
    called in the last 5 minutes" is never an incoming call. Today it
    fires ``infocaller_incoming_call`` (stage answered, caller X): the
    gate blueprint without a PIN opens for X.
    """
    freezer.move_to(NOW)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    mock_infocaller.issue_call.side_effect = InfocallerTimeoutError("timed out")
    with pytest.raises(HomeAssistantError):
        await issue_call(hass, X)
    await hass.async_block_till_done()
    freezer.tick(20)
    report = {"call_id": "4711", "caller": X.lstrip("+"), "called": LINE}
    assert await report_to_webhook(client, event="answered", **report) == 200
    await hass.async_block_till_done()
    assert [e.data["caller"] for e in incoming] == []


async def test_reports_with_the_person_as_caller_and_new_ids_stay_ours(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    client: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The mirror of 7320437 (which only covers the line as caller).

    The line learned from a report with our idcall and the person as
    caller (destination_in_caller, ids_equal). Infocaller then reports a
    call by its own id (ids changed, or one event type such as API QUERY
    carries another id): the report of OUR call to X (X as caller, X being
    called right now) becomes an incoming call from X, and our call is
    later inferred "not answered".
    """
    freezer.move_to(NOW)
    await issue_call(hass, B)
    taught = {"caller": B.lstrip("+"), "called": LINE}
    assert (
        await report_to_webhook(client, event="answered", call_id="C1", **taught) == 200
    )
    progress = _progress(progress_integration)
    assert progress.facts.ids_are_idcall
    assert progress.facts.destination == "caller"
    freezer.tick(600)
    await issue_call(hass, X)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    freezer.tick(10)
    report = {"caller": X.lstrip("+"), "called": LINE}
    assert (
        await report_to_webhook(client, event="answered", call_id="90002", **report)
        == 200
    )
    await hass.async_block_till_done()
    assert [e.data["caller"] for e in incoming] == []
    assert progress.tracked["C2"].status == "answered"


async def test_a_late_report_after_a_reload_is_not_an_incoming_call(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    client: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """test_incoming's "late repeats ... with yet another id" after a reload.

    Before a reload the late FIN (another Infocaller id, the person as
    caller, 2 minutes after the end) is the call's; the finished calls
    consulted by ``is_incoming`` live in memory only, so after a reload
    (or a restart) the same report is an incoming call from X.
    """
    freezer.move_to(NOW)
    await issue_call(hass, X)
    numbers = {"caller": X.lstrip("+"), "called": LINE}
    assert (
        await report_to_webhook(client, event="answered", call_id="91", **numbers)
        == 200
    )
    freezer.tick(30)
    assert (
        await report_to_webhook(client, event="ended", call_id="91", **numbers) == 200
    )
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(progress_integration.entry_id)
    await hass.async_block_till_done()
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    freezer.tick(120)
    for event in ("answered", "ended"):
        assert (
            await report_to_webhook(client, event=event, call_id="93", **numbers) == 200
        )
    await hass.async_block_till_done()
    assert [(e.data["stage"], e.data["caller"]) for e in incoming] == []


async def test_a_forged_report_cannot_turn_real_outbound_reports_into_incoming(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    client: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """LineFacts poisoning through the URL.

    Infocaller here reports outbound calls with the person as caller and
    its own ids: the line learns nothing (the cautious reading). While
    the line calls X, someone with the URL sends ONE forged report with X
    as ``called`` (and any caller): it matches the call by number and
    teaches ``destination_in_called``, saved for good. From then on every
    genuine report of the line's calls (X as caller) is an incoming call
    from the person called, and the line's calls are all "not answered";
    no genuine report can undo it (destination_in_caller needs our exact
    idcall, which this Infocaller never sends).
    """
    freezer.move_to(NOW)
    await issue_call(hass, X)
    progress = _progress(progress_integration)
    forged = {"call_id": "66", "caller": ATTACKER, "called": X.lstrip("+")}
    assert await report_to_webhook(client, event="acknowledged", **forged) == 200
    freezer.tick(3600)  # the call is long over
    await hass.async_block_till_done()
    await issue_call(hass, X)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    freezer.tick(10)
    genuine = {"caller": X.lstrip("+"), "called": LINE}
    assert (
        await report_to_webhook(client, event="answered", call_id="92", **genuine)
        == 200
    )
    await hass.async_block_till_done()
    assert [e.data["caller"] for e in incoming] == []
    assert progress.tracked["C2"].status == "answered"


async def test_a_repeated_report_without_ids_fires_once(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    client: Any,
) -> None:
    """A repeated report without ids fires once.

    reference.md: "Each of its reports fires infocaller_incoming_call once
    (a repeat is applied once)". A report whose [_IdLlamada]/[_UUID] were
    not substituted (dropped) is fired again on every repeat: the gate
    blueprint runs twice for one INICIO sent twice.
    """
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    for _ in range(2):
        assert (
            await report_to_webhook(
                client,
                event="answered",
                call_id="[_IdLlamada]",
                uuid="[_UUID]",
                caller="699000111",
                called=LINE,
            )
            == 200
        )
    await hass.async_block_till_done()
    assert len(incoming) == 1


async def test_a_repeated_answered_after_a_reload_fires_once(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    client: Any,
) -> None:
    """A repeated INICIO after a reload fires once.

    Infocaller repeats INICIO (its retry) across a reload: the incoming
    calls are remembered in memory only, so the event (and an automation
    that opens the gate) runs again.
    """
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    report = {"call_id": "777", "caller": "699000111", "called": LINE}
    assert await report_to_webhook(client, event="answered", **report) == 200
    assert await hass.config_entries.async_reload(progress_integration.entry_id)
    await hass.async_block_till_done()
    assert await report_to_webhook(client, event="answered", **report) == 200
    await hass.async_block_till_done()
    assert len(incoming) == 1


async def test_the_pin_typed_is_not_in_the_event_entitys_state(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    client: Any,
) -> None:
    """The PIN typed is not in the event entity's state.

    The logbook hides the keys ("they may be a PIN") and diagnostics
    redact them, but the *Incoming call* event entity puts them in its
    state attributes: every user (not only admins) sees the gate's PIN in
    the entity's attributes and history, and the recorder keeps it.
    """
    call = {"call_id": "777", "caller": "699000111", "called": LINE}
    assert await report_to_webhook(client, event="answered", **call) == 200
    assert await report_to_webhook(client, event="query", digits="80417", **call) == 200
    await hass.async_block_till_done()
    state = hass.states.get(f"event.infocaller_{LINE}_incoming_call")
    assert state is not None
    assert state.attributes["event_type"] == "digits"
    assert "80417" not in str(state.attributes)


async def test_a_repeated_answer_of_a_followed_call_after_a_reload_fires_once(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    client: Any,
) -> None:
    """A repeated INICIO of a followed call after a reload fires once.

    The device trigger *Call answered* runs once per answer: not again
    when Infocaller repeats INICIO after a reload (the marks of applied
    reports, ``_seen``, are in memory only; the followed call is restored).
    """
    from custom_components.infocaller.const import EVENT_CALL_PROGRESS

    await issue_call(hass, X)
    answered = {"call_id": "C1", "caller": LINE, "called": X.lstrip("+")}
    assert await report_to_webhook(client, event="answered", **answered) == 200
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(progress_integration.entry_id)
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    assert await report_to_webhook(client, event="answered", **answered) == 200
    await hass.async_block_till_done()
    assert [(e.data["stage"], e.data["match"]) for e in events] == []


async def test_the_end_of_a_long_call_whose_answer_was_missed_is_not_incoming(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    client: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A missed INICIO, then the FIN of a 15-minute talk.

    The INICIO of our call to X never arrived (HA restarting, a 429, the
    network); the call is inferred "not answered" at the end of its window.
    X talked 15 minutes; Infocaller's FIN (X as caller, its own id) comes
    more than ``LATE_SLACK`` after the window: it is logged and fired as
    "incoming call from X ended", though nobody called the line.
    """
    from homeassistant.util import dt as dt_util
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    freezer.move_to(NOW)
    await issue_call(hass, X)
    progress = _progress(progress_integration)
    window_end = dt_util.parse_datetime(progress.tracked["C1"].window_end)
    assert window_end is not None
    freezer.move_to(window_end)
    freezer.tick(1)
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()
    assert progress._finished["C1"].status == "not_answered"
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    freezer.tick(15 * 60)
    numbers = {"caller": X.lstrip("+"), "called": LINE}
    assert (
        await report_to_webhook(client, event="ended", call_id="91", **numbers) == 200
    )
    await hass.async_block_till_done()
    assert [(e.data["stage"], e.data["caller"]) for e in incoming] == []
