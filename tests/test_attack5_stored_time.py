"""Attack 5: the F4 fix compares a stored maybe-placed call's scheduled time.

``match_report`` now asks ``may_ring`` of every maybe-placed call in
``recent_calls`` (restored from the progress file). The progress file's
finished/maybe-placed calls are read by ``_recent_from_dict``, which checks
``accepted_at`` but takes ``scheduled_for`` as it parses: a time without
its offset is accepted (the records refuse it: ``saved_time``). Since the
fix, such a file makes every report by number to that person raise
``TypeError`` (naive and aware times compared) in the webhook handler,
where before it was matched. Stored-shapes promise: a value of the wrong
kind is refused at load (the file moved aside), never a later exception.
"""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.api import CallResult, Stage
from custom_components.infocaller.api.report import ProgressReport
from custom_components.infocaller.const import Source
from custom_components.infocaller.saving import UnreadableStateError

A = "+34611000001"


async def test_attack5_stored_naive_scheduled_time_of_a_maybe_placed_call(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
) -> None:
    """Refused at load, or a report to the person is still matched."""
    progress = progress_integration.runtime_data.progress
    pipeline = progress_integration.runtime_data.pipeline
    now = dt_util.utcnow()
    saved = {
        "recent": [
            {
                "key": "maybe",
                "phone": A,
                "accepted_at": (now + timedelta(minutes=1)).isoformat(),
                # No offset: what the records refuse, progress takes.
                "scheduled_for": (now + timedelta(minutes=1))
                .replace(tzinfo=None)
                .isoformat(),
                "window_end": (now + timedelta(hours=1)).isoformat(),
                "ended_at": None,
                "answered": False,
                "maybe_placed": True,
            }
        ]
    }
    try:
        progress._restore(saved)
    except (UnreadableStateError, KeyError, TypeError, ValueError):
        # Refused, as the stored shapes promise: nothing was taken.
        assert progress.recent_calls == {}
        return
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id="C1"
    )
    await pipeline.async_call({"phone": A, "rule_group": "Aviso"}, Source.ACTION)
    await hass.async_block_till_done()
    # Raises TypeError since the F4 fix (matched to C1 before it).
    progress.async_report(ProgressReport(stage=Stage.ANSWERED, called=A))
