"""A budget for the keys reported on incoming calls: PINs are not guessed.

Anyone who has a line's call-progress URLs can forge the report of an
incoming call, from any number, with any keys: at webhook speed, a 4-digit
PIN would fall in minutes. The keys of incoming calls are therefore fired at
most ``DIGITS_PER_LINE`` times per line and ``DIGITS_PER_CALLER`` times per
caller within ``DIGITS_WINDOW``; a report beyond is dropped (not fired),
counted (diagnostics), logged once at WARNING (without keys or number) and
raises a repair issue: someone may be guessing a PIN, make new URLs.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, LOGGER

#: The keys of incoming calls fired per line, and per caller, in the window.
DIGITS_PER_LINE: Final = 10
DIGITS_PER_CALLER: Final = 5
DIGITS_WINDOW: Final = timedelta(minutes=10)


def guessing_issue_id(entry_id: str) -> str:
    """Return the id of a line's "someone may be guessing a PIN" repair issue."""
    return f"pin_guessing_{entry_id}"


class DigitsBudget:
    """The keys reports of one line's incoming calls fired recently."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Nothing fired yet."""
        self.hass = hass
        self.entry = entry
        #: When keys were fired: for the line, and by caller ("" unknown).
        self._line: deque[datetime] = deque()
        self._callers: dict[str, deque[datetime]] = {}
        #: Keys reports dropped (diagnostics).
        self.dropped = 0
        self._warned = False

    def _forget_before(self, at: datetime) -> None:
        since = at - DIGITS_WINDOW
        while self._line and self._line[0] <= since:
            self._line.popleft()
        for caller, times in list(self._callers.items()):
            while times and times[0] <= since:
                times.popleft()
            if not times:
                del self._callers[caller]

    def allow(self, caller: str, at: datetime) -> bool:
        """Whether a keys report from ``caller`` may fire now (and count it).

        The callers remembered are at most ``DIGITS_PER_LINE``: a caller is
        only counted when the line's budget lets the report through.
        """
        self._forget_before(at)
        times = self._callers.get(caller, ())
        if len(self._line) >= DIGITS_PER_LINE or len(times) >= DIGITS_PER_CALLER:
            self._drop()
            return False
        self._line.append(at)
        self._callers.setdefault(caller, deque()).append(at)
        return True

    def _drop(self) -> None:
        """Count a dropped report; warn once and raise the repair issue."""
        self.dropped += 1
        if self._warned:
            return
        self._warned = True
        LOGGER.warning(
            "%s: too many incoming calls with keys pressed (more than %s in %s "
            "minutes, or %s from one caller); the keys of the others are ignored. "
            "Someone may be guessing a PIN through the call progress URLs: if "
            "you did not expect these calls, make new URLs",
            self.entry.title,
            DIGITS_PER_LINE,
            int(DIGITS_WINDOW.total_seconds() // 60),
            DIGITS_PER_CALLER,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            guessing_issue_id(self.entry.entry_id),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="pin_guessing",
            translation_placeholders={
                "title": self.entry.title,
                "line": str(DIGITS_PER_LINE),
                "caller": str(DIGITS_PER_CALLER),
                "minutes": str(int(DIGITS_WINDOW.total_seconds() // 60)),
            },
        )
