"""Home Assistant's blocking-call detection, turned on as a real start does.

Home Assistant turns it on in its bootstrap; the test harness
(pytest-homeassistant-custom-component) never does, and with ``unittest``
loaded (pytest loads it) it would skip ``open``, ``listdir``, ``scandir``,
``import_module`` and certificate loading. Used by the test suite (every
test) and the benchmark (the bursts).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import logging
from unittest.mock import patch

from homeassistant import block_async_io

REPORT = "Detected blocking call"
#: Where Home Assistant logs them (``homeassistant.util.loop``).
LOOP_LOGGER = "homeassistant.util.loop"


class _OnlyAbout(logging.Filter):
    """Keep the reports about one integration; drop the rest (test noise)."""

    def __init__(self, domain: str) -> None:
        super().__init__()
        self.marker = f"custom integration '{domain}'"

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return REPORT not in message or self.marker in message


@contextmanager
def loop_protection(only_about: str | None = None) -> Iterator[list[str]]:
    """Turn all of the detection on; yield the reports logged meanwhile.

    With ``only_about``, reports about anything but that integration are
    not logged: in the test suite they are the tests' and the harness's own
    file reads (a real Home Assistant does not run them), hundreds of lines
    that would bury what matters in the log.
    """
    reports: list[str] = []
    quiet = _OnlyAbout(only_about) if only_about else None
    if quiet:
        logging.getLogger(LOOP_LOGGER).addFilter(quiet)

    class _Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if REPORT in (message := record.getMessage()):
                reports.append(message)

    handler = _Catch(logging.WARNING)
    logging.getLogger().addHandler(handler)
    calls = block_async_io._BLOCKED_CALLS.calls
    try:
        with patch.object(block_async_io, "_IN_TESTS", False):
            block_async_io.enable()
        yield reports
    finally:
        logging.getLogger().removeHandler(handler)
        if quiet:
            logging.getLogger(LOOP_LOGGER).removeFilter(quiet)
        for call in calls:
            setattr(call.object, call.function, call.original_func)
        calls.clear()
