"""Pure functions for the Infocaller wire format: no I/O, no state.

Canonical shape: ``PROTOCOL.md`` (the vendor's "structure" sections, not its
examples). Requests are built with ``json`` and ``xml.etree.ElementTree``,
never by string concatenation; answers are parsed leniently (a number or a
string for ``Resultado``, an optional XML declaration or namespace).
Also the call-progress URLs to paste into Infocaller (``progress_urls``);
the requests that come back to them are read by ``report.parse_report``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from enum import StrEnum
import hashlib
import json
import re
from typing import Any
from urllib.parse import quote_plus
from xml.etree import ElementTree as ET

from .exceptions import InfocallerRequestError, InfocallerResponseError
from .models import CallRequest, CallResult, RequestFormat

XML_NAMESPACE = "http://tempuri.org/"
FORM_FIELDS: dict[RequestFormat, str] = {
    RequestFormat.JSON: "apiCALLjson",
    RequestFormat.XML: "apiCALLxml",
}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

#: Control characters XML 1.0 cannot carry at all (not even escaped); line
#: feed, carriage return and tab are allowed.
XML_CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f"
#: Lone surrogates (no UTF-8 text can carry them) and U+FFFE/U+FFFF (no XML
#: text can).
UNSENDABLE_NON_ASCII = "\ud800-\udfff\ufffe\uffff"
#: ``Resultado``: an optional sign and ASCII digits, nothing else.
_CODE = re.compile(r"[+-]?[0-9]+")
_UTF8_BOM = b"\xef\xbb\xbf"
#: One encoder for every request (``json.dumps`` with options builds one each time).
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class CharacterSet:
    """Find the characters of a set in text (a regular-expression class).

    A class with the surrogate range is slow to compile, so ASCII text (most
    of it) is searched with the ASCII part alone, and the whole class is
    compiled the first time text that is not ASCII comes by.
    """

    __slots__ = ("_ascii", "_class", "_whole")

    def __init__(self, ascii_ranges: str, other_ranges: str) -> None:
        """Take the class's ranges: those inside ASCII, and the others."""
        self._ascii = re.compile(f"[{ascii_ranges}]")
        self._class = f"[{ascii_ranges}{other_ranges}]"
        self._whole: re.Pattern[str] | None = None

    def _pattern(self, text: str) -> re.Pattern[str]:
        if text.isascii():
            return self._ascii
        if self._whole is None:
            self._whole = re.compile(self._class)
        return self._whole

    def search(self, text: str) -> bool:
        """Whether ``text`` holds a character of the set."""
        return self._pattern(text).search(text) is not None

    def replace(self, text: str, replacement: str) -> str:
        """Return ``text`` with each character of the set replaced."""
        return self._pattern(text).sub(replacement, text)


_XML_ILLEGAL = CharacterSet(XML_CONTROL_CHARACTERS, UNSENDABLE_NON_ASCII)
#: What no value of a request may hold: control characters (line feed,
#: carriage return and tab are allowed; DEL is not), lone surrogates (no
#: UTF-8 text can carry them) and U+FFFE/U+FFFF (no XML text can).
_UNSENDABLE = CharacterSet(XML_CONTROL_CHARACTERS + "\x7f", UNSENDABLE_NON_ASCII)


def has_unsendable(text: str) -> bool:
    """Whether ``text`` holds a character no request value may hold."""
    return _UNSENDABLE.search(text)


def mark_unsendable(text: str) -> str:
    """Return ``text`` fit to quote, each unsendable character replaced by U+FFFD."""
    return _UNSENDABLE.replace(text, "\ufffd")


def signature(idinfocaller: str, password: str) -> str:
    """Return ``firma``: the lowercase hex MD5 of id + password."""
    return hashlib.md5(
        f"{idinfocaller}{password}".encode(), usedforsecurity=False
    ).hexdigest()


def format_datetime(value: datetime, time_zone: tzinfo | None = None) -> str:
    """Format a datetime as ``YYYY-MM-DDTHH:MM:SS`` in the account's time.

    An aware datetime is converted to ``time_zone`` first; a naive one is
    taken as the account's local wall time already.
    """
    if value.tzinfo is not None:
        if time_zone is None:
            msg = "An aware schedule needs the account's time zone"
            raise InfocallerRequestError(msg)
        value = value.astimezone(time_zone)
    return value.strftime(DATETIME_FORMAT)


