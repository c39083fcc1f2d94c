"""Call progress: reading the requests Infocaller sends to a URL of ours.

Infocaller's informative API calls one URL per event (answered, forward
answered, forward failed, ended) and a script's "API QUERY" action calls a
URL during the call; each URL may carry the vendor's bracket variables,
which Infocaller replaces. The vendor documents no field names for the
body, so everything we need travels in the query string under our own
names (``protocol.progress_urls``); a body (form, JSON or XML) is optional extra
data read only for the same names. Everything here is untrusted input:
``parse_report`` keeps only known fields whose values look right, caps
sizes, refuses XML with a DTD, and raises ``InvalidReportError`` for
anything else.

The package does not import this module: only a program that receives call
progress needs it (``from .api.report import parse_report``), so one that
only places calls never loads it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
import json
import re
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

from .models import Stage

#: The largest body read from a progress request; a longer one is refused.
MAX_REPORT_BYTES = 16 * 1024
#: At most this many fields of a body are looked at (the rest is ignored).
MAX_BODY_FIELDS = 200
_MAX_DEPTH = 4


#: The ``event`` values our URLs carry, plus the vendor's own event names
#: (a user may keep them), and the stage each means. ``query`` is the "API
#: QUERY" script action: digits when it passes some, else acknowledged.
EVENT_NAMES: dict[str, Stage | None] = {
    "answered": Stage.ANSWERED,
    "inicio": Stage.ANSWERED,
    "forward_answered": Stage.FORWARD_ANSWERED,
    "desvio_correcto": Stage.FORWARD_ANSWERED,
    "forward_failed": Stage.FORWARD_FAILED,
    "desvio_fallido": Stage.FORWARD_FAILED,
    "ended": Stage.ENDED,
    "fin": Stage.ENDED,
    "acknowledged": Stage.ACKNOWLEDGED,
    "digits": Stage.DIGITS,
    "query": None,
}

#: Our parameter names, and the other names (the vendor's variables, without
#: case or leading underscore) a body may use for the same thing.
FIELD_ALIASES: dict[str, str] = {
    "event": "event",
    "eve": "event",
    "evento": "event",
    "call_id": "call_id",
    "callid": "call_id",
    "idcall": "call_id",
    "idllamada": "call_id",
    "uuid": "uuid",
    "caller": "caller",
    "numllamante": "caller",
    "called": "called",
    "numllamado": "called",
    "line": "line",
    "numinfocaller": "line",
    "forward": "forward",
    "numdesvio": "forward",
    "digits": "digits",
    "digitos": "digits",
    "teclas": "digits",
}

_CALL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_NUMBER = re.compile(r"\+?[0-9]{3,20}")
_DIGITS = re.compile(r"[0-9*#]{1,32}")
#: What may follow a value when a URL is copied out of a sentence or a
#: code span (``digits=1.``): stripped when the value fails without it.
TRAILING_PUNCTUATION = ".,;:!?)}>'\"`"
_PATTERNS = {
    "call_id": _CALL_ID,
    "uuid": _UUID,
    "caller": _NUMBER,
    "called": _NUMBER,
    "line": _NUMBER,
    "forward": _NUMBER,
    "digits": _DIGITS,
}


class InvalidReportError(ValueError):
    """A progress request that is not one (``reason`` says why, for logs)."""

    def __init__(self, reason: str) -> None:
        """Keep the reason: a short fixed text, never the input itself."""
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressReport:
    """One progress request, reduced to fields that passed their checks."""

    stage: Stage
    call_id: str | None = None
    uuid: str | None = None
    caller: str | None = None
    called: str | None = None
    line: str | None = None
    forward: str | None = None
    digits: str | None = None
    #: How many values of known fields failed their check and were dropped
    #: (a count only: the values themselves are never kept).
    dropped: int = 0

    @property
    def numbers(self) -> tuple[str, ...]:
        """The numbers that may be the called person's (either is accepted)."""
        return tuple(number for number in (self.called, self.caller) if number)


def field_name(name: str) -> str | None:
    """Return our name for a parameter name, or None if we do not know it."""
    return FIELD_ALIASES.get(name.strip().lstrip("_").lower())


