"""Attack 3: a report held for a request whose outcome Infocaller never said.

A report (INICIO) with a call id we do not know, for a number a request is
on its way to, is held for that request. When the request is refused it
"goes by number as when it arrived" (docs/reliability.md). When the
request gets no usable answer (a timeout), it *may have been placed*,
and the report is most likely that very call's: still, it is given by
number to an older followed call to the same person, which becomes
"answered" (a chain waiting on it stops; ``wait_for`` says answered).
"""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.api import CallResult, Stage
from custom_components.infocaller.api.exceptions import InfocallerTimeoutError
from custom_components.infocaller.api.report import ProgressReport
from custom_components.infocaller.const import Source

A = "+34611000001"


async def test_attack3_report_held_for_a_maybe_placed_request_is_not_given_to_c1(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """C1 followed; a second request to A times out while its INICIO comes in."""
    progress = progress_integration.runtime_data.progress
    pipeline = progress_integration.runtime_data.pipeline
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id="C1"
    )
    await pipeline.async_call({"phone": A, "rule_group": "Aviso"}, Source.ACTION)

    async def ring_then_time_out(request: Any) -> CallResult:
        # Infocaller placed the call and it was answered; its answer to our
        # request never arrives.
        progress.async_report(
            ProgressReport(stage=Stage.ANSWERED, call_id="90002", called=A)
        )
        assert progress.pending  # held for the request on its way
        raise InfocallerTimeoutError("no answer within the timeout")

    mock_infocaller.issue_call.side_effect = ring_then_time_out
    with pytest.raises(Exception):  # noqa: B017, PT011 (outcome unknown)
        await pipeline.async_call({"phone": A, "rule_group": "Alarma"}, Source.ACTION)
    await hass.async_block_till_done()
    record = progress.call("C1")
    assert record is not None
    assert record.answered_at is None, "C1 was marked answered by another call's INICIO"


async def test_held_report_still_goes_to_the_call_with_its_id(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Two requests to A on their way: one times out, the other placed 90002.

    The report naming 90002 was held for both: the timeout marks it as
    maybe the lost call's, yet the call Infocaller says has that id takes
    it (by id, whatever came first). With no such call it is dropped.
    """
    progress = progress_integration.runtime_data.progress
    pipeline = progress_integration.runtime_data.pipeline
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id="C1"
    )
    await pipeline.async_call({"phone": A, "rule_group": "Aviso"}, Source.ACTION)
    both_on_their_way = asyncio.Event()
    timed_out = asyncio.Event()
    on_their_way = 0

    async def two_requests(request: Any) -> CallResult:
        nonlocal on_their_way
        on_their_way += 1
        if on_their_way == 2:
            both_on_their_way.set()
        async with asyncio.timeout(5):
            await both_on_their_way.wait()
        if request.rule_group == "Alarma":
            progress.async_report(
                ProgressReport(stage=Stage.ANSWERED, call_id="90002", called=A)
            )
            raise InfocallerTimeoutError("no answer within the timeout")
        async with asyncio.timeout(5):
            await timed_out.wait()
        return CallResult(result=0, result_text="Aceptada", call_id="90002")

    mock_infocaller.issue_call.side_effect = two_requests
    placed = hass.async_create_task(
        pipeline.async_call({"phone": A, "rule_group": "Cita"}, Source.ACTION)
    )
    with pytest.raises(Exception):  # noqa: B017, PT011 (outcome unknown)
        await pipeline.async_call({"phone": A, "rule_group": "Alarma"}, Source.ACTION)
    assert progress.pending  # still held: 90002's request is on its way
    timed_out.set()
    await placed
    await hass.async_block_till_done()
    assert progress.call("C1").answered_at is None  # type: ignore[union-attr]
    record = progress.latest_call(A)
    assert record is not None
    assert record.call_id == "90002"
    assert record.answered_at is not None
    assert not progress.pending
