"""The guard and the records survive crashes, reloads and odd files.

What ``hass_storage`` holds when an action returns (or while a request is
in flight) is what a crash would leave on disk. Odd files are real files
in the test's ``.storage``.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime, timedelta
import hashlib
import json
from pathlib import Path
import threading
import time
from typing import Any
from unittest.mock import MagicMock, patch
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    get_test_config_dir,
)

from custom_components.infocaller.api import CallRequest, CallResult
from custom_components.infocaller.const import DOMAIN
from custom_components.infocaller.guard import CallGuard
from custom_components.infocaller.progress import InfocallerProgress
from custom_components.infocaller.records import CallRecord, InfocallerRecords
from custom_components.infocaller.saving import Journal

from .conftest import LINE, issue_call

PHONE = "+34611222333"
NOW = "2030-03-01 12:00:00+00:00"


async def _start_a_call_answered_later(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> tuple[asyncio.Event, asyncio.Task[Any]]:
    """Start a call that Infocaller accepts once the event is set; return both.

    Returns once the request is on its way; later calls are answered at once.
    """
    release = asyncio.Event()

    async def slow(request: CallRequest) -> CallResult:
        if mock_infocaller.issue_call.await_count == 1:
            await release.wait()
        return CallResult(result=0, result_text="Aceptada", call_id="1")

    mock_infocaller.issue_call.side_effect = slow
    first = asyncio.create_task(issue_call(hass, PHONE))
    while mock_infocaller.issue_call.await_count == 0:
        await asyncio.sleep(0)
    return release, first


def _guard_key(entry: MockConfigEntry) -> str:
    return f"{DOMAIN}.{entry.entry_id}.guard"


async def test_the_guard_entry_is_on_disk_before_the_request_leaves(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
) -> None:
    """A crash while the request is on its way: the restarted guard refuses it."""
    on_disk: dict[str, Any] = {}
    journal = Path(
        hass.config.path(".storage", f"{_guard_key(setup_integration)}.journal")
    )

    async def send(request: CallRequest) -> CallResult:
        on_disk.update(copy.deepcopy(hass_storage))
        on_disk["journal"] = await hass.async_add_executor_job(journal.read_bytes)
        return CallResult(result=0, result_text="Aceptada", call_id="1")

    mock_infocaller.issue_call.side_effect = send
    await issue_call(hass, PHONE)
    # Home Assistant restarts from what was on disk when the request left.
    journal.write_bytes(on_disk.pop("journal"))
    hass_storage.clear()
    hass_storage.update(on_disk)
    guard = CallGuard(hass, setup_integration.entry_id)
    await guard.async_load()
    with pytest.raises(ServiceValidationError) as err:
        guard.async_check(CallRequest(phone=PHONE, rule_group="Aviso"))
    assert err.value.translation_key == "duplicate_call"


async def test_a_reload_during_the_request_keeps_its_record(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Infocaller answers after a reload started: the reloaded line has the call.

    The unload waits for the answer; the call used to be recorded in the
    unloaded line's records only (not shown, not counted after the reload).
    """
    release, first = await _start_a_call_answered_later(hass, mock_infocaller)
    reload = asyncio.create_task(
        hass.config_entries.async_reload(setup_integration.entry_id)
    )
    while setup_integration.state is not ConfigEntryState.UNLOAD_IN_PROGRESS:
        await asyncio.sleep(0)
    # The identical call while the line reloads: no line takes it.
    with pytest.raises(HomeAssistantError) as err:
        await issue_call(hass, PHONE)
    assert err.value.translation_key == "no_loaded_entries"
    release.set()
    assert (await first)["result_key"] == "accepted"
    assert await reload
    assert setup_integration.state is ConfigEntryState.LOADED
    line = f"sensor.infocaller_{LINE}"
    assert hass.states.get(f"{line}_accepted_calls").state == "1"
    assert hass.states.get(f"{line}_last_result").state == "accepted"
    assert setup_integration.runtime_data.records.last.call_id == "1"
    with pytest.raises(ServiceValidationError) as dup:
        await issue_call(hass, PHONE)
    assert dup.value.translation_key == "duplicate_call"
    assert mock_infocaller.issue_call.await_count == 1