def _substituted(value: str) -> str | None:
    """Return a bracket variable's value; None if Infocaller left it as is."""
    value = value.strip()
    if value.endswith(tuple(TRAILING_PUNCTUATION)):
        # "[PULSACION]." as copied out of a sentence is still unsubstituted.
        bare = value.rstrip(TRAILING_PUNCTUATION)
        if bare.startswith("[") and bare.endswith("]"):
            return None
    if not value or (value.startswith("[") and value.endswith("]")):
        return None
    return value


def _leaves(value: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Yield (name, value) for the scalar fields of a parsed JSON body."""
    if depth > _MAX_DEPTH or not isinstance(value, dict):
        return
    for name, item in value.items():
        if isinstance(item, dict):
            yield from _leaves(item, depth + 1)
        elif isinstance(item, (str, int)) and not isinstance(item, bool):
            yield str(name), str(item)


def _xml_leaves(text: str) -> Iterator[tuple[str, str]]:
    """Yield (tag or attribute, text) of an XML body, refusing any DTD."""
    if "<!" in text.replace("<![CDATA[", ""):
        raise InvalidReportError("XML with a DTD, entity or comment")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD: checked above
    except ET.ParseError as err:
        raise InvalidReportError("unreadable XML") from err
    for element in root.iter():
        tag = str(element.tag).rsplit("}", 1)[-1]
        if element.text and element.text.strip():
            yield tag, element.text
        yield from element.attrib.items()


def _body_fields(body: bytes, content_type: str) -> Iterator[tuple[str, str]]:
    """Yield the fields of an optional body in any of the accepted formats."""
    if len(body) > MAX_REPORT_BYTES:
        raise InvalidReportError("body too large")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidReportError("body is not UTF-8") from err
    stripped = text.strip()
    if not stripped:
        return
    kind = content_type.split(";", 1)[0].strip().lower()
    if "json" in kind or (not kind.endswith("xml") and stripped[0] in "{["):
        try:
            data = json.loads(stripped)
        except ValueError as err:
            raise InvalidReportError("unreadable JSON") from err
        yield from _leaves(data)
    elif "xml" in kind or stripped[0] == "<":
        yield from _xml_leaves(stripped)
    else:
        yield from parse_qsl(stripped, keep_blank_values=False)


def parse_report(
    query: Mapping[str, str], body: bytes = b"", content_type: str = ""
) -> ProgressReport:
    """Read a progress request: the query string first, then the body.

    Names are matched without case or leading underscore; a value that
    fails its field's pattern (or is an unsubstituted ``[variable]``) is
    dropped and counted in ``ProgressReport.dropped``; punctuation that
    cannot end a value (``digits=1.``, left by a URL copied out of a
    sentence) is stripped first. Raises ``InvalidReportError`` when there is no known event,
    or the body is too large or unreadable.
    """
    values: dict[str, str] = {}
    dropped = 0
    sources: list[Iterator[tuple[str, str]]] = [iter(query.items())]
    if body:
        sources.append(_body_fields(body, content_type))
    for source in sources:
        for count, (name, raw) in enumerate(source):
            if count >= MAX_BODY_FIELDS:
                break
            key = field_name(name)
            if key is None or key in values:
                continue
            value = _substituted(str(raw))
            if value is None:
                continue
            if (accepted := _checked(key, value)) is not None:
                values[key] = accepted
            else:  # malformed: dropped as if absent, and counted
                dropped += 1
    event = values.pop("event", None)
    if event is None or event not in EVENT_NAMES:
        raise InvalidReportError("no known event")
    stage = EVENT_NAMES[event]
    if stage is None:
        stage = Stage.DIGITS if "digits" in values else Stage.ACKNOWLEDGED
    if stage is not Stage.DIGITS:
        values.pop("digits", None)
    elif "digits" not in values:
        raise InvalidReportError("digits event without digits")
    return ProgressReport(stage=stage, dropped=dropped, **values)


def _checked(key: str, value: str) -> str | None:
    """Return a field's value if it passes its check, else None.

    A value that fails only because of trailing punctuation (which no
    field's values end with) passes without it. An event is always kept
    (lowercase): an unknown one refuses the whole request.
    """
    for candidate in (value, value.rstrip(TRAILING_PUNCTUATION)):
        if key == "event":
            if candidate.lower() in EVENT_NAMES:
                return candidate.lower()
        elif _PATTERNS[key].fullmatch(candidate):
            return candidate
    return value.lower() if key == "event" else None
