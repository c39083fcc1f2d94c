"""Incoming calls: a call someone made to the line, reported through the webhook."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import MagicMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.infocaller import (
    incoming as incoming_module,
    progress_state,
    ratelimit,
)
from custom_components.infocaller.api import CallResult, Stage
from custom_components.infocaller.api.exceptions import InfocallerTimeoutError
from custom_components.infocaller.api.report import ProgressReport
from custom_components.infocaller.const import (
    DOMAIN,
    EVENT_CALL_PROGRESS,
    EVENT_INCOMING_CALL,
)
from custom_components.infocaller.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.infocaller.incoming import INCOMING_CALLS_KEPT
from custom_components.infocaller.matching import LATE_SLACK, LineFacts
from custom_components.infocaller.progress_state import MAYBE_PLACED_WINDOW
from custom_components.infocaller.saving import UnreadableStateError

from .conftest import LINE, WEBHOOK_ID, issue_call, report_to_webhook

NOW = "2030-03-01 12:00:00+00:00"
INCOMING = f"event.infocaller_{LINE}_incoming_call"
STATUS = f"sensor.infocaller_{LINE}_last_call_status"
UUID = "0a1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d"
MUM = "622333444"  # the saved call "Mamá" (subentry mum00002), as reported
MUM_E164 = "+34622333444"
X = "+34611000009"  # a person the line calls (no saved call)
B = "+34611000008"


def _progress(entry: MockConfigEntry) -> Any:
    return entry.runtime_data.progress


@pytest.mark.usefixtures("saved_calls_integration")
async def test_an_incoming_call_reaches_the_bus_and_the_event_entity(
    hass: HomeAssistant,
    saved_calls_entry: MockConfigEntry,
    client: Any,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
) -> None:
    """Mamá calls the line: INICIO, keys pressed, FIN (twice), through the webhook.

    One event per report (the repeated FIN is applied once), the saved
    call named, the talk time from INICIO to FIN; no call-progress event.
    """
    freezer.move_to(NOW)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    progress_events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    call = {"call_id": "777", "uuid": UUID, "caller": MUM, "called": LINE, "line": LINE}
    assert await report_to_webhook(client, event="inicio", **call) == 200
    freezer.tick(5)
    assert await report_to_webhook(client, event="query", digits="4321", **call) == 200
    freezer.tick(25)
    assert await report_to_webhook(client, event="fin", **call) == 200
    assert await report_to_webhook(client, event="fin", **call) == 200
    await hass.async_block_till_done()
    common = {
        "config_entry_id": saved_calls_entry.entry_id,
        "caller": "+34622333444",
        "called": f"+{LINE}",
        "call_id": "777",
        "uuid": UUID,
        "saved_call": "Mamá",
        "saved_call_id": "mum00002",
        "saved_calls": ["Mamá"],
        "saved_call_ids": ["mum00002"],
    }
    assert [event.data for event in incoming] == [
        common
        | {
            "stage": "answered",
            "digits": None,
            "talk_seconds": None,
            "time": "2030-03-01T12:00:00+00:00",
        },
        common
        | {
            "stage": "digits",
            "digits": "4321",
            "talk_seconds": None,
            "time": "2030-03-01T12:00:05+00:00",
        },
        common
        | {
            "stage": "ended",
            "digits": None,
            "talk_seconds": 30.0,
            "time": "2030-03-01T12:00:30+00:00",
        },
    ]
    assert progress_events == []
    assert hass.states.get(INCOMING) == snapshot
    progress = _progress(saved_calls_entry)
    assert (progress.incoming.reports, progress.unmatched_reports) == (3, 0)


@pytest.mark.usefixtures("progress_integration")
async def test_a_caller_that_is_no_saved_call_and_a_report_without_ids(
    hass: HomeAssistant, client: Any
) -> None:
    """The number is written as outbound phones are; no ids: one repeat fires.

    A repeat within a minute (same stage, caller and digits) fires once.
    """
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    for _ in range(2):
        assert (
            await report_to_webhook(client, event="answered", caller="699000111") == 200
        )
    await hass.async_block_till_done()
    # A FIN with no INICIO before it: no talk time.
    assert (
        await report_to_webhook(client, event="fin", call_id="8", caller="699000111")
        == 200
    )
    await hass.async_block_till_done()
    assert [
        (
            e.data["caller"],
            e.data["called"],
            e.data["saved_call"],
            e.data["talk_seconds"],
        )
        for e in incoming
    ] == [("+34699000111", None, None, None)] * 2


async def test_incoming_names_nobody_when_no_caller_is_known(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """Handed a report that names no caller, the event says so (None)."""
    from homeassistant.util import dt as dt_util

    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    _progress(progress_integration).incoming.async_report(
        ProgressReport(stage=Stage.ACKNOWLEDGED, call_id="5", line=LINE),
        dt_util.utcnow(),
    )
    await hass.async_block_till_done()
    (event,) = incoming
    assert (event.data["caller"], event.data["called"], event.data["saved_call"]) == (
        None,
        f"+{LINE}",
        None,
    )


@pytest.mark.parametrize(
    ("taught_by", "expected"),
    [
        # The line called B before; Infocaller's report with our idcall
        # said outbound reports carry the person as called.
        ({"call_id": "C1", "caller": LINE, "called": B}, "incoming"),
        # A report matched by number teaches nothing (it may be forged).
        ({"call_id": "90001", "caller": LINE, "called": B}, "ambiguous"),
        # The person as caller in our calls' reports: a call from X while
        # X is being called looks the same (whatever its id).
        ({"call_id": "C1", "caller": B, "called": LINE}, "ambiguous"),
        # Nothing learned that tells a return call from the call's report.
        ({"call_id": "90001", "caller": B, "called": LINE}, "ambiguous"),
    ],
    ids=["line-as-caller", "by-number", "idcall", "ambiguous"],
)
async def test_a_return_call_is_not_the_answer_of_the_call_to_that_person(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    client: Any,
    freezer: FrozenDateTimeFactory,
    taught_by: dict[str, str],
    expected: str,
) -> None:
    """X calls the line while our call to X rings (their own call id).

    Once a report with our idcall showed that the person is ``called`` in
    our calls' reports, it is an incoming call and our call still rings;
    otherwise it stays the answer of our call (ambiguous: the README says
    so).
    """
    freezer.move_to(NOW)
    await issue_call(hass, B)
    assert await report_to_webhook(client, event="answered", **taught_by) == 200
    assert (
        await report_to_webhook(client, event="ended", call_id=taught_by["call_id"])
        == 200
    )
    freezer.tick(600)  # B's call is long over
    await issue_call(hass, X)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    freezer.tick(10)
    assert (
        await report_to_webhook(
            client, event="answered", call_id="555", caller=X.lstrip("+"), called=LINE
        )
        == 200
    )
    await hass.async_block_till_done()
    progress = _progress(progress_integration)
    if expected == "incoming":
        assert [e.data["caller"] for e in incoming] == [X]
        assert progress.tracked["C2"].status == "queued"
    else:
        assert incoming == []
        assert progress.tracked["C2"].status == "answered"


@pytest.mark.parametrize("ids", ["idcall", "own"])
@pytest.mark.parametrize("person_as", ["caller", "called"])
async def test_an_outbound_calls_reports_either_way_round_are_never_incoming(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    client: Any,
    freezer: FrozenDateTimeFactory,
    person_as: str,
    ids: str,
) -> None:
    """The person's number as caller or as called: our call's, late ones too.

    Infocaller is consistent: with its own ids, a late report may carry yet
    another one; with our idcall, late reports carry it too (once the line
    knows that, a call id it never had is another call: the ambiguous
    cases are in test_matching.py).
    """
    freezer.move_to(NOW)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    await issue_call(hass, X)
    numbers = (
        {"caller": X.lstrip("+"), "called": LINE}
        if person_as == "caller"
        else {"caller": LINE, "called": X.lstrip("+")}
    )
    call_id = "C1" if ids == "idcall" else "91"
    assert (
        await report_to_webhook(client, event="answered", call_id=call_id, **numbers)
        == 200
    )
    freezer.tick(30)
    assert (
        await report_to_webhook(client, event="ended", call_id=call_id, **numbers)
        == 200
    )
    freezer.tick(120)
    # Late repeats after the call ended, with its id or yet another one.
    for late_id in (call_id,) if ids == "idcall" else (call_id, "93"):
        for event in ("answered", "ended"):
            await report_to_webhook(client, event=event, call_id=late_id, **numbers)
    await hass.async_block_till_done()
    assert incoming == []
    record = _progress(progress_integration)._finished["C1"]
    assert record.talk_seconds == 30.0


async def test_an_early_report_the_other_way_round_goes_to_the_call(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    client: Any,
) -> None:
    """INICIO before the action read the answer, the person as caller: ours."""
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)

    async def answer_after_the_report(request: Any) -> CallResult:
        report = {"call_id": "90001", "caller": X.lstrip("+"), "called": LINE}
        assert await report_to_webhook(client, event="answered", **report) == 200
        return CallResult(result=0, result_text="Aceptada", call_id="4711")

    mock_infocaller.issue_call.side_effect = answer_after_the_report
    await issue_call(hass, X)
    await hass.async_block_till_done()
    assert incoming == []
    assert _progress(progress_integration).tracked["4711"].status == "answered"


async def test_forged_incoming_reports_do_not_starve_a_followed_call(
    hass: HomeAssistant, progress_integration: MockConfigEntry, client: Any
) -> None:
    """Incoming reports share the unmatched budget: a followed call's has its own."""
    await issue_call(hass, X)
    progress = _progress(progress_integration)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    with patch.object(ratelimit, "BURST", 5.0), patch.object(ratelimit, "RATE", 0.0):
        progress.limiter = ratelimit.RateLimiter()
        progress.matched_limiter = ratelimit.RateLimiter()
        statuses = [
            await report_to_webhook(
                client, event="answered", call_id=f"F{i}", caller=f"69900{i:04d}"
            )
            for i in range(20)
        ]
        assert statuses == [200] * 5 + [429] * 15
        assert await report_to_webhook(client, event="answered", call_id="4711") == 200
    await hass.async_block_till_done()
    assert len(incoming) == 5
    assert progress.tracked["4711"].status == "answered"


