"""Daylight-saving edges of a schedule (issue 19, item 10).

Infocaller reads ``fechahora`` as a wall time without an offset, in the
account's time zone. A naive schedule is Home Assistant's local time: one
that the clocks skip names no instant, one they repeat names two. An aware
schedule names one instant, but when that instant reads, in the account's
zone, as a wall time that happens twice, Infocaller cannot tell which one is
meant. All three are refused, translated, before anything is sent.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from unittest.mock import AsyncMock, MagicMock, patch
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.template import Template
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.infocaller.api import CallResult
from custom_components.infocaller.api.protocol import format_datetime
from custom_components.infocaller.const import DOMAIN, EVENT_CALL_RESULT
from custom_components.infocaller.validation import (
    CallValidationError,
    async_validate_call,
    normalize_phone,
    wall_time_problem,
)

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
LINE = "34910000000"


async def _call(hass: HomeAssistant, schedule: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "611 22 23 33", "rule_group": "Aviso", "schedule": schedule},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


@pytest.fixture
async def madrid(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Home Assistant in Madrid, early in 2027 (both changes ahead)."""
    freezer.move_to("2027-01-10 12:00:00+00:00")
    await hass.config.async_set_time_zone("Europe/Madrid")


@pytest.mark.parametrize(
    ("wall", "zone", "problem"),
    [
        # Madrid: 02:00-02:59:59 skipped on 2027-03-28, repeated on 2027-10-31.
        ("2027-03-28 01:59:59", MADRID, None),
        ("2027-03-28 02:00:00", MADRID, "nonexistent"),
        ("2027-03-28 02:30:00", MADRID, "nonexistent"),
        ("2027-03-28 02:59:59", MADRID, "nonexistent"),
        ("2027-03-28 03:00:00", MADRID, None),
        ("2027-10-31 01:59:59", MADRID, None),
        ("2027-10-31 02:00:00", MADRID, "ambiguous"),
        ("2027-10-31 02:30:00", MADRID, "ambiguous"),
        (("2027-10-31 02:30:00", 1), MADRID, "ambiguous"),
        ("2027-10-31 02:59:59", MADRID, "ambiguous"),
        ("2027-10-31 03:00:00", MADRID, None),
        # New York changes at 02:00 local, on other dates.
        ("2027-03-28 02:30:00", NEW_YORK, None),
        ("2027-03-14 02:30:00", NEW_YORK, "nonexistent"),
        ("2027-11-07 01:30:00", NEW_YORK, "ambiguous"),
        ("2027-11-07 02:00:00", NEW_YORK, None),
        # A zone without daylight saving, and a fixed offset.
        ("2027-10-31 02:30:00", ZoneInfo("Asia/Tokyo"), None),
        ("2027-10-31 02:30:00", timezone(timedelta(hours=1)), None),
    ],
)
def test_wall_time_problem(
    wall: str | tuple[str, int], zone: tzinfo, problem: str | None
) -> None:
    """Skipped and repeated wall times, to the second, in two zones."""
    text, fold = wall if isinstance(wall, tuple) else (wall, 0)
    naive = datetime.fromisoformat(text).replace(fold=fold)
    assert naive.tzinfo is None
    assert wall_time_problem(naive, zone) == problem


@pytest.mark.usefixtures("setup_integration", "madrid")
@pytest.mark.parametrize(
    ("schedule", "key", "placeholders"),
    [
        (
            "2027-03-28 02:30:00",
            "schedule_nonexistent",
            {"value": "2027-03-28 02:30:00", "zone": "Europe/Madrid"},
        ),
        (
            "2027-03-28 02:00:00",
            "schedule_nonexistent",
            {"value": "2027-03-28 02:00:00", "date": "2027-03-28"},
        ),
        (
            "2027-10-31 02:30:00",
            "schedule_ambiguous",
            {"value": "2027-10-31 02:30:00", "zone": "Europe/Madrid"},
        ),
        (
            "2027-10-31 02:59:59.900",
            "schedule_ambiguous",
            {"value": "2027-10-31 02:59:59", "date": "2027-10-31"},
        ),
        # A skipped wall time as Home Assistant writes it, with either of
        # Madrid's offsets either side of the gap.
        (
            "2027-03-28T02:30:00+01:00",
            "schedule_nonexistent",
            {"value": "2027-03-28 02:30:00", "zone": "Europe/Madrid"},
        ),
        (
            "2027-03-28T02:00:00+02:00",
            "schedule_nonexistent",
            {"value": "2027-03-28 02:00:00", "date": "2027-03-28"},
        ),
        # Aware: the first 02:30 (CEST) and the second (CET) of the same night.
        (
            "2027-10-31T00:30:00+00:00",
            "schedule_ambiguous_for_account",
            {"local": "2027-10-31 02:30:00", "zone": "Europe/Madrid"},
        ),
        (
            "2027-10-31T02:30:00+01:00",
            "schedule_ambiguous_for_account",
            {"value": "2027-10-31T02:30:00+01:00", "local": "2027-10-31 02:30:00"},
        ),
        (
            "2027-10-31T01:59:59Z",
            "schedule_ambiguous_for_account",
            {"local": "2027-10-31 02:59:59", "date": "2027-10-31"},
        ),
        (
            "2027-10-31T00:00:00+00:00",
            "schedule_ambiguous_for_account",
            {"local": "2027-10-31 02:00:00"},
        ),
        (
            datetime(2027, 10, 30, 20, 30, tzinfo=NEW_YORK),
            "schedule_ambiguous_for_account",
            {"local": "2027-10-31 02:30:00"},
        ),
    ],
)
async def test_madrid_edges_refused(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    schedule: Any,
    key: str,
    placeholders: dict[str, str],
) -> None:
    """A skipped, repeated or repeated-for-Infocaller time: refused, nothing sent."""
    events = async_capture_events(hass, EVENT_CALL_RESULT)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, schedule)
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == key
    assert caught.value.translation_placeholders["field"] == "schedule"
    assert placeholders.items() <= caught.value.translation_placeholders.items()
    mock_infocaller.issue_call.assert_not_awaited()
    assert events == []


