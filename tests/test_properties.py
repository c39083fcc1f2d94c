"""Property-based tests (hypothesis): hostile text in, nothing malformed out.

For arbitrary text in the rule group and the variables, validation either
refuses the request naming the field, or both wire formats parse back to
exactly the same fields. Arbitrary phone strings become E.164 or are
refused. Arbitrary requests to the progress parser raise only its own
error. The character checks find and replace exactly what one whole
regular-expression class would. Nothing crashes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json
import re
from typing import Any
from unittest.mock import patch
from urllib.parse import parse_qs, urlencode
from xml.etree import ElementTree as ET

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.infocaller.api import RequestFormat
from custom_components.infocaller.api.protocol import (
    UNSENDABLE_NON_ASCII,
    XML_CONTROL_CHARACTERS,
    CharacterSet,
    call_data,
    encode_body,
    encode_request,
    request_document,
)
from custom_components.infocaller.api.report import InvalidReportError, parse_report
from custom_components.infocaller.validation import (
    CallValidationError,
    async_validate_call,
    normalize_phone,
)

LINE = "34910000000"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
#: Characters that break naive encoders, mixed into arbitrary Unicode.
NASTY = [
    "<",
    ">",
    "&",
    "]]>",
    "'",
    '"',
    "\\",
    "\r",
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\x1b",
    "\x7f",
    "\ud800",
    "\udfff",
    "\ufffe",
    "\uffff",
    "\u2028",
    "&amp;",
    "<!ENTITY x 'y'>",
    "{}",
    "📞",
    "ñ",
]
TEXT = st.lists(
    st.one_of(st.text(max_size=30), st.sampled_from(NASTY)), max_size=12
).map("".join) | st.text(min_size=900, max_size=1200)
PROFILE = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class _Hass:
    """Just what validation uses of Home Assistant: the executor, its data."""

    def __init__(self) -> None:
        self.data: dict[Any, Any] = {}

    async def async_add_executor_job(self, func: Callable[..., Any], *args: Any) -> Any:
        return func(*args)


def _validate(data: dict[str, Any]) -> Any:
    return asyncio.run(
        async_validate_call(
            _Hass(),  # type: ignore[arg-type]
            data,
            line_id=LINE,
            default_max_wait=5,
            default_retries=0,
        )
    )


def _outcome(data: dict[str, Any]) -> Any:
    """Return the validated request, or the validation error."""
    try:
        return _validate(data)
    except CallValidationError as err:
        return err


def _xml_fields(body: str) -> tuple[str, list[tuple[str, str]]]:
    root = ET.fromstring(body)
    namespace = root.tag.split("}")[0] + "}"
    data = root.find(f"{namespace}callData")
    assert data is not None
    rule_group = data.findtext(f"{namespace}gruporeglas") or ""
    variables = [
        (
            var.findtext(f"{namespace}VarName") or "",
            var.findtext(f"{namespace}VarValue") or "",
        )
        for var in data.iter(f"{namespace}CustVar")
    ]
    return rule_group, variables


@PROFILE
@given(
    rule_group=TEXT,
    variables=st.dictionaries(TEXT, TEXT | st.integers() | st.booleans(), max_size=4),
)
def test_text_round_trips_or_is_refused_naming_the_field(
    rule_group: str, variables: dict[str, Any]
) -> None:
    """JSON and XML carry the values exactly, or validation names the field."""
    request = _outcome(
        {"phone": "611222333", "rule_group": rule_group, "variables": variables}
    )
    if isinstance(request, CallValidationError):
        assert request.field in ("rule_group", "variables")
        error = request.as_service_error()
        assert error.translation_placeholders["field"] == request.field
        return
    assert request.rule_group == rule_group.strip()
    expected_vars = list(request.variables)
    assert [name for name, _ in expected_vars] == [str(name) for name in variables]
    document = request_document(LINE, "0" * 32, call_data(request))
    body = encode_request(RequestFormat.JSON, document)["apiCALLjson"]
    sent = json.loads(body)["callRequest"]["callData"]
    assert sent["gruporeglas"] == request.rule_group
    sent_vars = [
        (var["VarName"], var["VarValue"])
        for var in sent.get("CustVars", {}).get("CustVar", [])
    ]
    assert sent_vars == expected_vars
    body = encode_request(RequestFormat.XML, document)["apiCALLxml"]
    assert _xml_fields(body) == (request.rule_group, expected_vars)
    # What the client sends is exactly the standard form encoding of that.
    for request_format in RequestFormat:
        form = encode_request(request_format, document)
        assert encode_body(request_format, document) == urlencode(form).encode()
        assert parse_qs(encode_body(request_format, document).decode()) == {
            key: [value] for key, value in form.items()
        }
    for (name, value), (sent_name, sent_value) in zip(
        variables.items(), sent_vars, strict=True
    ):
        assert sent_name == name
        if isinstance(value, str):
            assert sent_value == value


@PROFILE
@given(phone=TEXT | st.from_regex(r"\+?[0-9 ().-]{3,20}", fullmatch=True))
def test_any_phone_string_is_e164_or_refused(phone: str) -> None:
    """Whatever the text, the result is a valid E.164 number or a refusal."""
    request = _outcome({"phone": phone, "rule_group": "Aviso"})
    if isinstance(request, CallValidationError):
        assert request.field in ("phone", "rule_group")
        return
    assert E164.match(request.phone)
    assert normalize_phone(request.phone, LINE) == request.phone


@PROFILE
@given(
    query=st.dictionaries(TEXT, TEXT, max_size=8),
    body=st.binary(max_size=2000)
    | TEXT.map(lambda text: text.encode("utf-8", "replace")),
    content_type=st.sampled_from(
        ["", "application/json", "text/xml", "application/x-www-form-urlencoded", "x/y"]
    ),
)
def test_progress_parser_raises_only_its_own_error(
    query: dict[str, str], body: bytes, content_type: str
) -> None:
    """No input makes the webhook's parser raise anything unexpected."""
    try:
        report = parse_report(query, body, content_type)
    except InvalidReportError:
        return
    # What passed has only well-formed values.
    for value in (report.caller, report.called, report.line, report.forward):
        assert value is None or re.fullmatch(r"\+?[0-9]{3,20}", value)
    assert report.digits is None or re.fullmatch(r"[0-9*#]{1,32}", report.digits)


