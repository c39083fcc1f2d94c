"""Attack 5: the F3/F4 fix (reports of a maybe-placed request) has a gap.

The fix marks as "maybe placed" only the reports that were *held*; a
report is held only when a followed call to its number exists (id-less
report) or when it carries a call id. With no older followed call to the
person, an id-less report that came while the request was on its way (or
just after its timeout) matches nothing and is kept unmarked: when
another request to the same person is then accepted and followed,
``_apply_pending`` gives it to that call by number. The new call shows
"answered" though nobody reported it answered (a chain waiting on it
stops; ``wait_for`` says answered).
"""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.api import CallResult, Stage
from custom_components.infocaller.api.exceptions import InfocallerTimeoutError
from custom_components.infocaller.api.report import ProgressReport
from custom_components.infocaller.const import Source

from .conftest import two_requests_one_timing_out

A = "+34611000001"


async def test_attack5_report_during_a_maybe_placed_request_goes_to_no_later_call(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Attack 4's F3 scenario without an older followed call to A.

    Two requests to A on their way; an id-less ANSWERED comes; "Alarma"
    times out (maybe placed: the report is most likely its call's);
    "Cita" is accepted afterwards as 90003. The report must not go to it.
    """
    progress = progress_integration.runtime_data.progress
    await two_requests_one_timing_out(hass, progress_integration, mock_infocaller, A)
    record = progress.call("90003")
    assert record is not None
    assert record.answered_at is None, (
        "90003 was marked answered by the maybe-placed request's report"
    )


async def test_attack5_report_after_a_maybe_placed_request_goes_to_no_later_call(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Attack 4's F4 scenario, the other way round: a newer call gets it.

    A request to A gets no usable answer (it may have been placed); the
    ANSWERED of that call comes just after our timeout. No call to A is
    followed: the report is kept. The user then calls A again ("Cita",
    accepted as 90003, seconds later): the kept report goes to 90003 by
    number (within EARLY_SLACK of its acceptance).
    """
    progress = progress_integration.runtime_data.progress
    pipeline = progress_integration.runtime_data.pipeline
    mock_infocaller.issue_call.side_effect = InfocallerTimeoutError("no answer")
    with pytest.raises(Exception):  # noqa: B017, PT011 (outcome unknown)
        await pipeline.async_call({"phone": A, "rule_group": "Alarma"}, Source.ACTION)
    await hass.async_block_till_done()
    progress.async_report(ProgressReport(stage=Stage.ANSWERED, called=A))
    await hass.async_block_till_done()
    mock_infocaller.issue_call.side_effect = None
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id="90003"
    )
    await pipeline.async_call({"phone": A, "rule_group": "Cita"}, Source.ACTION)
    await hass.async_block_till_done()
    record = progress.call("90003")
    assert record is not None
    assert record.answered_at is None, (
        "90003 was marked answered by the maybe-placed request's report"
    )


async def test_an_early_report_of_a_new_call_after_a_maybe_placed_one_is_its(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Not over-fixed: a later call's own early report still reaches it.

    A request to A got no usable answer (maybe placed, its window open for
    hours). Later the user calls A again; Infocaller reports the new call
    answered (no call id) before the action has read its answer: the
    report is held for that request, and the call it places takes it.
    """
    progress = progress_integration.runtime_data.progress
    pipeline = progress_integration.runtime_data.pipeline
    mock_infocaller.issue_call.side_effect = InfocallerTimeoutError("no answer")
    with pytest.raises(Exception):  # noqa: B017, PT011 (outcome unknown)
        await pipeline.async_call({"phone": A, "rule_group": "Alarma"}, Source.ACTION)
    await hass.async_block_till_done()

    async def answered_early(request: Any) -> CallResult:
        progress.async_report(ProgressReport(stage=Stage.ANSWERED, called=A))
        return CallResult(result=0, result_text="Aceptada", call_id="90003")

    mock_infocaller.issue_call.side_effect = answered_early
    await pipeline.async_call({"phone": A, "rule_group": "Cita"}, Source.ACTION)
    await hass.async_block_till_done()
    record = progress.call("90003")
    assert record is not None
    assert record.answered_at is not None, "the new call's own report was lost"
