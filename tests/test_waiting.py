"""Waits on followed calls (waiting.py) and their timers (timers.py), alone."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.infocaller.api import Stage
from custom_components.infocaller.const import MAX_TALK_SECONDS
from custom_components.infocaller.records import CallRecord
from custom_components.infocaller.timers import CallTimers, following_ends
from custom_components.infocaller.waiting import (
    CallWaiters,
    LineUnloadedError,
    is_over,
    reached,
)

NOW = "2030-03-01 12:00:00+00:00"


def _record(**changes: object) -> CallRecord:
    record = CallRecord(
        time=dt_util.parse_datetime(NOW) or dt_util.utcnow(),
        source="action",
        phone="+34611222333",
        rule_group="Aviso",
        scheduled_for=None,
        result=0,
        result_key="accepted",
        result_text="Aceptada",
        call_id="C1",
        status="queued",
    )
    return dataclasses.replace(record, **changes)


def test_what_a_wait_asks_for() -> None:
    """Answered: any sign of a pick-up; acknowledged: digits or an ack."""
    answered = _record(status="answered", answered_at=NOW)
    digits = _record(status="digits", answered_at=NOW, digits="1")
    assert reached(answered, Stage.ANSWERED)
    assert not reached(answered, Stage.ACKNOWLEDGED)
    assert reached(digits, Stage.ACKNOWLEDGED)
    assert not reached(_record(), Stage.ANSWERED)
    assert is_over(_record(status="not_answered"))
    assert is_over(dataclasses.replace(answered, ended_at=NOW))
    assert not is_over(answered)


async def test_a_pause_lasts_its_seconds() -> None:
    """A pause returns after its seconds, and leaves nothing behind."""
    waiters = CallWaiters(lambda _key: None)
    await waiters.async_pause(0.01)
    assert waiters.pausing == 0


async def test_unloading_ends_a_pause_and_refuses_new_ones() -> None:
    """The line unloads during a pause: it ends with an error, as do later ones."""
    waiters = CallWaiters(lambda _key: None)
    pause = asyncio.create_task(waiters.async_pause(60))
    await asyncio.sleep(0)
    assert waiters.pausing == 1
    waiters.async_stop()
    with pytest.raises(LineUnloadedError):
        await pause
    assert waiters.pausing == 0
    with pytest.raises(LineUnloadedError):
        await waiters.async_pause(60)


async def test_a_wait_reads_the_newest_version_of_the_call() -> None:
    """Woken by a change, a wait returns the call's newest record."""
    newest: dict[str, CallRecord] = {}
    waiters = CallWaiters(newest.get)
    record = _record()
    wait = asyncio.create_task(waiters.async_wait(record, Stage.ANSWERED, 60))
    await asyncio.sleep(0)
    assert waiters.waiting == {"C1": 1}
    waiters.async_changed("C1")  # a change that is not an answer
    await asyncio.sleep(0)
    assert not wait.done()
    newest["C1"] = _record(status="answered", answered_at=NOW)
    waiters.async_changed("C1")
    assert await wait == newest["C1"]
    assert waiters.waiting == {}


def test_following_ends() -> None:
    """Unanswered: the window's end (or acceptance); answered: the talk limit."""
    accepted = dt_util.parse_datetime(NOW)
    assert accepted is not None
    window_end = accepted + timedelta(minutes=5)
    assert following_ends(_record()) == accepted
    assert following_ends(_record(window_end=window_end.isoformat())) == window_end
    assert following_ends(_record(answered_at=NOW)) == accepted + timedelta(
        seconds=MAX_TALK_SECONDS
    )


async def test_timers_fire_once_and_none_is_set_after_stop(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A call's timer fires once, a new one replaces it; none after the stop."""
    freezer.move_to(NOW)
    expired: list[str] = []
    timers = CallTimers(hass, expired.append)
    end = dt_util.utcnow() + timedelta(minutes=5)
    timers.async_follow(_record(window_end=end.isoformat()))
    timers.async_grace("C1")  # replaces the window's timer
    freezer.tick(timedelta(seconds=10))
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()
    assert expired == ["C1"]
    freezer.tick(timedelta(minutes=10))
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()
    assert expired == ["C1"]
    timers.async_stop()
    timers.async_grace("C2")
    timers.async_follow(_record(call_id="C3"))
    freezer.tick(timedelta(minutes=10))
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()
    assert expired == ["C1"]