async def test_incoming_calls_remembered_are_capped(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """At most INCOMING_CALLS_KEPT calls: the oldest is forgotten (no talk time)."""
    progress = _progress(progress_integration)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    count = INCOMING_CALLS_KEPT + 5
    for index in range(count):
        progress.async_report(
            ProgressReport(
                stage=Stage.ANSWERED,
                call_id=f"I{index}",
                uuid=f"{index:08x}-0000-4000-8000-000000000000",
                caller=f"69900{index:04d}",
            )
        )
    assert len(progress.incoming.calls) == 2 * INCOMING_CALLS_KEPT
    for index in (0, count - 1):
        progress.async_report(ProgressReport(stage=Stage.ENDED, call_id=f"I{index}"))
    await hass.async_block_till_done()
    # The forgotten call's FIN names no caller: it is no incoming call now.
    assert len(incoming) == count + 1
    assert (incoming[-1].data["call_id"], incoming[-1].data["talk_seconds"]) == (
        f"I{count - 1}",
        0.0,
    )
    assert progress.unmatched_reports == 1


async def test_what_the_line_learned_survives_a_reload(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    hass_storage: dict[str, Any],
) -> None:
    """The learned facts are in progress's store; an older store knows none."""
    await issue_call(hass, X)
    progress = _progress(progress_integration)
    progress.async_report(
        ProgressReport(stage=Stage.ANSWERED, call_id="C1", caller=LINE, called=X)
    )
    learned = LineFacts(destination_in_called=True, ids_equal=True)
    assert progress.facts == learned
    assert await hass.config_entries.async_reload(progress_integration.entry_id)
    await hass.async_block_till_done()
    assert _progress(progress_integration).facts == learned
    key = f"{DOMAIN}.{progress_integration.entry_id}.progress"
    assert hass_storage[key]["data"]["learned"] == learned.as_dict()
    del hass_storage[key]["data"]["learned"]
    assert await hass.config_entries.async_reload(progress_integration.entry_id)
    await hass.async_block_till_done()
    assert _progress(progress_integration).facts == LineFacts()


async def test_diagnostics_count_incoming_reports_and_hide_who_and_keys(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
) -> None:
    """Counted, the last one shown: the caller, the line and the digits redacted."""
    freezer.move_to(NOW)
    progress = _progress(progress_integration)
    for stage, digits in ((Stage.ANSWERED, None), (Stage.DIGITS, "80417")):
        progress.async_report(
            ProgressReport(
                stage=stage, call_id="777", caller=MUM, called=LINE, digits=digits
            )
        )
    diagnostics = await async_get_config_entry_diagnostics(hass, progress_integration)
    assert diagnostics["incoming_calls"] == snapshot
    text = json.dumps(diagnostics)
    for secret in ("80417", MUM, LINE):
        assert secret not in text
    assert diagnostics["incoming_calls"]["reports"] == 2
    assert diagnostics["incoming_calls"]["calls_remembered"] == 1


@pytest.mark.parametrize(
    ("data", "language", "expected"),
    [
        ({"stage": "answered"}, "en", "incoming call from Mamá answered"),
        ({"stage": "answered"}, "es", "llamada entrante de Mamá contestada"),
        (
            {"stage": "digits", "digits": "80417"},
            "en",
            "incoming call from Mamá: keys pressed (not shown)",
        ),
        (
            {"stage": "digits", "digits": "80417"},
            "es",
            "llamada entrante de Mamá: teclas pulsadas (no se muestran)",
        ),
        (
            {"stage": "ended", "talk_seconds": 30.5},
            "es",
            "llamada entrante de Mamá terminada tras 30,5 s",
        ),
        (
            {"stage": "ended", "saved_call": None},
            "en",
            "incoming call from +34622333444 ended",
        ),
        (
            {"stage": "forward_failed", "saved_call": None, "caller": None},
            "es",
            "llamada entrante de un número desconocido: desvío fallido",
        ),
        (
            {"stage": "acknowledged", "saved_call": None, "caller": None},
            "en",
            "incoming call from an unknown number acknowledged",
        ),
    ],
)
async def test_the_logbook_names_who_called(
    hass: HomeAssistant, data: dict[str, Any], language: str, expected: str
) -> None:
    """The saved call's name, else the number; the keys pressed are not shown."""
    from custom_components.infocaller import logbook

    described: dict[str, Any] = {}
    logbook.async_describe_events(
        hass,
        lambda domain, event_type, describer: described.update(
            {event_type: (domain, describer)}
        ),
    )
    domain, describer = described[EVENT_INCOMING_CALL]
    hass.config.language = language
    base = {"caller": "+34622333444", "saved_call": "Mamá", "talk_seconds": None}
    entry = describer(Event(EVENT_INCOMING_CALL, base | data))
    assert (domain, entry["name"], entry["message"]) == (DOMAIN, "Infocaller", expected)
    assert entry["icon"].startswith("mdi:phone") or entry["icon"] == "mdi:dialpad"


async def test_a_line_learns_that_infocallers_ids_changed(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    client: Any,
) -> None:
    """Reports with our idcall, then with Infocaller's own ids: still our calls.

    A call id we never had is no sign of an incoming call: the report goes
    by number, and (matched by number) teaches nothing.
    """
    await issue_call(hass, B)
    report = {"caller": LINE, "called": B.lstrip("+")}
    assert (
        await report_to_webhook(client, event="answered", call_id="C1", **report) == 200
    )
    progress = _progress(progress_integration)
    assert progress.facts.ids_are_idcall
    await issue_call(hass, X)
    report = {"caller": LINE, "called": X.lstrip("+")}
    assert (
        await report_to_webhook(client, event="answered", call_id="90002", **report)
        == 200
    )
    assert progress.tracked["C2"].status == "answered"
    assert progress.facts == LineFacts(destination_in_called=True, ids_equal=True)


# -- what is remembered across a reload (attack 22: H1, H4, M1, M4) ----------


def _store(hass_storage: dict[str, Any], entry: MockConfigEntry) -> dict[str, Any]:
    data: dict[str, Any] = hass_storage[f"{DOMAIN}.{entry.entry_id}.progress"]["data"]
    return data


async def _reload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


async def test_new_urls_forget_what_the_line_learned(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    hass_storage: dict[str, Any],
) -> None:
    """What reports through the old URLs taught is forgotten with them.

    The store keeps a digest of the webhook id, never the id.
    """
    await issue_call(hass, X)
    progress = _progress(progress_integration)
    progress.async_report(
        ProgressReport(stage=Stage.ANSWERED, call_id="C1", caller=LINE, called=X)
    )
    learned = LineFacts(destination_in_called=True, ids_equal=True)
    assert progress.facts == learned
    await _reload(hass, progress_integration)
    assert _progress(progress_integration).facts == learned
    assert WEBHOOK_ID not in json.dumps(_store(hass_storage, progress_integration))
    hass.config_entries.async_update_entry(
        progress_integration,
        options={**progress_integration.options, "webhook_id": "a-new-webhook-id"},
    )
    await _reload(hass, progress_integration)
    assert _progress(progress_integration).facts == LineFacts()
    await _reload(hass, progress_integration)
    assert _store(hass_storage, progress_integration)["learned"] == (
        LineFacts().as_dict()
    )


async def test_a_call_that_may_have_been_placed_is_remembered_across_a_reload(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    client: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """No answer from Infocaller, a reload: X's report is still not incoming.

    Within the longest window a call may have (every retry, the longest
    wait) and the late slack; after it, a call from X is incoming again.
    """
    freezer.move_to(NOW)
    mock_infocaller.issue_call.side_effect = InfocallerTimeoutError("timed out")
    with pytest.raises(HomeAssistantError):
        await issue_call(hass, X)
    await _reload(hass, progress_integration)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    numbers = {"caller": X.lstrip("+"), "called": LINE}
    freezer.tick(MAYBE_PLACED_WINDOW + LATE_SLACK)
    assert (
        await report_to_webhook(client, event="answered", call_id="71", **numbers)
        == 200
    )
    await hass.async_block_till_done()
    assert incoming == []
    freezer.tick(1)
    assert (
        await report_to_webhook(client, event="answered", call_id="72", **numbers)
        == 200
    )
    await hass.async_block_till_done()
    assert [e.data["caller"] for e in incoming] == [X]


async def test_finished_calls_of_an_older_store_come_from_the_records(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    client: Any,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A store saved before finished calls were kept: the records have them."""
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
    await _reload(hass, progress_integration)
    saved = _store(hass_storage, progress_integration)
    assert [call["phone"] for call in saved["recent"]] == [X]
    del saved["recent"]
    await _reload(hass, progress_integration)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    freezer.tick(120)
    assert (
        await report_to_webhook(client, event="ended", call_id="93", **numbers) == 200
    )
    await hass.async_block_till_done()
    assert incoming == []


async def test_finished_calls_remembered_are_capped_and_expire(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    call_ids: list[str],
    client: Any,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """At most FINISHED_IDS_KEPT finished calls, none older than a day."""
    freezer.move_to(NOW)
    progress = _progress(progress_integration)
    with patch.object(progress_state, "FINISHED_IDS_KEPT", 2):
        for phone in (X, B, MUM_E164):
            await issue_call(hass, phone)
            number = phone.lstrip("+")
            for event in ("answered", "ended"):
                assert (
                    await report_to_webhook(client, event=event, called=number) == 200
                )
    assert [call.phone for call in progress.recent_calls.values()] == [B, MUM_E164]
    await _reload(hass, progress_integration)
    freezer.tick(24 * 3600 - 1)
    await _reload(hass, progress_integration)
    assert len(_progress(progress_integration).recent_calls) == 2
    freezer.tick(3600)  # a day after their windows
    await _reload(hass, progress_integration)
    assert _progress(progress_integration).recent_calls == {}


async def test_repeats_after_a_reload_fire_nothing_and_the_keys_are_not_saved(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    client: Any,
    hass_storage: dict[str, Any],
) -> None:
    """An incoming call's keys are remembered as a digest only."""
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    call = {"call_id": "777", "caller": "699000111", "called": LINE}
    assert await report_to_webhook(client, event="answered", **call) == 200
    assert await report_to_webhook(client, event="query", digits="80417", **call) == 200
    await _reload(hass, progress_integration)
    assert "80417" not in json.dumps(_store(hass_storage, progress_integration))
    assert await report_to_webhook(client, event="query", digits="80417", **call) == 200
    assert await report_to_webhook(client, event="answered", **call) == 200
    assert await report_to_webhook(client, event="ended", **call) == 200
    await hass.async_block_till_done()
    assert [e.data["stage"] for e in incoming] == ["answered", "digits", "ended"]
    # The talk time still counts from the answer before the reload.
    assert incoming[-1].data["talk_seconds"] is not None


async def test_a_report_without_ids_is_a_repeat_for_a_minute(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    client: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Same stage, caller and keys within 60 s: once; later, or others: again.

    The repeats remembered are capped (the oldest go first).
    """
    freezer.move_to(NOW)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    caller = {"caller": "699000111", "called": LINE}
    with patch.object(incoming_module, "INCOMING_CALLS_KEPT", 2):
        for digits, tick in (("1", 0), ("1", 59), ("2", 0), ("1", 2), ("1", 0)):
            freezer.tick(tick)
            assert (
                await report_to_webhook(client, event="query", digits=digits, **caller)
                == 200
            )
        assert (
            await report_to_webhook(client, event="query", digits="3", **caller) == 200
        )
        assert (
            await report_to_webhook(client, event="query", digits="2", **caller) == 200
        )
    await hass.async_block_till_done()
    assert [e.data["digits"] for e in incoming] == ["1", "2", "1", "3", "2"]


async def test_a_maybe_placed_request_of_an_older_store_comes_from_the_records(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    client: Any,
    hass_storage: dict[str, Any],
) -> None:
    """A store without finished calls: a no_answer record is still a call."""
    mock_infocaller.issue_call.side_effect = InfocallerTimeoutError("timed out")
    with pytest.raises(HomeAssistantError):
        await issue_call(hass, X)
    await _reload(hass, progress_integration)
    del _store(hass_storage, progress_integration)["recent"]
    await _reload(hass, progress_integration)
    (call,) = _progress(progress_integration).recent_calls.values()
    assert (call.phone, call.maybe_placed) == (X, True)
    incoming = async_capture_events(hass, EVENT_INCOMING_CALL)
    numbers = {"caller": X.lstrip("+"), "called": LINE}
    assert (
        await report_to_webhook(client, event="answered", call_id="71", **numbers)
        == 200
    )
    await hass.async_block_till_done()
    assert incoming == []


async def test_what_progress_restores_is_checked_and_bounded(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """What progress restores is checked, and bounded.

    A finished call without its time is refused (nothing taken); marks of
    calls no longer followed, and incoming calls beyond the cap, are dropped.
    """
    progress = _progress(progress_integration)
    junk = {"recent": [{"key": "k", "phone": X, "accepted_at": None}]}
    with pytest.raises(UnreadableStateError, match="accepted_at"):
        progress._restore(junk)
    assert progress.recent_calls == {}
    incoming = [
        {"keys": [f"id:{n}"], "marks": [["answered", None]]}
        for n in range(2 * INCOMING_CALLS_KEPT + 1)
    ]
    progress._restore({"seen": {"gone": [["answered", None]]}, "incoming": incoming})
    assert progress._seen == {}
    assert len(progress.incoming.calls) == 2 * INCOMING_CALLS_KEPT
    assert "id:0" not in progress.incoming.calls
