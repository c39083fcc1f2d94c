"""What the demo's terminal shows of Home Assistant's log (scripts/develop).

    develop_log.py filter       stdin to stdout: this integration's lines only
    develop_log.py explain LOG  the lines that say why a process stopped

Home Assistant's log (the demo keeps all of it in a file) is mostly other
integrations: start-up lines such as "Setting up stage 2: {...}" (1,300
characters that name every integration, this one too), ffmpeg and turbojpeg
tracebacks. The terminal shows this integration's own records (its loggers,
with their tracebacks) and the warnings and errors of others that name it
("Setup failed for custom integration 'infocaller'"). When a process stops,
the last error explains it, not the last 30 lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
import re
import sys

#: A record's first line: "2026-12-07 18:00:00.123 ERROR (MainThread) [logger] ...".
HEADER = re.compile(
    r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? (?P<level>[A-Z]+) "
    r"\((?P<thread>[^)]*)\) \[(?P<logger>[^\]]+)\] (?P<message>.*)$"
)
OURS = "custom_components.infocaller"
PROBLEMS = frozenset({"WARNING", "ERROR", "CRITICAL"})
ERRORS = frozenset({"ERROR", "CRITICAL"})
#: Home Assistant says this of every custom integration at each start.
NOT_NEWS = ("has not been tested by Home Assistant",)
#: Another logger's line that names this integration is cut to this length.
FOREIGN_MAX = 300
#: An exception's last line: "OSError: [Errno 98] ... address already in use".
EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*)?(?:Error|Exception|Exit|Interrupt)\b.*:")


@dataclass
class Record:
    """One log record: its first line and the lines that follow it."""

    lines: list[str] = field(default_factory=list)
    level: str | None = None
    logger: str | None = None

    @property
    def ours(self) -> bool:
        """Whether one of this integration's loggers wrote it."""
        return self.logger is not None and (
            self.logger == OURS or self.logger.startswith(f"{OURS}.")
        )


def records(lines: Iterable[str]) -> Iterator[Record]:
    """Group lines into records (a traceback belongs to the line above it)."""
    record = Record()
    for raw in lines:
        line = raw.rstrip("\n")
        if match := HEADER.match(line):
            if record.lines:
                yield record
            record = Record([line], match["level"], match["logger"])
        else:
            record.lines.append(line)
    if record.lines:
        yield record


def _shown_header(line: str) -> tuple[bool, bool, str]:
    """Return (shown, ours, line as shown) for a record's first line."""
    match = HEADER.match(line)
    if match is None:
        return False, False, line
    logger = match["logger"]
    if logger == OURS or logger.startswith(f"{OURS}."):
        return True, True, line
    message = match["message"]
    if (
        match["level"] in PROBLEMS
        and "infocaller" in message.lower()
        and not any(text in message for text in NOT_NEWS)
    ):
        if len(line) > FOREIGN_MAX:
            line = f"{line[: FOREIGN_MAX - 1]}…"
        return True, False, line
    return False, False, line


def filter_lines(lines: Iterable[str]) -> Iterator[str]:
    """Yield the lines the terminal shows, as they come.

    This integration's records whole (with their tracebacks); another
    logger's warning or error that names it, its first line only.
    """
    shown = ours = False
    for raw in lines:
        line = raw.rstrip("\n")
        if HEADER.match(line):
            shown, ours, line = _shown_header(line)
            if shown:
                yield line
        elif shown and ours:
            yield line


def _summary(lines: list[str]) -> list[str]:
    """The first line of a record or traceback and the exception it ends with."""
    out = [lines[0]]
    exceptions = [line for line in lines[1:] if EXCEPTION.match(line.strip())]
    if exceptions:
        out.append(exceptions[-1])
    elif len(lines) > 1:
        out.append(lines[-1])
    return [line if len(line) <= 500 else f"{line[:499]}…" for line in out]


#: Lines that join a chained exception's tracebacks (one record, not a crash).
CHAINED = (
    "During handling of the above exception",
    "The above exception was the direct cause",
)


def _chained(body: list[str], index: int) -> bool:
    """Whether the traceback at ``index`` continues the one before it."""
    before = [line for line in body[:index] if line.strip()]
    return bool(before) and before[-1].startswith(CHAINED)


def _crash_after(record: Record) -> list[str] | None:
    """Return a traceback printed after the record's own lines (a crash).

    Lines without a header join the record above them: a traceback after
    one of another logger's, or after an INFO line, is not that record's.
    """
    if record.level is None:  # lines before any record
        return record.lines
    body = record.lines[1:]
    starts = [
        index
        for index, line in enumerate(body)
        if line.startswith("Traceback") and not _chained(body, index)
    ]
    if starts and starts[0] == 0 and record.level in PROBLEMS:
        starts = starts[1:]  # the record's own traceback (exc_info)
    return body[starts[-1] :] if starts else None


def explain(lines: Iterable[str]) -> list[str]:
    """Return the few lines that say why the process stopped.

    A traceback printed at the end, without a record (a crash), or else the
    last error record: a first line and the exception it ends with; else
    the last five lines.
    """
    all_records = list(records(lines))
    if not all_records:
        return []
    if crash := _crash_after(all_records[-1]):
        return _summary(crash)
    for record in reversed(all_records):
        if record.level in ERRORS:
            return _summary(record.lines)
    return [line for record in all_records for line in record.lines][-5:]


def main(argv: list[str]) -> int:
    """Run ``filter`` (stdin to stdout) or ``explain LOG``."""
    if argv[:1] == ["filter"]:
        for line in filter_lines(sys.stdin):
            print(line, flush=True)
        return 0
    if argv[:1] == ["explain"] and len(argv) == 2:
        with Path(argv[1]).open(errors="replace") as log:
            print("\n".join(explain(log)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