@pytest.mark.usefixtures("setup_integration", "madrid")
@pytest.mark.parametrize(
    ("schedule", "instant", "sent"),
    [
        # Just outside the skipped hour.
        ("2027-03-28 01:59:59", "2027-03-28T00:59:59+00:00", "2027-03-28T01:59:59"),
        ("2027-03-28 03:00:00", "2027-03-28T01:00:00+00:00", "2027-03-28T03:00:00"),
        # Just outside the repeated hour, naive and aware.
        ("2027-10-31 01:59:59", "2027-10-30T23:59:59+00:00", "2027-10-31T01:59:59"),
        ("2027-10-31 03:00:00", "2027-10-31T02:00:00+00:00", "2027-10-31T03:00:00"),
        ("2027-10-30T23:59:59Z", "2027-10-30T23:59:59+00:00", "2027-10-31T01:59:59"),
        ("2027-10-31T02:00:00Z", "2027-10-31T02:00:00+00:00", "2027-10-31T03:00:00"),
        # An instant in the skipped hour's UTC span is plain summer time.
        ("2027-03-28T01:30:00Z", "2027-03-28T01:30:00+00:00", "2027-03-28T03:30:00"),
        # A skipped wall time with an offset that is not Madrid's: an
        # instant from elsewhere; the instant today_at renders, as Madrid
        # writes it.
        (
            "2027-03-28T02:30:00+00:00",
            "2027-03-28T02:30:00+00:00",
            "2027-03-28T04:30:00",
        ),
        (
            "2027-03-28T02:30:00+03:00",
            "2027-03-27T23:30:00+00:00",
            "2027-03-28T00:30:00",
        ),
        (
            "2027-03-28T03:30:00+02:00",
            "2027-03-28T01:30:00+00:00",
            "2027-03-28T03:30:00",
        ),
    ],
)
async def test_madrid_edges_accepted(
    hass: HomeAssistant,
    mock_infocaller: MagicMock,
    schedule: str,
    instant: str,
    sent: str,
) -> None:
    """The second either side of a change is sent, as the right wall time."""
    await _call(hass, schedule)
    (request,), _ = mock_infocaller.issue_call.call_args
    assert request.scheduled_for == datetime.fromisoformat(instant)
    assert format_datetime(request.scheduled_for, MADRID) == sent


@pytest.mark.usefixtures("setup_integration", "madrid")
async def test_account_zone_other_than_madrid(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """The account's own zone decides what is repeated (here New York)."""
    mock_infocaller.time_zone = NEW_YORK
    # 01:30 happens twice in New York on 2027-11-07: 05:30 and 06:30 UTC.
    for schedule in ("2027-11-07T05:30:00+00:00", "2027-11-07 07:30:00"):
        with pytest.raises(ServiceValidationError) as caught:
            await _call(hass, schedule)
        assert caught.value.translation_key == "schedule_ambiguous_for_account"
        assert caught.value.translation_placeholders["zone"] == "America/New_York"
        assert caught.value.translation_placeholders["local"] == "2027-11-07 01:30:00"
        assert caught.value.translation_placeholders["date"] == "2027-11-07"
    # Madrid's repeated hour is an ordinary time in New York: it is sent.
    await _call(hass, "2027-10-31T00:30:00+00:00")
    (request,), _ = mock_infocaller.issue_call.call_args
    assert format_datetime(request.scheduled_for, NEW_YORK) == "2027-10-30T20:30:00"
    # Home Assistant's own skipped hour still names no instant.
    mock_infocaller.issue_call.reset_mock()
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, "2027-03-28 02:30:00")
    assert caught.value.translation_key == "schedule_nonexistent"
    assert caught.value.translation_placeholders["zone"] == "Europe/Madrid"
    # New York's skipped hour, reached from Madrid: 03:30 EDT is sent.
    await _call(hass, "2027-03-14 08:30:00")
    (request,), _ = mock_infocaller.issue_call.call_args
    assert request.scheduled_for == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    assert format_datetime(request.scheduled_for, NEW_YORK) == "2027-03-14T03:30:00"


