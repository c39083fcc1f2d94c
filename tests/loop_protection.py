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


@contextmanager
def loop_protection() -> Iterator[list[str]]:
    """Turn all of the detection on; yield the reports logged meanwhile."""
    reports: list[str] = []

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
        for call in calls:
            setattr(call.object, call.function, call.original_func)
        calls.clear()