def call_data(request: CallRequest, time_zone: tzinfo | None = None) -> dict[str, Any]:
    """Return the ``callData`` section, optional fields omitted when unset."""
    data: dict[str, Any] = {
        "numtelefono": request.phone,
        "gruporeglas": request.rule_group,
    }
    if request.scheduled_for is not None:
        data["fechahora"] = format_datetime(request.scheduled_for, time_zone)
    if request.max_wait is not None:
        data["EsperaMax"] = str(request.max_wait)
    if request.retries is not None:
        data["Reintentos"] = str(request.retries)
    if request.variables:
        data["CustVars"] = {
            "CustVar": [
                {"VarName": name, "VarValue": value}
                for name, value in request.variables
            ]
        }
    return data


def request_document(
    idinfocaller: str, firma: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the whole request as a nested mapping (format independent)."""
    return {
        "callRequest": {
            "UserID": {"idinfocaller": idinfocaller, "firma": firma},
            "callData": dict(data),
        }
    }


def encode_json(document: Mapping[str, Any]) -> str:
    """Serialise a request document as JSON text."""
    text = _JSON_ENCODER.encode(document)
    try:
        text.encode()
    except UnicodeEncodeError as err:
        msg = "A value holds a character that UTF-8 cannot carry"
        raise InfocallerRequestError(msg) from err
    return text


def _xml_children(parent: ET.Element, value: Any) -> None:
    """Append ``value`` (a mapping, a list of mappings, or text) to ``parent``."""
    for name, child in value.items():
        if isinstance(child, list):
            for item in child:
                _xml_children(ET.SubElement(parent, name), item)
        elif isinstance(child, Mapping):
            _xml_children(ET.SubElement(parent, name), child)
        else:
            text = str(child)
            if _XML_ILLEGAL.search(text):
                msg = f"{name} holds a character that XML cannot carry"
                raise InfocallerRequestError(msg)
            ET.SubElement(parent, name).text = text


def encode_xml(document: Mapping[str, Any]) -> str:
    """Serialise a request document as XML text (namespace on the root).

    ElementTree leaves a carriage return in text as it is, and an XML parser
    reads it back as a line feed; it is written as ``&#13;`` so that values
    arrive exactly as given. ElementTree itself writes no carriage return.
    """
    (root_name, body), *_ = document.items()
    root = ET.Element(root_name, {"xmlns": XML_NAMESPACE})
    _xml_children(root, body)
    return ET.tostring(root, encoding="unicode").replace("\r", "&#13;")


def encode_request(
    request_format: RequestFormat, document: Mapping[str, Any]
) -> dict[str, str]:
    """Return the form body: one field, ``apiCALLjson`` or ``apiCALLxml``."""
    if request_format is RequestFormat.XML:
        text = encode_xml(document)
    else:
        text = encode_json(document)
    return {FORM_FIELDS[request_format]: text}


def encode_body(request_format: RequestFormat, document: Mapping[str, Any]) -> bytes:
    """Return the whole form body as sent (``application/x-www-form-urlencoded``).

    The same bytes as ``urlencode(encode_request(...))``, without its
    generic machinery: one field, one ``quote_plus``.
    """
    ((name, text),) = encode_request(request_format, document).items()
    return f"{name}={quote_plus(text)}".encode("ascii")


def _parse_code(value: Any) -> int:
    """Return ``Resultado`` as an int, whether it came as a number or text."""
    if isinstance(value, bool):
        raise InfocallerResponseError("Resultado is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _CODE.fullmatch(text := value.strip(" \t\r\n")):
        return int(text)
    raise InfocallerResponseError("Resultado is not a number")


def _result(fields: Mapping[str, Any]) -> CallResult:
    """Build a result from the answer's fields (keys compared case-blind)."""
    folded = {str(key).casefold(): value for key, value in fields.items()}
    if "resultado" not in folded:
        raise InfocallerResponseError("The answer has no Resultado")
    code = _parse_code(folded["resultado"])
    text = folded.get("resultadotexto")
    call_id = folded.get("idcall")
    return CallResult(
        result=code,
        result_text="" if text is None else str(text).strip(),
        call_id=(
            str(call_id).strip() or None if code == 0 and call_id is not None else None
        ),
    )


def parse_json(body: str) -> CallResult:
    """Parse a JSON answer."""
    try:
        document = json.loads(body)
    except ValueError as err:
        raise InfocallerResponseError("The answer is not valid JSON") from err
    if not isinstance(document, dict):
        raise InfocallerResponseError("The answer is not a JSON object")
    inner = next(
        (v for k, v in document.items() if str(k).casefold() == "callrequest"),
        document,
    )
    if not isinstance(inner, dict):
        raise InfocallerResponseError("callRequest is not a JSON object")
    return _result(inner)


def _local_name(tag: str) -> str:
    """Return an element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def parse_xml(body: str) -> CallResult:
    """Parse an XML answer (with or without declaration and namespace)."""
    if "<!DOCTYPE" in body.upper() or "<!ENTITY" in body.upper():
        # An answer of three fields needs no DTD; refusing one keeps entity
        # expansion tricks out of the parser.
        raise InfocallerResponseError("The answer declares a DTD")
    try:
        # Safe here: the body is size-capped and DTDs are refused above.
        root = ET.fromstring(body.strip())  # noqa: S314
    except ET.ParseError as err:
        raise InfocallerResponseError("The answer is not valid XML") from err
    if _local_name(root.tag).casefold() != "callrequest":
        found = next(
            (
                element
                for element in root.iter()
                if _local_name(element.tag).casefold() == "callrequest"
            ),
            None,
        )
        if found is None:
            raise InfocallerResponseError("The answer has no callRequest element")
        root = found
    return _result({_local_name(child.tag): child.text or "" for child in root})


def decode_body(raw: bytes, charset: str | None = None) -> str:
    """Return the answer as text: UTF-8, with or without a byte-order mark.

    The Content-Type's ``charset`` is not trusted (PROTOCOL.md): it is only
    tried when the body is not UTF-8; what still cannot be decoded is
    replaced, so the parser reports an unreadable answer rather than this.
    """
    raw = raw.removeprefix(_UTF8_BOM)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if charset:
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return raw.decode("utf-8", errors="replace")


def parse_response(request_format: RequestFormat, body: str) -> CallResult:
    """Parse an answer in the format of the request that caused it."""
    if request_format is RequestFormat.XML:
        return parse_xml(body)
    return parse_json(body)


#: The vendor's bracket variables our URLs ask for, by our parameter name.
URL_VARIABLES: dict[str, str] = {
    "call_id": "[_IdLlamada]",
    "uuid": "[_UUID]",
    "caller": "[_NumLlamante]",
    "called": "[_NumLlamado]",
    "line": "[_NumInfocaller]",
}
#: What the "API QUERY" URL passes as digits: the user's own script
#: variable; a left-over ``[...]`` means a plain acknowledgement.
DIGITS_PLACEHOLDER = "[PULSACION]"


class ProgressUrl(StrEnum):
    """The URLs to paste into Infocaller: one per event, and API QUERY."""

    ANSWERED = "answered"
    FORWARD_ANSWERED = "forward_answered"
    FORWARD_FAILED = "forward_failed"
    ENDED = "ended"
    QUERY = "query"


def progress_urls(base_url: str) -> dict[ProgressUrl, str]:
    """Return the URLs to paste into Infocaller, for a webhook's ``base_url``.

    Bracket variables are written as is (not percent-encoded): Infocaller
    replaces them before it sends the request.
    """
    common = "&".join(f"{name}={value}" for name, value in URL_VARIABLES.items())
    urls: dict[ProgressUrl, str] = {}
    for url in ProgressUrl:
        extra = ""
        if url in (ProgressUrl.FORWARD_ANSWERED, ProgressUrl.FORWARD_FAILED):
            extra = "&forward=[_NumDesvio]"
        elif url is ProgressUrl.QUERY:
            extra = f"&digits={DIGITS_PLACEHOLDER}"
        urls[url] = f"{base_url}?event={url.value}&{common}{extra}"
    return urls