@pytest.mark.parametrize("value", ["\ud800", "a\x00b", "\ufffe"])
def test_examples_of_refused_values(value: str) -> None:
    """Concrete cases the properties cover, kept as readable examples."""
    with pytest.raises(CallValidationError) as err:
        _validate({"phone": "611222333", "rule_group": "A", "variables": {"V": value}})
    assert err.value.field == "variables"


@given(text=TEXT)
@PROFILE
def test_character_set_is_its_whole_class(text: str) -> None:
    """ASCII fast path or not, a CharacterSet matches its one whole class."""
    ascii_ranges = XML_CONTROL_CHARACTERS + "\x7f"
    whole = re.compile(f"[{ascii_ranges}{UNSENDABLE_NON_ASCII}]")
    checks = CharacterSet(ascii_ranges, UNSENDABLE_NON_ASCII)
    assert checks.search(text) is (whole.search(text) is not None)
    assert checks.replace(text, "\ufffd") == whole.sub("\ufffd", text)


def test_character_set_compiles_the_whole_class_for_other_text_only() -> None:
    """The slow-to-compile class waits for the first text that is not ASCII.

    Counted as ``re.compile`` calls: one for the ASCII part when the set is
    made, none for ASCII text, one for the whole class on the first other
    text, and none after.
    """
    with patch.object(re, "compile", wraps=re.compile) as compile_:
        checks = CharacterSet(XML_CONTROL_CHARACTERS, UNSENDABLE_NON_ASCII)
        assert compile_.call_count == 1
        assert checks.search("rule group\x01") is True
        assert checks.replace("a\x00b", "?") == "a?b"
        assert compile_.call_count == 1
        assert checks.search("Pe\u00f1a\ud800") is True
        assert checks.search("Pe\u00f1a") is False
        assert checks.replace("Pe\u00f1a\ufffe", "?") == "Pe\u00f1a?"
        assert compile_.call_count == 2