async def test_a_request_still_unanswered_after_the_unload_is_not_let_through(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """An unload that stops waiting: the reloaded guard still refuses the call."""
    setup_integration.runtime_data.pipeline.client.timeout = 0
    release, first = await _start_a_call_answered_later(hass, mock_infocaller)
    with patch("custom_components.infocaller.pipeline.DRAIN_MARGIN", 0):
        assert await hass.config_entries.async_reload(setup_integration.entry_id)
    assert setup_integration.state is ConfigEntryState.LOADED
    with pytest.raises(ServiceValidationError) as err:
        await issue_call(hass, PHONE)
    assert err.value.translation_key == "duplicate_call"
    assert mock_infocaller.issue_call.await_count == 1
    release.set()
    await first
    # The old line's answer arrives after the reload: still refused.
    with pytest.raises(ServiceValidationError):
        await issue_call(hass, PHONE)
    assert mock_infocaller.issue_call.await_count == 1


async def test_an_unload_during_the_write_ahead_sends_nothing(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """The unload starts while the guard's entry is written: the call is not sent.

    From the start of an unload the line places no call; a call whose entry
    was being written then went out (and was recorded). It is refused
    instead, and, never placed, does not block the same call afterwards.
    """
    guard = setup_integration.runtime_data.pipeline.guard
    writing, release = asyncio.Event(), asyncio.Event()
    write_ahead = guard.async_write_ahead

    async def slow_write(ticket: Any) -> None:
        writing.set()
        await release.wait()
        await write_ahead(ticket)

    with patch.object(guard, "async_write_ahead", slow_write):
        first = asyncio.create_task(issue_call(hass, PHONE))
        await writing.wait()
        reload = asyncio.create_task(
            hass.config_entries.async_reload(setup_integration.entry_id)
        )
        while setup_integration.state is not ConfigEntryState.UNLOAD_IN_PROGRESS:
            await asyncio.sleep(0)
        release.set()
        with pytest.raises(HomeAssistantError) as err:
            await first
    assert err.value.translation_key == "line_unloaded"
    assert await reload
    assert mock_infocaller.issue_call.await_count == 0
    # Never placed: the identical call is not a duplicate.
    assert (await issue_call(hass, PHONE))["result_key"] == "accepted"
    assert mock_infocaller.issue_call.await_count == 1


@pytest.mark.usefixtures("setup_integration")
async def test_the_same_instant_written_differently_is_one_call(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """16:58 UTC, 17:58+01:00 and 11:58-05:00 are one call, sent once."""
    freezer.move_to(NOW)
    await issue_call(hass, PHONE, schedule="2030-03-09T16:58:00+00:00")
    for same in ("2030-03-09T17:58:00+01:00", "2030-03-09T11:58:00-05:00"):
        with pytest.raises(ServiceValidationError) as err:
            await issue_call(hass, PHONE, schedule=same)
        assert err.value.translation_key == "duplicate_call"
    # Another instant is another call.
    await issue_call(hass, PHONE, schedule="2030-03-09T16:59:00+00:00")
    assert mock_infocaller.issue_call.await_count == 2


async def test_a_time_without_offset_is_in_the_account_zone(
    hass: HomeAssistant,
) -> None:
    """A naive time is the account's wall time: the same instant as its UTC."""
    guard = CallGuard(hass, "entry")
    guard.time_zone = ZoneInfo("Europe/Madrid")
    guard.async_check(
        CallRequest(
            phone=PHONE,
            rule_group="Aviso",
            scheduled_for=datetime(2030, 3, 9, 17, 58),  # noqa: DTZ001
        )
    )
    with pytest.raises(ServiceValidationError):
        guard.async_check(
            CallRequest(
                phone=PHONE,
                rule_group="Aviso",
                scheduled_for=datetime.fromisoformat("2030-03-09T16:58:00+00:00"),
            )
        )
    # 17:58 in Madrid is not 17:58 UTC.
    guard.async_check(
        CallRequest(
            phone=PHONE,
            rule_group="Aviso",
            scheduled_for=datetime.fromisoformat("2030-03-09T17:58:00+00:00"),
        )
    )


async def test_the_guard_file_keeps_no_number(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Numbers, rule groups and variables are not in the guard's file."""
    await issue_call(hass, PHONE, variables={"CODE": "8812"})
    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    saved = json.dumps(hass_storage[_guard_key(setup_integration)])
    for content in ("611222333", "Aviso", "8812", "CODE"):
        assert content not in saved
    # The hashes still count: the reloaded line refuses the repeat.
    assert await hass.config_entries.async_setup(setup_integration.entry_id)
    with pytest.raises(ServiceValidationError):
        await issue_call(hass, PHONE, variables={"CODE": "8812"})


async def test_a_version_1_1_guard_is_migrated(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """An older guard file keeps protecting; its numbers leave the file."""
    freezer.move_to(NOW)
    now = time.time()
    old_key = hashlib.sha256(repr((PHONE, "Aviso", None, ())).encode()).hexdigest()[:32]
    hass_storage[_guard_key(mock_config_entry)] = {
        "version": 1,
        "key": _guard_key(mock_config_entry),
        "data": {
            "sent": {old_key: now - 10},
            "by_number": {PHONE: [now - 60]},
            "line": [now - 60],
        },
    }
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={"max_calls_per_number": 2}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    saved = hass_storage[_guard_key(mock_config_entry)]
    assert saved["minor_version"] == 2
    assert "611222333" not in json.dumps(saved)
    # The request sent 10 s ago is still a duplicate...
    with pytest.raises(ServiceValidationError) as err:
        await issue_call(hass, PHONE)
    assert err.value.translation_key == "duplicate_call"
    # ... and the call a minute ago still counts for the hourly limit.
    await issue_call(hass, PHONE, variables={"N": 1})
    with pytest.raises(HomeAssistantError) as err:
        await issue_call(hass, PHONE, variables={"N": 2})
    assert err.value.translation_key == "rate_limited_number"
    assert mock_infocaller.issue_call.await_count == 1


# Odd files: real files in .storage, both stores.

RECORD = {
    "time": "2030-02-01T10:00:00+00:00",
    "source": "action",
    "phone": PHONE,
    "rule_group": "Aviso",
    "scheduled_for": None,
    "result": 0,
    "result_key": "accepted",
    "result_text": "Aceptada",
    "call_id": "77",
}


def _odd_files(entry_id: str) -> dict[str, dict[str, str]]:
    """Unusable content of each store, by shape."""
    keys = [f"{DOMAIN}.{entry_id}{suffix}" for suffix in ("", ".guard", ".progress")]
    shapes = {
        "newer major version": {"version": 2, "minor_version": 1, "data": {}},
        "wrong kinds": {
            "version": 1,
            "data": {"recent": 5, "sent": [1, 2], "tracked": 5},
        },
        "no version": {"data": {}},
        "not an object": [1, 2],
    }
    odd = {
        name: {
            key: json.dumps({"key": key, **shape})
            if isinstance(shape, dict)
            else json.dumps(shape)
            for key in keys
        }
        for name, shape in shapes.items()
    }
    odd["garbage"] = dict(
        zip(keys, ["{not json", '{"version": 1, "da', "{["], strict=True)
    )
    return odd


@pytest.mark.parametrize(
    "shape",
    ["newer major version", "wrong kinds", "no version", "not an object", "garbage"],
)
@pytest.mark.parametrize("store", ["records", "guard", "progress"])
@pytest.mark.usefixtures("mock_infocaller")
async def test_an_unusable_file_is_moved_aside(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    real_storage: Path,
    shape: str,
    store: str,
) -> None:
    """The line loads; the file is renamed, not deleted; a repair says what was lost."""
    entry_id = mock_config_entry.entry_id
    key = f"{DOMAIN}.{entry_id}" + ("" if store == "records" else f".{store}")
    content = _odd_files(entry_id)[shape][key]
    (real_storage / key).write_text(content)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    (aside,) = [
        path
        for path in real_storage.glob(f"{key}.*")
        if ".unreadable." in path.name or ".corrupt." in path.name
    ]
    assert aside.read_text() == content
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"unreadable_{key}")
    assert issue is not None
    assert issue.translation_key == f"{store}_unreadable"
    assert issue.translation_placeholders == {
        "title": mock_config_entry.title,
        "path": str(aside),
    }
    # The line works, and removing it removes the issue.
    await issue_call(hass, PHONE)
    await hass.config_entries.async_remove(entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"unreadable_{key}") is None


#: Wrong-shaped values a restore reads with ``.get`` or ``.items`` (an
#: AttributeError if not checked), by store; the guard's 1.1 file is migrated.
_WRONG_SHAPES = {
    "records": [
        {"by_saved_call": ["x"]},
        {"last_answer": ["x"]},
        {"last_progress": "x"},
    ],
    "guard": [
        {"sent": ["x"]},
        {"in_flight": "x"},
        {"numbers": [1]},
        {"legacy_sent": [1]},
    ],
    "guard 1.1": [{"by_number": [1]}, {"sent": [1]}],
    "progress": [
        {"tracked": [["x"]]},
        {"ids": ["x"]},
        {"finished": ["x"]},
        {"seen": ["x"]},
        {"recent": [["x"]]},
        {"incoming": [["x"]]},
    ],
}


@pytest.mark.parametrize(
    ("store", "data"),
    [(store, data) for store, shapes in _WRONG_SHAPES.items() for data in shapes],
)
@pytest.mark.usefixtures("mock_infocaller")
async def test_a_wrong_shaped_value_is_moved_aside(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    real_storage: Path,
    store: str,
    data: dict[str, Any],
) -> None:
    """A value of the wrong shape (a list for an object) is an unusable file."""
    entry_id = mock_config_entry.entry_id
    name = store.split(maxsplit=1)[0]
    key = f"{DOMAIN}.{entry_id}" + ("" if name == "records" else f".{name}")
    minor = 1 if store in ("guard 1.1", "records", "progress") else 2
    content = json.dumps(
        {"version": 1, "minor_version": minor, "key": key, "data": data}
    )
    (real_storage / key).write_text(content)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    (aside,) = list(real_storage.glob(f"{key}.unreadable.*"))
    assert aside.read_text() == content
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"unreadable_{key}")
    assert issue is not None
    assert issue.translation_key == f"{name}_unreadable"


def _state(hass: HomeAssistant, entry: MockConfigEntry, store: str) -> Any:
    """Return the line's state kept in ``store``, not loaded yet."""
    records = InfocallerRecords(hass, entry.entry_id, entry.title)
    if store == "records":
        return records
    if store == "guard":
        return CallGuard(hass, entry.entry_id, entry.title)
    return InfocallerProgress(hass, entry, records)


@pytest.mark.parametrize("error", [AttributeError, NotImplementedError])
@pytest.mark.parametrize(
    ("store", "state_class"),
    [
        ("records", InfocallerRecords),
        ("guard", CallGuard),
        ("progress", InfocallerProgress),
    ],
)
async def test_a_bug_in_a_restore_is_no_unusable_file(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    real_storage: Path,
    store: str,
    state_class: type,
    error: type[Exception],
) -> None:
    """A restore failing with what no wrong shape raises is a bug: it propagates.

    The file stays where it is (the user's guard and records are not lost
    to a bug of ours), and no repair issue blames the file.
    """
    mock_config_entry.add_to_hass(hass)
    entry_id = mock_config_entry.entry_id
    key = f"{DOMAIN}.{entry_id}" + ("" if store == "records" else f".{store}")
    minor = 2 if store == "guard" else 1  # the current version: read as is
    content = json.dumps(
        {"version": 1, "minor_version": minor, "key": key, "data": {"seq": 0}}
    )
    (real_storage / key).write_text(content)
    state = _state(hass, mock_config_entry, store)
    with (
        patch.object(state_class, "_restore", side_effect=error("a bug")),
        pytest.raises(error, match="a bug"),
    ):
        await state.async_load()
    assert (real_storage / key).read_text() == content
    assert not [path for path in real_storage.glob(f"{key}.*") if path.name != key]
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"unreadable_{key}") is None


async def test_a_newer_minor_version_and_nulls_are_read(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Extra fields are ignored and nulls taken as empty: nothing is lost."""
    freezer.move_to(NOW)
    now = time.time()
    entry_id = mock_config_entry.entry_id
    records, guard = f"{DOMAIN}.{entry_id}", f"{DOMAIN}.{entry_id}.guard"
    (real_storage / records).write_text(
        json.dumps(
            {
                "version": 1,
                "minor_version": 7,
                "key": records,
                "data": {
                    "accepted_calls": 3,
                    "refused_calls": None,
                    "last_answer": {**RECORD, "from_the_future": True},
                    "recent": [
                        {**RECORD, "result_text": None, "from_the_future": 1},
                        {**RECORD, "time": None},
                    ],
                    "by_saved_call": None,
                    "tracked": None,
                    "last_progress": None,
                    "from_the_future": {"a": 1},
                },
            }
        )
    )
    (real_storage / guard).write_text(
        json.dumps(
            {
                "version": 1,
                "minor_version": 9,
                "key": guard,
                "data": {
                    "secret": None,
                    "sent": None,
                    "in_flight": None,
                    "numbers": None,
                    "line": [None, now - 60],
                    "from_the_future": [1],
                },
            }
        )
    )
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={"max_calls_per_day": 2}
    )
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert not [
        issue
        for issue in ir.async_get(hass).issues.values()
        if issue.domain in (DOMAIN, "homeassistant") and entry_id in issue.issue_id
    ]
    line = f"sensor.infocaller_{LINE}"
    assert hass.states.get(f"{line}_accepted_calls").state == "3"
    assert hass.states.get(f"{line}_refused_calls").state == "0"
    # The guard's call of a minute ago counts: one more today, then refused.
    await issue_call(hass, PHONE)
    with pytest.raises(HomeAssistantError) as err:
        await issue_call(hass, "+34622333444")
    assert err.value.translation_key == "rate_limited_line"
    assert mock_infocaller.issue_call.await_count == 1
    await hass.config_entries.async_unload(entry_id)
    assert not [
        path for path in real_storage.glob(f"{records}*") if ".unreadable." in path.name
    ]


async def test_a_torn_journal_line_is_skipped(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
) -> None:
    """A crash in the middle of an append loses that line only."""
    await issue_call(hass, PHONE)
    key = f"{DOMAIN}.{setup_integration.entry_id}"
    journal = Path(hass.config.path(".storage", f"{key}.journal"))
    # The record's line follows the action, in the background.
    await hass.async_block_till_done(wait_background_tasks=True)
    content = await hass.async_add_executor_job(journal.read_bytes)
    # A second accepted call whose line was cut short by the crash.
    await hass.async_add_executor_job(
        journal.write_bytes, content + content[: len(content) // 2]
    )
    hass_storage.pop(key, None)
    records = InfocallerRecords(hass, setup_integration.entry_id)
    await records.async_load()
    assert records.accepted_calls == 1
    assert [record.phone for record in records.recent] == [PHONE]


async def test_no_request_leaves_without_its_entry(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """A disk that refuses the guard's entry: nothing sent, a translated error."""
    with (
        patch.object(Journal, "append", side_effect=OSError(28, "No space left")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await issue_call(hass, PHONE)
    assert err.value.translation_key == "guard_not_written"
    mock_infocaller.issue_call.assert_not_awaited()
    # Not placed: the same call goes through once the disk takes it.
    await issue_call(hass, PHONE)
    assert mock_infocaller.issue_call.await_count == 1


async def test_an_unwritten_record_does_not_fail_a_placed_call(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The call was placed: the action says so; the record follows in the file."""
    real_append = Journal.append

    def append(journal: Journal, lines: bytes, seq: int) -> None:
        if journal.path.name.endswith(".guard.journal"):
            real_append(journal, lines, seq)
            return
        raise OSError(28, "No space left")

    with patch.object(Journal, "append", autospec=True, side_effect=append):
        response = await issue_call(hass, PHONE)
    assert response["result_key"] == "accepted"
    freezer.tick(timedelta(seconds=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    key = f"{DOMAIN}.{setup_integration.entry_id}"
    assert hass_storage[key]["data"]["accepted_calls"] == 1


@pytest.mark.parametrize("torn", [b'{"s":7,"k":"0123', b"\x00" * 40])
async def test_a_journal_holding_only_a_torn_line_is_emptied(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    torn: bytes,
) -> None:
    """A crash tore the journal's only line; a call, a second crash: still refused.

    The next entry used to be appended to the torn line and lost with it.
    """
    entry_id = setup_integration.entry_id
    journal = Path(
        hass.config.path(".storage", f"{_guard_key(setup_integration)}.journal")
    )
    await hass.async_add_executor_job(journal.write_bytes, torn)
    on_disk = copy.deepcopy(hass_storage)
    first = CallGuard(hass, entry_id)
    await first.async_load()
    request = CallRequest(phone=PHONE, rule_group="Aviso")
    ticket = first.async_check(request)
    await first.async_write_ahead(ticket)
    first.async_sent(ticket)
    # The second crash, within the delayed save: the files as they were.
    hass_storage.clear()
    hass_storage.update(on_disk)
    second = CallGuard(hass, entry_id)
    await second.async_load()
    with pytest.raises(ServiceValidationError):
        second.async_check(request)


async def test_a_longer_repeat_window_survives_a_reload(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """With a 600 s window, an identical call 120 s later is refused after a reload.

    The guard forgot at load with the default 60 s window, before the line's
    options were applied.
    """
    freezer.move_to(NOW)
    hass.config_entries.async_update_entry(
        setup_integration, options={**setup_integration.options, "repeat_window": 600}
    )
    await hass.async_block_till_done()
    await issue_call(hass, PHONE)
    freezer.tick(120)
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await issue_call(hass, PHONE)
    assert err.value.translation_key == "duplicate_call"
    assert mock_infocaller.issue_call.await_count == 1


async def test_the_action_does_not_wait_for_the_records_journal(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """The record's line is written after the action returns; an unload waits for it.

    Only the guard's entry is waited for (before the request leaves): the
    record's append used to be awaited too, a second executor round trip
    in every action. A reload right after still finds the call.
    """
    real_append = Journal.append
    disk = threading.Event()

    def append(journal: Journal, lines: bytes, seq: int) -> None:
        if not journal.path.name.endswith(".guard.journal"):
            assert disk.wait(10)
        real_append(journal, lines, seq)

    try:
        with patch.object(Journal, "append", autospec=True, side_effect=append):
            async with asyncio.timeout(5):
                response = await issue_call(hass, PHONE)
            assert response["result_key"] == "accepted"
            reload = asyncio.create_task(
                hass.config_entries.async_reload(setup_integration.entry_id)
            )
            await asyncio.sleep(0.1)
            assert not reload.done()  # the unload waits for the append
    finally:
        disk.set()
    assert await reload
    records = setup_integration.runtime_data.records
    assert records.accepted_calls == 1
    assert records.last is not None
    assert records.last.call_id == "4711"


async def test_the_journals_stay_in_the_tests_own_folder(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A test's journals are not left in the harness's shared config folder."""
    await issue_call(hass, PHONE)
    name = f"{_guard_key(setup_integration)}.journal"
    own = Path(hass.config.path(".storage"))
    assert await hass.async_add_executor_job((own / name).exists)
    assert own.is_relative_to(tmp_path_factory.getbasetemp())
    shared = Path(get_test_config_dir(".storage"))
    assert not await hass.async_add_executor_job((shared / name).exists)


async def test_a_record_taken_as_the_line_unloads_is_in_its_file(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """An accepted call recorded just before the unload: the file holds it.

    The record's journal line starts on the loop's next turn; by then the
    line is unloading and its file takes the record, so no line is appended
    to a journal that a reloaded line may already use.
    """
    records = InfocallerRecords(hass, "unloading")
    await records.async_load()
    record = CallRecord(
        time=dt_util.utcnow(),
        source="action",
        phone=PHONE,
        rule_group="Aviso",
        scheduled_for=None,
        result=0,
        result_key="accepted",
        result_text="Aceptada",
        call_id="C1",
    )
    with patch.object(Journal, "append", autospec=True) as append:
        records.async_add(record)
        await records.async_unload()
        await hass.async_block_till_done(wait_background_tasks=True)
    append.assert_not_called()
    assert hass_storage[f"{DOMAIN}.unloading"]["data"]["accepted_calls"] == 1
    reloaded = InfocallerRecords(hass, "unloading")
    await reloaded.async_load()
    assert [kept.call_id for kept in reloaded.recent] == ["C1"]
