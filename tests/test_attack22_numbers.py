"""Attack on issue 22: how an incoming caller's number is written."""

from __future__ import annotations

import pytest

from custom_components.infocaller.matching import reported_e164

SPANISH_LINE = "34910000000"


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        # Infocaller writes the line itself as "34910000000" (country code,
        # no "+"): a foreign caller written the same way is international.
        # Longer than any Spanish national number and not beginning with 34,
        # it is written today as a Spanish number: "+34447700900123".
        ("447700900123", "+447700900123"),
        ("4915112345678", "+4915112345678"),
    ],
)
def test_a_foreign_caller_written_like_the_line_keeps_its_country(
    reported: str, expected: str
) -> None:
    """A foreign caller keeps its own country code.

    The event's ``caller`` (shown in the notification, the logbook, and
    compared by automations) must not get the line's country code in front
    of a number that already has its own.
    """
    assert reported_e164(reported, SPANISH_LINE) == expected
