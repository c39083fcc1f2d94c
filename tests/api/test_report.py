"""Parsing Infocaller's call-progress requests (untrusted input) and the URLs."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from custom_components.infocaller.api import ProgressUrl, Stage, progress_urls
from custom_components.infocaller.api.report import (
    MAX_REPORT_BYTES,
    InvalidReportError,
    ProgressReport,
    parse_report,
)

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_query_string_with_our_names() -> None:
    """Everything we need travels in the query string."""
    report = parse_report(
        {
            "event": "answered",
            "call_id": "SIM00000001",
            "uuid": UUID,
            "caller": "34910000000",
            "called": "611222333",
            "line": "34910000000",
        }
    )
    assert report == ProgressReport(
        stage=Stage.ANSWERED,
        call_id="SIM00000001",
        uuid=UUID,
        caller="34910000000",
        called="611222333",
        line="34910000000",
    )
    assert report.numbers == ("611222333", "34910000000")


@pytest.mark.parametrize(
    ("event", "stage"),
    [
        ("answered", Stage.ANSWERED),
        ("INICIO", Stage.ANSWERED),
        ("forward_answered", Stage.FORWARD_ANSWERED),
        ("desvio_correcto", Stage.FORWARD_ANSWERED),
        ("forward_failed", Stage.FORWARD_FAILED),
        ("Desvio_Fallido", Stage.FORWARD_FAILED),
        ("ended", Stage.ENDED),
        ("fin", Stage.ENDED),
        ("acknowledged", Stage.ACKNOWLEDGED),
        ("query", Stage.ACKNOWLEDGED),
    ],
)
def test_event_names(event: str, stage: Stage) -> None:
    """Our event names and the vendor's, without case."""
    assert parse_report({"event": event}).stage is stage


def test_query_with_digits_is_digits() -> None:
    """An API QUERY that passes keys is a digits report; without, an ack."""
    assert parse_report({"event": "query", "digits": "1#"}) == ProgressReport(
        stage=Stage.DIGITS, digits="1#"
    )
    # Infocaller left the user's variable unsubstituted: a plain ack.
    assert parse_report({"event": "query", "digits": "[PULSACION]"}) == (
        ProgressReport(stage=Stage.ACKNOWLEDGED)
    )
    with pytest.raises(InvalidReportError, match="digits event without digits"):
        parse_report({"event": "digits"})


def test_unsubstituted_and_malformed_values_are_dropped() -> None:
    """A ``[variable]`` left as is, or a value of the wrong shape, is absent."""
    report = parse_report(
        {
            "event": "ended",
            "call_id": "[_IdLlamada]",
            "uuid": "not-a-uuid",
            "caller": "+34 611 222 333",  # spaces: not a number we accept
            "called": "<script>",
            "forward": "0034611222333",
            "digits": "9",  # only for digits reports
        }
    )
    # Three values failed their check: each is counted, none is kept.
    assert report == ProgressReport(
        stage=Stage.ENDED, forward="0034611222333", dropped=3
    )


@pytest.mark.parametrize("punctuation", [".", ",", ";", ":", ")", "`", "'", '"', ".)"])
def test_trailing_punctuation_of_a_copied_url_is_tolerated(punctuation: str) -> None:
    """A URL copied with the sentence's last character still gives the keys.

    ``digits=1.`` used to be dropped without a word (a digits call ended
    ``acknowledged`` with no digits).
    """
    report = parse_report({"event": "query", "digits": f"1{punctuation}"})
    assert report == ProgressReport(stage=Stage.DIGITS, digits="1")
    report = parse_report({"event": f"ended{punctuation}", "line": "34910000000"})
    assert report == ProgressReport(stage=Stage.ENDED, line="34910000000")
    report = parse_report({"event": "query", "digits": f"[PULSACION]{punctuation}"})
    assert report == ProgressReport(stage=Stage.ACKNOWLEDGED)


def test_a_value_is_kept_as_sent_when_it_passes() -> None:
    """A call id may end with "." or ":": it is not stripped when it passes."""
    report = parse_report({"event": "answered", "call_id": "SIM.1."})
    assert report == ProgressReport(stage=Stage.ANSWERED, call_id="SIM.1.")


def test_every_dropped_value_is_counted() -> None:
    """Query and body: each value that fails its check counts once."""
    body = json.dumps({"NumLlamado": "six", "Teclas": "1a"}).encode()
    report = parse_report(
        {"event": "query", "digits": "1.2", "caller": "+34 611"},
        body,
        "application/json",
    )
    assert report == ProgressReport(stage=Stage.ACKNOWLEDGED, dropped=4)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"event": ""},
        {"event": "hangup"},
        {"call_id": "1", "called": "611222333"},
    ],
)
def test_no_known_event_is_refused(query: dict[str, str]) -> None:
    """Without a known event there is nothing to report."""
    with pytest.raises(InvalidReportError, match="no known event"):
        parse_report(query)


