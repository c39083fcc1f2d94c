"""Call progress: the webhook, matching, inferring "not answered", restore."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.infocaller.api import CallResult, Stage
from custom_components.infocaller.api.report import ProgressReport
from custom_components.infocaller.const import (
    DOMAIN,
    EVENT_CALL_PROGRESS,
    ORDER_GRACE_SECONDS,
)
from custom_components.infocaller.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.infocaller.progress_state import progress_store

from .conftest import WEBHOOK_ID

URL = f"/api/webhook/{WEBHOOK_ID}"
PHONE = "+34611222333"
STATUS = "sensor.infocaller_34910000000_last_call_status"
PROGRESS = "event.infocaller_34910000000_call_progress"
NOW = "2030-03-01 12:00:00+00:00"
# Accepted at NOW with the default maximum wait (5 min), no retries: the
# window is 5 min + 90 s of ringing.
WINDOW = timedelta(minutes=5, seconds=90)

pytestmark = pytest.mark.usefixtures("progress_integration")


async def _call(hass: HomeAssistant, phone: str = PHONE, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": phone, "rule_group": "Aviso", **data},
        blocking=True,
        return_response=True,
    )


async def _report(
    client: Any,
    *,
    method: str = "GET",
    body: Any = None,
    headers: Any = None,
    **query: str,
) -> int:
    response = await client.request(
        method, URL, params=query, data=body, headers=headers
    )
    return int(response.status)


@pytest.fixture
async def progress_events(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> list[Event]:
    """An accepted call (4711, to ``PHONE``) at ``NOW``; the progress events after it."""
    freezer.move_to(NOW)
    await _call(hass)
    return async_capture_events(hass, EVENT_CALL_PROGRESS)


async def test_accepted_call_is_followed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """An accepted call is queued, with its window, in the record and sensor."""
    freezer.move_to(NOW)
    response = await _call(hass)
    assert response["status"] == "queued"
    assert response["window_end"] == "2030-03-01T12:06:30+00:00"
    state = hass.states.get(STATUS)
    assert state.state == "queued"
    assert state.attributes["call_id"] == "4711"
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert list(entry.runtime_data.progress.tracked) == ["4711"]


async def test_answered_matched_by_call_id(
    hass: HomeAssistant,
    client: Any,
    freezer: FrozenDateTimeFactory,
    progress_events: list[Event],
) -> None:
    """A report naming our call id is attached to that call."""
    freezer.tick(20)
    assert await _report(client, event="answered", call_id="4711", called="1") == 200
    await hass.async_block_till_done()
    (event,) = progress_events
    assert event.data["stage"] == "answered"
    assert event.data["match"] == "call_id"
    assert event.data["phone"] == PHONE
    assert event.data["source"] == "action"
    assert event.data["inferred"] is False
    assert hass.states.get(STATUS).state == "answered"
    assert hass.states.get(STATUS).attributes["answered_at"] == (
        "2030-03-01T12:00:20+00:00"
    )
    progress = hass.states.get(PROGRESS)
    assert progress.attributes["event_type"] == "answered"
    # The line's last-result sensor shows the same record, updated.
    last = hass.states.get("sensor.infocaller_34910000000_last_result")
    assert last.attributes["status"] == "answered"
    # Ended 42 s later: the talk time, and the call is no longer followed.
    freezer.tick(42)
    assert await _report(client, event="ended", call_id="4711") == 200
    assert progress_events[-1].data["stage"] == "ended"
    assert progress_events[-1].data["talk_seconds"] == 42.0
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.runtime_data.progress.tracked == {}


@pytest.mark.parametrize(
    "number", ["611222333", "34611222333", "+34611222333", "0034611222333"]
)
async def test_matched_by_number(
    hass: HomeAssistant, client: Any, freezer: FrozenDateTimeFactory, number: str
) -> None:
    """Another call id: the number within the call's window decides."""
    freezer.move_to(NOW)
    await _call(hass)
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    # Either of the vendor's two numbers may hold ours.
    assert await _report(client, event="answered", call_id="99", caller=number) == 200
    assert events[0].data["match"] == "phone"
    assert events[0].data["call_id"] == "4711"