@pytest.mark.usefixtures("madrid")
async def test_home_assistant_zone_is_the_default_account_zone(
    hass: HomeAssistant,
) -> None:
    """Without an account zone (the client's fallback), Home Assistant's is used."""
    await hass.config.async_set_time_zone("America/New_York")
    data = {"phone": "+34611222333", "rule_group": "A"}
    for schedule, key in (
        ("2027-03-14 02:30:00", "schedule_nonexistent"),
        ("2027-11-07 01:30:00", "schedule_ambiguous"),
        ("2027-11-07T05:30:00Z", "schedule_ambiguous_for_account"),
    ):
        with pytest.raises(CallValidationError) as caught:
            await async_validate_call(
                hass,
                {**data, "schedule": datetime.fromisoformat(schedule)},
                line_id=LINE,
                default_max_wait=5,
                default_retries=0,
            )
        assert caught.value.key == key
        assert caught.value.placeholders["zone"] == "America/New_York"
    request = await async_validate_call(
        hass,
        {**data, "schedule": datetime.fromisoformat("2027-10-31 02:30")},
        line_id=LINE,
        default_max_wait=5,
        default_retries=0,
        time_zone=ZoneInfo("Asia/Tokyo"),
    )
    assert request.scheduled_for == datetime(2027, 10, 31, 6, 30, tzinfo=UTC)


@pytest.mark.usefixtures("setup_integration", "madrid")
async def test_one_client_validates_and_sends(
    hass: HomeAssistant,
    mock_config_entry: Any,
    mock_infocaller: MagicMock,
    mock_infocaller_class: MagicMock,
) -> None:
    """An account zone changed while the number is normalised changes nothing.

    Validated in Madrid (05:30 UTC on 2027-11-07 is 06:30 there), the call is
    sent by the same client, in Madrid; the New York client (01:30 twice
    there) built meanwhile sends nothing.
    """
    new_client = MagicMock()
    new_client.issue_call = AsyncMock(
        return_value=CallResult(result=0, result_text="Aceptada", call_id="4712")
    )
    new_client.time_zone = NEW_YORK
    mock_infocaller_class.side_effect = lambda *args, **kwargs: new_client
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(hass_: HomeAssistant, value: str, line_id: str) -> str | None:
        entered.set()  # the executor hop of a number not seen before
        await release.wait()
        return normalize_phone(value, line_id)

    with patch("custom_components.infocaller.validation.async_normalize_phone", slow):
        task = hass.async_create_task(_call(hass, "2027-11-07T05:30:00+00:00"))
        await entered.wait()
        built = mock_infocaller_class.call_count
        hass.config_entries.async_update_entry(
            mock_config_entry,
            options={**mock_config_entry.options, "time_zone": "America/New_York"},
        )
        for _ in range(10000):  # the update listener builds the new client
            await asyncio.sleep(0)  # (the time is frozen)
            if mock_infocaller_class.call_count > built:
                break
        assert mock_infocaller_class.call_count == built + 1
        release.set()
        await task
    new_client.issue_call.assert_not_awaited()
    (request,), _ = mock_infocaller.issue_call.call_args
    assert format_datetime(request.scheduled_for, MADRID) == "2027-11-07T06:30:00"


@pytest.mark.usefixtures("setup_integration")
async def test_today_at_in_the_skipped_hour_refused(
    hass: HomeAssistant, mock_infocaller: MagicMock, freezer: FrozenDateTimeFactory
) -> None:
    """``{{ today_at('02:30') }}`` on the spring-forward day: refused, not sent at 03:30."""
    await hass.config.async_set_time_zone("Europe/Madrid")
    freezer.move_to("2027-03-28 00:10:00+00:00")  # 01:10 in Madrid
    rendered = Template("{{ today_at('02:30') }}", hass).async_render()
    assert rendered == "2027-03-28 02:30:00+01:00"
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, rendered)
    assert caught.value.translation_key == "schedule_nonexistent"
    assert caught.value.translation_placeholders["zone"] == "Europe/Madrid"
    assert caught.value.translation_placeholders["value"] == "2027-03-28 02:30:00"
    mock_infocaller.issue_call.assert_not_awaited()
    # An hour later in the template, 03:30 exists: sent.
    await _call(hass, Template("{{ today_at('03:30') }}", hass).async_render())
    (request,), _ = mock_infocaller.issue_call.call_args
    assert format_datetime(request.scheduled_for, MADRID) == "2027-03-28T03:30:00"