def test_query_wins_over_body() -> None:
    """The query string is ours; a body only fills in what it lacks."""
    body = json.dumps({"_IdLlamada": "999", "NumLlamado": "622333444"}).encode()
    report = parse_report(
        {"event": "answered", "call_id": "1"}, body, "application/json"
    )
    assert (report.call_id, report.called) == ("1", "622333444")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            b'{"evento": "INICIO", "_IdLlamada": "77", "_NumLlamado": "611222333"}',
            "application/json",
        ),
        (
            b'{"data": {"Evento": "inicio", "IdLlamada": 77, '
            b'"NumLlamado": "611222333"}}',
            "application/json; charset=utf-8",
        ),
        (
            b"<?xml version='1.0'?><evento><eve>inicio</eve>"
            b"<IdLlamada>77</IdLlamada><NumLlamado>611222333</NumLlamado></evento>",
            "text/xml",
        ),
        (
            b'<llamada eve="inicio" idllamada="77" numllamado="611222333"/>',
            "application/xml",
        ),
        (
            b"eve=inicio&_IdLlamada=77&_NumLlamado=611222333",
            "application/x-www-form-urlencoded",
        ),
        # No content type: recognised by its first character.
        (
            b'\xef\xbb\xbf{"eve": "inicio", "idllamada": "77", "numllamado": "611222333"}',
            "",
        ),
    ],
)
def test_body_formats(body: bytes, content_type: str) -> None:
    """JSON (nested too), XML (elements or attributes) and form bodies."""
    assert parse_report({}, body, content_type) == ProgressReport(
        stage=Stage.ANSWERED, call_id="77", called="611222333"
    )


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"{not json", "application/json", "unreadable JSON"),
        (b"<a><b></a>", "text/xml", "unreadable XML"),
        (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><l>&a;</l>',
            "text/xml",
            "XML with a DTD",
        ),
        (b"\xff\xfe\x00", "text/plain", "body is not UTF-8"),
        (b"x" * (MAX_REPORT_BYTES + 1), "text/plain", "body too large"),
    ],
)
def test_bad_bodies_are_refused(body: bytes, content_type: str, reason: str) -> None:
    """Junk, entity tricks and oversized bodies raise our one error."""
    with pytest.raises(InvalidReportError) as err:
        parse_report({"event": "answered"}, body, content_type)
    # A fixed text for the log, never a piece of the input.
    assert err.value.reason.startswith(reason)


def test_json_that_is_not_an_object_adds_nothing() -> None:
    """A list, a number or deep nesting carry no fields."""
    deep: dict[str, object] = {"eve": "fin"}
    for _ in range(10):
        deep = {"x": deep}
    for body in (b"[1, 2]", b"42", json.dumps(deep).encode()):
        with pytest.raises(InvalidReportError):
            parse_report({}, body, "application/json")


def test_field_count_is_capped() -> None:
    """Only the first fields of a body are looked at."""
    fields = {f"f{i}": "x" for i in range(500)}
    fields["eve"] = "fin"
    with pytest.raises(InvalidReportError, match="no known event"):
        parse_report({}, json.dumps(fields).encode(), "application/json")


def test_urls_carry_the_vendor_variables_and_parse_back() -> None:
    """Each URL, with Infocaller's substitution done, parses to its stage."""
    base = "https://example.ui.nabu.casa/api/webhook/abc"
    urls = progress_urls(base)
    assert set(urls) == set(ProgressUrl)
    answered = urls[ProgressUrl.ANSWERED]
    assert answered.startswith(f"{base}?event=answered&")
    for variable in ("[_IdLlamada]", "[_UUID]", "[_NumLlamante]", "[_NumLlamado]"):
        assert variable in answered
    assert "[_NumDesvio]" in urls[ProgressUrl.FORWARD_FAILED]
    assert "[_NumDesvio]" not in urls[ProgressUrl.ENDED]
    substitutions = {
        "[_IdLlamada]": "123456",
        "[_UUID]": UUID,
        "[_NumLlamante]": "34910000000",
        "[_NumLlamado]": "611222333",
        "[_NumInfocaller]": "34910000000",
        "[_NumDesvio]": "622333444",
    }
    expected = {
        ProgressUrl.ANSWERED: Stage.ANSWERED,
        ProgressUrl.FORWARD_ANSWERED: Stage.FORWARD_ANSWERED,
        ProgressUrl.FORWARD_FAILED: Stage.FORWARD_FAILED,
        ProgressUrl.ENDED: Stage.ENDED,
        # The user did not replace [PULSACION]: an acknowledgement.
        ProgressUrl.QUERY: Stage.ACKNOWLEDGED,
    }
    for name, template in urls.items():
        url = template
        for variable, value in substitutions.items():
            url = url.replace(variable, value)
        report = parse_report(dict(parse_qsl(urlsplit(url).query)))
        assert report.stage is expected[name]
        assert (report.call_id, report.uuid, report.called) == (
            "123456",
            UUID,
            "611222333",
        )
        if name in (ProgressUrl.FORWARD_ANSWERED, ProgressUrl.FORWARD_FAILED):
            assert report.forward == "622333444"