async def test_number_after_the_window_matches_nothing(
    hass: HomeAssistant,
    client: Any,
    freezer: FrozenDateTimeFactory,
    progress_events: list[Event],
) -> None:
    """A number match only counts while the call can still ring."""
    freezer.tick(WINDOW + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [e.data["stage"] for e in progress_events] == ["not_answered"]
    assert await _report(client, event="answered", called="611222333") == 200
    assert progress_events[-1].data["match"] == "none"
    assert hass.states.get(STATUS).state == "not_answered"


async def test_unmatched_report_is_announced_not_attached(
    hass: HomeAssistant,
    client: Any,
    freezer: FrozenDateTimeFactory,
    progress_events: list[Event],
) -> None:
    """A report for a call we did not place: an event, no record changes."""
    assert (
        await _report(client, event="answered", call_id="555", called="699000111")
        == 200
    )
    (event,) = progress_events
    assert event.data["match"] == "none"
    assert event.data["phone"] == "699000111"
    assert event.data["status"] is None
    assert hass.states.get(STATUS).state == "queued"
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.runtime_data.progress.unmatched_reports == 1


async def test_repeated_report_is_applied_once(
    hass: HomeAssistant,
    client: Any,
    freezer: FrozenDateTimeFactory,
    progress_events: list[Event],
) -> None:
    """Infocaller (or a proxy) may send the same request twice."""
    for _ in range(3):
        assert await _report(client, event="answered", call_id="4711") == 200
    assert len(progress_events) == 1


async def test_no_answer_by_the_end_of_the_window(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, progress_events: list[Event]
) -> None:
    """Nothing came: not answered at the window's end, not a second before."""
    freezer.tick(WINDOW - timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert progress_events == []
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    (event,) = progress_events
    assert event.data["stage"] == "not_answered"
    assert event.data["inferred"] is True
    assert event.data["match"] == "call_id"
    assert hass.states.get(STATUS).state == "not_answered"


async def test_window_counts_schedule_wait_and_retries(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Scheduled start + maximum wait + ringing per attempt + retry pauses."""
    freezer.move_to(NOW)
    response = await _call(
        hass, schedule="2030-03-01 14:00:00+00:00", max_wait=10, retries=2
    )
    # 14:00 + 10 min + 3 x 90 s ringing + 2 x 300 s between retries.
    assert response["window_end"] == "2030-03-01T14:24:30+00:00"


async def test_ended_without_answered_is_not_answered_after_grace(
    hass: HomeAssistant,
    client: Any,
    freezer: FrozenDateTimeFactory,
    progress_events: list[Event],
) -> None:
    """An "ended" alone means not answered, once a late "answered" cannot come."""
    assert await _report(client, event="ended", call_id="4711") == 200
    assert [e.data["stage"] for e in progress_events] == ["ended"]
    assert progress_events[0].data["talk_seconds"] is None
    freezer.tick(ORDER_GRACE_SECONDS + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [e.data["stage"] for e in progress_events] == ["ended", "not_answered"]


async def test_answered_arriving_after_ended(
    hass: HomeAssistant,
    client: Any,
    freezer: FrozenDateTimeFactory,
    progress_events: list[Event],
) -> None:
    """Out of order: "ended" then "answered" within the grace: answered."""
    assert await _report(client, event="ended", call_id="4711") == 200
    assert await _report(client, event="answered", call_id="4711") == 200
    freezer.tick(ORDER_GRACE_SECONDS + 60)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [e.data["stage"] for e in progress_events] == ["ended", "answered"]
    assert hass.states.get(STATUS).state == "answered"
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.runtime_data.progress.tracked == {}


@pytest.mark.usefixtures("progress_events")
async def test_late_answered_by_call_id_wins_over_inference(
    hass: HomeAssistant, client: Any, freezer: FrozenDateTimeFactory
) -> None:
    """The window was an estimate: an exact report after it still counts."""
    freezer.tick(WINDOW + timedelta(seconds=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(STATUS).state == "not_answered"
    assert await _report(client, event="answered", call_id="4711") == 200
    assert hass.states.get(STATUS).state == "answered"


async def test_forward_acknowledged_and_digits(
    hass: HomeAssistant,
    client: Any,
    freezer: FrozenDateTimeFactory,
    progress_events: list[Event],
) -> None:
    """Every stage shows in the status; digits are kept; each fires once."""
    await _report(client, event="answered", call_id="4711")
    await _report(client, event="forward_failed", call_id="4711", forward="622333444")
    assert hass.states.get(STATUS).state == "forward_failed"
    assert progress_events[-1].data["forward"] == "622333444"
    await _report(client, event="query", call_id="4711", digits="[PULSACION]")
    assert hass.states.get(STATUS).state == "acknowledged"
    await _report(client, event="query", call_id="4711", digits="2")
    state = hass.states.get(STATUS)
    assert (state.state, state.attributes["digits"]) == ("digits", "2")
    assert [e.data["stage"] for e in progress_events] == [
        "answered",
        "forward_failed",
        "acknowledged",
        "digits",
    ]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"evento": "INICIO", "_IdLlamada": "4711"}', "application/json"),
        ("<r><eve>inicio</eve><IdLlamada>4711</IdLlamada></r>", "text/xml"),
        ("eve=inicio&idllamada=4711", "application/x-www-form-urlencoded"),
    ],
    ids=["json", "xml", "form"],
)
async def test_post_bodies(
    hass: HomeAssistant, client: Any, body: str, content_type: str
) -> None:
    """POST with a JSON, XML or form body works like a GET."""
    await _call(hass)
    status = await _report(
        client, method="POST", body=body, headers={"Content-Type": content_type}
    )
    assert status == 200
    assert hass.states.get(STATUS).state == "answered"


@pytest.mark.parametrize(
    ("query", "body", "status"),
    [
        ({}, None, 400),
        ({"event": "explode"}, None, 400),
        ({"event": "answered"}, "{broken", 400),
        ({}, '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', 400),
        ({"event": "answered"}, "x" * 20000, 413),
    ],
    ids=["nothing", "unknown-event", "broken-json", "xml-entities", "oversize"],
)
async def test_junk_is_refused_and_changes_nothing(
    hass: HomeAssistant,
    client: Any,
    caplog: pytest.LogCaptureFixture,
    query: dict[str, str],
    body: str | None,
    status: int,
) -> None:
    """Junk gets a 4xx, no event, no exception, and the line still works."""
    await _call(hass)
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    method = "POST" if body is not None else "GET"
    assert await _report(client, method=method, body=body, **query) == status
    assert events == []
    assert "Traceback" not in caplog.text
    assert "Error processing webhook" not in caplog.text
    # Our own log lines never show the webhook id (a secret).
    ours = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("custom_components.infocaller")
    ]
    assert not [line for line in ours if WEBHOOK_ID in line]
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.runtime_data.progress.invalid_reports == 1
    # Still working: a real report is applied.
    assert await _report(client, event="answered", call_id="4711") == 200
    assert hass.states.get(STATUS).state == "answered"


async def test_wrong_webhook_id_does_nothing(hass: HomeAssistant, client: Any) -> None:
    """Another id is not ours: Home Assistant answers 200 and nothing happens."""
    await _call(hass)
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    response = await client.get(
        "/api/webhook/" + "0" * 64, params={"event": "answered", "call_id": "4711"}
    )
    assert response.status == 200
    assert events == []
    assert hass.states.get(STATUS).state == "queued"


@pytest.mark.usefixtures("progress_events")
async def test_followed_call_survives_a_restart(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A call in flight across a reload keeps its window (and its state)."""
    assert await hass.config_entries.async_reload(progress_integration.entry_id)
    await hass.async_block_till_done()
    saved = hass_storage[progress_store(hass, progress_integration.entry_id).key]
    assert [item["call_id"] for item in saved["data"]["tracked"]] == ["4711"]
    assert hass.states.get(STATUS).state == "queued"
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    freezer.tick(WINDOW - timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert events == []
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert [e.data["stage"] for e in events] == ["not_answered"]


async def test_refused_call_is_not_followed(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """Only accepted calls have progress."""
    from homeassistant.exceptions import HomeAssistantError

    from custom_components.infocaller.api import InfocallerRejectedError

    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=11, result_text="Saldo insuficiente")
    )
    with pytest.raises(HomeAssistantError):
        await _call(hass)
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert entry.runtime_data.progress.tracked == {}
    assert entry.runtime_data.records.last.status is None


async def test_answered_call_that_never_ends_is_let_go(
    hass: HomeAssistant, client: Any, freezer: FrozenDateTimeFactory
) -> None:
    """No "ended" ever: the call is followed for MAX_TALK_SECONDS, then dropped."""
    from custom_components.infocaller.const import MAX_TALK_SECONDS

    freezer.move_to(NOW)
    await _call(hass)
    assert await _report(client, event="answered", call_id="4711") == 200
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    freezer.tick(timedelta(seconds=MAX_TALK_SECONDS - 5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert list(entry.runtime_data.progress.tracked) == ["4711"]
    freezer.tick(timedelta(seconds=10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert entry.runtime_data.progress.tracked == {}
    assert hass.states.get(STATUS).state == "answered"  # nothing inferred


async def test_declared_oversize_body_is_refused_unread(
    hass: HomeAssistant, client: Any
) -> None:
    """A Content-Length over the cap is refused before reading the body."""
    response = await client.post(
        URL,
        params={"event": "answered"},
        data=b"x" * 100_000,
        headers={"Content-Length": "100000"},
    )
    assert response.status == 413


async def test_undeclared_oversize_body_stops_at_the_cap(hass: HomeAssistant) -> None:
    """Without a Content-Length, reading stops one byte past the cap: 413."""
    from custom_components.infocaller import receiver
    from custom_components.infocaller.api.report import MAX_REPORT_BYTES

    entry = hass.config_entries.async_entries(DOMAIN)[0]
    progress = entry.runtime_data.progress

    class Endless:
        """A chunked body that never ends, 1 KiB at a time."""

        def __init__(self) -> None:
            self.sent = 0

        async def read(self, size: int) -> bytes:
            chunk = b"x" * min(size, 1024)
            self.sent += len(chunk)
            return chunk

    body = Endless()
    request = MagicMock(headers={}, content=body, query={"event": "answered"})
    response = await receiver.async_handle_request(progress, request)
    assert response.status == 413
    assert body.sent == MAX_REPORT_BYTES + 1
    assert progress.invalid_reports == 1


async def test_body_that_never_completes_times_out(hass: HomeAssistant) -> None:
    """A slow-drip body gets 408 after READ_TIMEOUT, and is counted."""
    from unittest.mock import patch

    from custom_components.infocaller import receiver

    entry = hass.config_entries.async_entries(DOMAIN)[0]
    progress = entry.runtime_data.progress

    class Stalled:
        async def read(self, size: int) -> bytes:
            await asyncio.sleep(3600)
            return b""

    request = MagicMock(headers={}, content=Stalled(), query={})
    with patch.object(receiver, "READ_TIMEOUT", 0.05):
        response = await receiver.async_handle_request(progress, request)
    assert response.status == 408
    assert progress.invalid_reports == 1


async def test_url_needs_a_webhook_id(hass: HomeAssistant) -> None:
    """No webhook id yet: no URL to show."""
    from custom_components.infocaller.webhook import webhook_url

    await hass.config.async_update(external_url="https://home.example.org")
    assert webhook_url(hass, {}) is None
    assert webhook_url(hass, {"webhook_id": "abc"}) == (
        "https://home.example.org/api/webhook/abc"
    )


@pytest.mark.usefixtures("progress_events")
async def test_turning_progress_off_lets_followed_calls_go(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Without call progress nothing is inferred, not even for older calls."""
    hass.config_entries.async_update_entry(
        progress_integration,
        options={**progress_integration.options, "call_progress": False},
    )
    await hass.async_block_till_done()  # the line reloads
    assert progress_integration.runtime_data.progress.tracked == {}
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    freezer.tick(WINDOW + timedelta(seconds=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert events == []


async def test_an_accepted_call_writes_each_sensor_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Following a call adds no state write: the record carries its status."""
    from unittest.mock import patch

    from homeassistant.helpers.entity import Entity

    freezer.move_to(NOW)
    writes: list[str] = []
    original = Entity.async_write_ha_state

    def counting(entity: Entity) -> None:
        writes.append(entity.entity_id)
        original(entity)

    with patch.object(Entity, "async_write_ha_state", counting):
        await _call(hass)
        await hass.async_block_till_done()
    assert writes.count(STATUS) == 1
    assert writes.count("sensor.infocaller_34910000000_last_result") == 1
    assert PROGRESS not in writes  # no stage yet: the call is only queued
    assert hass.states.get(STATUS).state == "queued"


@pytest.mark.usefixtures("progress_events")
async def test_keys_from_a_url_copied_with_its_full_stop(
    hass: HomeAssistant, client: Any, freezer: FrozenDateTimeFactory
) -> None:
    """``digits=1.`` (the URL copied out of a sentence) still gives the keys.

    It used to end ``acknowledged`` with no digits, and count nothing.
    """
    await _report(client, event="answered", call_id="4711")
    assert await _report(client, event="query", call_id="4711", digits="1.") == 200
    state = hass.states.get(STATUS)
    assert (state.state, state.attributes["digits"]) == ("digits", "1")
    progress = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.progress
    assert progress.dropped_values == 0


async def test_dropped_values_are_counted(
    hass: HomeAssistant, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A report's malformed values are dropped, counted, and logged once."""
    await _call(hass)
    progress = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.progress
    assert await _report(client, event="answered", call_id="4711", called="x1") == 200
    assert await _report(client, event="query", call_id="4711", digits="1x") == 200
    assert hass.states.get(STATUS).state == "acknowledged"
    assert progress.dropped_values == 2
    assert progress.invalid_reports == 0
    assert caplog.text.count("Dropped 1 malformed value(s)") == 1
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["call_progress"]["dropped_values"] == 2


# -- reports before the answer, schedules, finished ids, floods, lines --------


async def test_report_before_the_accepted_answer_is_applied(
    hass: HomeAssistant,
    client: Any,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """INICIO arrives before the action read Infocaller's answer (item 4)."""
    freezer.move_to(NOW)

    async def answer_after_the_report(request: Any) -> CallResult:
        assert await _report(client, event="answered", call_id="4711") == 200
        return CallResult(result=0, result_text="Aceptada", call_id="4711")

    mock_infocaller.issue_call.side_effect = answer_after_the_report
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    response = await _call(hass, wait_for="answered", timeout=30)
    assert response["answered"] is True
    assert response["answered_at"] == "2030-03-01T12:00:00+00:00"
    assert [(e.data["stage"], e.data["match"]) for e in events] == [
        ("answered", "none"),  # announced when it came ...
        ("answered", "call_id"),  # ... applied once the call was followed
    ]
    assert hass.states.get(STATUS).state == "answered"


async def test_chain_stops_at_person_1_when_inicio_comes_first(
    hass: HomeAssistant, client: Any, mock_infocaller: MagicMock
) -> None:
    """A chain whose first person answered before the answer was read stops."""
    issued: list[str] = []

    async def issue(request: Any) -> CallResult:
        issued.append(f"C{len(issued) + 1}")
        # Infocaller's own id, and the number as it writes it.
        await _report(client, event="answered", call_id="90001", called="34611000001")
        return CallResult(result=0, result_text="Aceptada", call_id=issued[-1])

    mock_infocaller.issue_call.side_effect = issue
    response = await hass.services.async_call(
        DOMAIN,
        "call_until_answered",
        {"targets": ["+34611000001", "+34611000002"], "rule_group": "A", "wait": 60},
        blocking=True,
        return_response=True,
    )
    assert response["answered_by"]["call_id"] == "C1"
    assert issued == ["C1"]


async def test_kept_reports_are_bounded_in_count_and_age(
    hass: HomeAssistant,
    client: Any,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """At most PENDING_REPORTS are kept, none older than PENDING_SECONDS."""
    from custom_components.infocaller.progress import (
        PENDING_REPORTS,
        PENDING_SECONDS,
    )

    freezer.move_to(NOW)
    progress = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.progress
    assert await _report(client, event="answered", call_id="4711") == 200
    for index in range(PENDING_REPORTS + 10):
        await _report(client, event="ended", call_id=f"X{index}", called="699000000")
    assert len(progress.pending) == PENDING_REPORTS
    # The report for 4711 was pushed out by the flood: not applied.
    await _call(hass)
    assert hass.states.get(STATUS).state == "queued"
    # A report older than PENDING_SECONDS is not applied either.
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id="4712"
    )
    assert await _report(client, event="answered", call_id="4712") == 200
    freezer.tick(PENDING_SECONDS + 1)
    await _call(hass, "+34611222444")
    assert hass.states.get(STATUS).state == "queued"


async def test_scheduled_call_is_not_answered_by_number_before_its_time(
    hass: HomeAssistant, client: Any, freezer: FrozenDateTimeFactory
) -> None:
    """A call for tomorrow: a report by number today changes nothing (item 5)."""
    freezer.move_to(NOW)
    await _call(hass, schedule="2030-03-02 12:00:00+00:00")
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    assert await _report(client, event="answered", called="611222333") == 200
    assert events[-1].data["match"] == "none"
    assert hass.states.get(STATUS).state == "queued"
    # Tomorrow, at its time, the number matches.
    freezer.move_to("2030-03-02 12:00:30+00:00")
    assert await _report(client, event="answered", called="34611222333") == 200
    assert events[-1].data["match"] == "phone"
    assert hass.states.get(STATUS).state == "answered"


@pytest.mark.parametrize("restart", [False, True], ids=["same-run", "after-reload"])
async def test_a_finished_call_id_never_changes_another_call(
    hass: HomeAssistant,
    client: Any,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
    restart: bool,
) -> None:
    """A repeated FIN or INICIO of call 1 leaves call 2 alone (item 6)."""
    from custom_components.infocaller.const import FINISHED_CALLS_KEPT

    freezer.move_to(NOW)
    await _call(hass)
    # Infocaller reports with its own id: matched by number, and remembered.
    assert await _report(client, event="answered", call_id="901", called="611222333")
    freezer.tick(30)
    assert await _report(client, event="ended", call_id="901", called="611222333")
    progress = progress_integration.runtime_data.progress
    assert progress.tracked == {}
    if restart:
        assert await hass.config_entries.async_reload(progress_integration.entry_id)
        await hass.async_block_till_done()
        progress = progress_integration.runtime_data.progress
    else:
        # More calls finished since: call 1's record is gone from memory.
        mock_infocaller.issue_call.side_effect = [
            CallResult(result=0, result_text="Aceptada", call_id=f"X{index}")
            for index in range(FINISHED_CALLS_KEPT)
        ]
        for index in range(FINISHED_CALLS_KEPT):
            await _call(hass, phone=f"+34622{index:06d}")
            for stage in (Stage.ANSWERED, Stage.ENDED):
                progress.async_report(ProgressReport(stage=stage, call_id=f"X{index}"))
        mock_infocaller.issue_call.side_effect = None
        assert progress.tracked == {}
    assert FINISHED_CALLS_KEPT > 0
    freezer.tick(60)
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id="4712"
    )
    await _call(hass)
    for call_id in ("901", "4711"):
        for event in ("ended", "answered"):
            assert (
                await _report(client, event=event, call_id=call_id, called="611222333")
                == 200
            )
    freezer.tick(ORDER_GRACE_SECONDS + 1)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert progress.tracked["4712"].status == "queued"
    assert hass.states.get(STATUS).state == "queued"
    assert progress.pending == type(progress.pending)()


async def test_a_flood_of_strangers_does_not_starve_a_followed_call(
    hass: HomeAssistant, client: Any
) -> None:
    """Unmatched reports use up their own budget only (item 7)."""
    from unittest.mock import patch

    from custom_components.infocaller import ratelimit

    await _call(hass)
    progress = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.progress
    with patch.object(ratelimit, "BURST", 5.0), patch.object(ratelimit, "RATE", 0.0):
        progress.limiter = ratelimit.RateLimiter()
        progress.matched_limiter = ratelimit.RateLimiter()
        statuses = [
            await _report(client, event="answered", call_id=f"F{i}", called="699000000")
            for i in range(20)
        ]
        assert statuses == [200] * 5 + [429] * 15
        assert await _report(client, event="x") == 429  # junk shares that budget
        # The genuine report still gets through and is applied.
        assert await _report(client, event="answered", call_id="4711") == 200
    assert hass.states.get(STATUS).state == "answered"


async def test_distinct_digits_remembered_per_call_are_capped(
    hass: HomeAssistant, client: Any
) -> None:
    """A flood of distinct digits keeps at most MARKS_PER_CALL marks (item 7).

    Seen from outside: the first MARKS_PER_CALL distinct digits are applied,
    further distinct ones are ignored (no event), and repeating an early one
    is a repeated request (no event): cycling values can neither grow
    memory nor have an old value applied again.
    """
    from custom_components.infocaller.progress_state import MARKS_PER_CALL

    await _call(hass)
    progress = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.progress
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)

    def report(digits: int) -> None:
        progress.async_report(
            ProgressReport(stage=Stage.DIGITS, call_id="4711", digits=str(digits))
        )

    for digits in range(MARKS_PER_CALL * 3):
        report(digits)
    await hass.async_block_till_done()
    assert len(events) == MARKS_PER_CALL
    assert hass.states.get(STATUS).attributes["digits"] == str(MARKS_PER_CALL - 1)
    report(0)  # remembered: a repeated request
    report(MARKS_PER_CALL * 3 - 1)  # past the cap: ignored
    await hass.async_block_till_done()
    assert len(events) == MARKS_PER_CALL
    assert hass.states.get(STATUS).attributes["digits"] == str(MARKS_PER_CALL - 1)


async def test_a_report_for_another_line_matches_nothing(
    hass: HomeAssistant, client: Any
) -> None:
    """The report's line, when given, must be ours (item 8)."""
    await _call(hass)
    events = async_capture_events(hass, EVENT_CALL_PROGRESS)
    assert await _report(client, event="answered", call_id="4711", line="34910999999")
    assert events[-1].data["match"] == "none"
    assert hass.states.get(STATUS).state == "queued"
    assert await _report(client, event="answered", call_id="4711", line="910000000")
    assert events[-1].data["match"] == "call_id"
    assert hass.states.get(STATUS).state == "answered"


async def test_finished_ids_are_bounded_in_count_and_age(
    hass: HomeAssistant, mock_infocaller: MagicMock, freezer: FrozenDateTimeFactory
) -> None:
    """At most FINISHED_IDS_KEPT ids, none older than FINISHED_IDS_SECONDS."""
    from unittest.mock import patch

    from custom_components.infocaller import progress_state

    freezer.move_to(NOW)
    progress = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.progress

    async def finish(call_id: str) -> None:
        mock_infocaller.issue_call.return_value = CallResult(
            result=0, result_text="Aceptada", call_id=call_id
        )
        await _call(hass, f"+3461122{call_id}")
        progress.async_report(ProgressReport(stage=Stage.ANSWERED, call_id=call_id))
        progress.async_report(ProgressReport(stage=Stage.ENDED, call_id=call_id))

    with patch.object(progress_state, "FINISHED_IDS_KEPT", 2):
        for call_id in ("1001", "1002", "1003"):
            await finish(call_id)
        assert list(progress.finished_ids) == ["1002", "1003"]
        freezer.tick(timedelta(seconds=progress_state.FINISHED_IDS_SECONDS + 1))
        await finish("1004")
        assert list(progress.finished_ids) == ["1004"]


async def test_state_writes_per_call_and_per_step(
    hass: HomeAssistant, client: Any, freezer: FrozenDateTimeFactory
) -> None:
    """Each entity writes its state only when something it shows changed.

    An accepted call, its answered and ended reports, a report that matches
    nothing, then a refused call: the writes of each line entity.
    """
    from unittest.mock import patch

    from homeassistant.helpers.entity import Entity

    from custom_components.infocaller.api import InfocallerRejectedError

    freezer.move_to(NOW)
    writes: list[str] = []
    original = Entity.async_write_ha_state

    def counting(entity: Entity) -> None:
        writes.append(entity.entity_id)
        original(entity)

    with patch.object(Entity, "async_write_ha_state", counting):
        await _call(hass)
        freezer.tick(20)
        assert await _report(client, event="answered", call_id="4711") == 200
        freezer.tick(42)
        assert await _report(client, event="ended", call_id="4711") == 200
        assert await _report(client, event="answered", called="+34699000000") == 200
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        entry.runtime_data.pipeline.client.issue_call.side_effect = (
            InfocallerRejectedError(CallResult(result=11, result_text="Saldo"))
        )
        with pytest.raises(HomeAssistantError):
            await _call(hass, "+34611222334")
        await hass.async_block_till_done()
    line = "34910000000"
    counts = {entity_id: writes.count(entity_id) for entity_id in sorted(set(writes))}
    assert counts == {
        f"binary_sensor.infocaller_{line}_line_problem": 2,
        f"event.infocaller_{line}_call_progress": 3,
        f"event.infocaller_{line}_call_result": 2,
        f"sensor.infocaller_{line}_accepted_calls": 1,
        f"sensor.infocaller_{line}_last_call": 2,
        STATUS: 3,
        f"sensor.infocaller_{line}_last_result": 4,
        f"sensor.infocaller_{line}_refused_calls": 1,
    }
