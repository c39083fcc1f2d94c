"""Tests for the pure wire-format functions of the Infocaller client."""

from __future__ import annotations

from datetime import datetime
import json
from xml.etree import ElementTree as ET

import pytest

from custom_components.infocaller.api import (
    RESULT_CODES,
    RESULT_KEYS,
    CallRequest,
    InfocallerRequestError,
    InfocallerResponseError,
    RequestFormat,
    signature,
)
from custom_components.infocaller.api.protocol import (
    XML_NAMESPACE,
    call_data,
    decode_body,
    encode_request,
    parse_json,
    parse_response,
    parse_xml,
    request_document,
)

NS = {"t": XML_NAMESPACE}
TRICKY = "<b>&amp; \"quoted\" 'single' ñandú — 📞 > end"


def test_vendor_signature_example() -> None:
    """The vendor's worked example: 123456789 + 3956."""
    assert signature("123456789", "3956") == "a2e12e9171fec3ebbb9c3c2a41b0b722"


def test_signature_is_lowercase_hex_md5_of_concatenation() -> None:
    """Concatenation with no separator, lowercase hex."""
    assert signature("34910000000", "demo1234") == (
        # md5("34910000000demo1234")
        __import__("hashlib").md5(b"34910000000demo1234").hexdigest()
    )
    assert signature("1", "23") == signature("12", "3")


def _full_request() -> CallRequest:
    return CallRequest(
        phone="+34611222333",
        rule_group="Click to Call",
        scheduled_for=datetime(2030, 4, 30, 16, 0, 5),  # noqa: DTZ001
        max_wait=180,
        retries=2,
        variables=(("CALLCENTER", "+34911888920"), ("ESTADO", "2")),
    )


def test_json_body_has_canonical_shape() -> None:
    """The JSON body follows the "structure" section, every value a string."""
    form = encode_request(
        RequestFormat.JSON,
        request_document("123456789", "f" * 32, call_data(_full_request())),
    )
    assert list(form) == ["apiCALLjson"]
    assert json.loads(form["apiCALLjson"]) == {
        "callRequest": {
            "UserID": {"idinfocaller": "123456789", "firma": "f" * 32},
            "callData": {
                "numtelefono": "+34611222333",
                "gruporeglas": "Click to Call",
                "fechahora": "2030-04-30T16:00:05",
                "EsperaMax": "180",
                "Reintentos": "2",
                "CustVars": {
                    "CustVar": [
                        {"VarName": "CALLCENTER", "VarValue": "+34911888920"},
                        {"VarName": "ESTADO", "VarValue": "2"},
                    ]
                },
            },
        }
    }


def test_xml_body_has_canonical_shape() -> None:
    """The XML body: namespaced root, same names and nesting as JSON."""
    form = encode_request(
        RequestFormat.XML,
        request_document("123456789", "f" * 32, call_data(_full_request())),
    )
    assert list(form) == ["apiCALLxml"]
    root = ET.fromstring(form["apiCALLxml"])
    assert root.tag == f"{{{XML_NAMESPACE}}}callRequest"
    assert [child.tag.split("}")[1] for child in root] == ["UserID", "callData"]
    assert root.findtext("t:UserID/t:idinfocaller", namespaces=NS) == "123456789"
    assert root.findtext("t:UserID/t:firma", namespaces=NS) == "f" * 32
    data = root.find("t:callData", NS)
    assert data is not None
    assert [child.tag.split("}")[1] for child in data] == [
        "numtelefono",
        "gruporeglas",
        "fechahora",
        "EsperaMax",
        "Reintentos",
        "CustVars",
    ]
    assert data.findtext("t:fechahora", namespaces=NS) == "2030-04-30T16:00:05"
    assert data.findtext("t:EsperaMax", namespaces=NS) == "180"
    assert data.findtext("t:Reintentos", namespaces=NS) == "2"
    variables = [
        (
            var.findtext("t:VarName", namespaces=NS),
            var.findtext("t:VarValue", namespaces=NS),
        )
        for var in data.findall("t:CustVars/t:CustVar", NS)
    ]
    assert variables == [("CALLCENTER", "+34911888920"), ("ESTADO", "2")]


@pytest.mark.parametrize("request_format", list(RequestFormat))
def test_optional_fields_are_omitted(request_format: RequestFormat) -> None:
    """Unset optional fields are left out, not sent empty."""
    request = CallRequest(phone="+34611222333", rule_group="Aviso")
    text = encode_request(
        request_format, request_document("1", "x", call_data(request))
    ).popitem()[1]
    for name in ("fechahora", "EsperaMax", "Reintentos", "CustVars", "CustVar"):
        assert name not in text
    assert "numtelefono" in text
    assert "gruporeglas" in text


def test_zero_values_are_sent() -> None:
    """0 retries and 0 minutes are values, not "unset"."""
    data = call_data(
        CallRequest(phone="+34611222333", rule_group="A", max_wait=0, retries=0)
    )
    assert data["EsperaMax"] == "0"
    assert data["Reintentos"] == "0"


@pytest.mark.parametrize("request_format", list(RequestFormat))
@pytest.mark.parametrize(
    "value", [TRICKY, "línea\nsegunda", "a]]>b", "  spaced  ", "&lt;literal&gt;"]
)
def test_values_round_trip_exactly(request_format: RequestFormat, value: str) -> None:
    """Markup characters, quotes, non-ASCII and emoji survive unchanged."""
    request = CallRequest(
        phone="+34611222333", rule_group=value, variables=(("MSG", value),)
    )
    text = encode_request(
        request_format, request_document("1", "x", call_data(request))
    ).popitem()[1]
    if request_format is RequestFormat.JSON:
        body = json.loads(text)["callRequest"]["callData"]
        assert body["gruporeglas"] == value
        assert body["CustVars"]["CustVar"][0]["VarValue"] == value
    else:
        root = ET.fromstring(text)
        assert root.findtext("t:callData/t:gruporeglas", namespaces=NS) == value
        assert (
            root.findtext("t:callData/t:CustVars/t:CustVar/t:VarValue", namespaces=NS)
            == value
        )


def test_xml_refuses_characters_xml_cannot_carry() -> None:
    """A control character cannot be put in XML 1.0; say so instead."""
    request = CallRequest(
        phone="+34611222333", rule_group="A", variables=(("MSG", "bell\x07"),)
    )
    with pytest.raises(InfocallerRequestError, match="VarValue"):
        encode_request(
            RequestFormat.XML, request_document("1", "x", call_data(request))
        )


@pytest.mark.parametrize(
    ("body", "code", "call_id", "text"),
    [
        (
            '{"callRequest":{"idcall":"123","Resultado":"0","ResultadoTexto":"Aceptada"}}',
            0,
            "123",
            "Aceptada",
        ),
        ('{"callRequest":{"idcall":"9","Resultado":0}}', 0, "9", ""),
        (
            '{"callRequest":{"idcall":"","Resultado":" 11 ","ResultadoTexto":"Saldo insuficiente"}}',
            11,
            None,
            "Saldo insuficiente",
        ),
        # idcall is only meaningful on acceptance.
        ('{"callRequest":{"idcall":"77","Resultado":"5"}}', 5, None, ""),
        (
            '{"Resultado": -100, "ResultadoTexto": "Error interno"}',
            -100,
            None,
            "Error interno",
        ),
        ('{"callrequest":{"resultado":"42"}}', 42, None, ""),
    ],
)
def test_parse_json(body: str, code: int, call_id: str | None, text: str) -> None:
    """JSON answers: code as number or string, idcall only when accepted."""
    result = parse_json(body)
    assert (result.result, result.call_id, result.result_text) == (code, call_id, text)


@pytest.mark.parametrize(
    ("body", "code", "call_id"),
    [
        (
            "<?xml version='1.0'?><callRequest><idcall>55</idcall><Resultado>0</Resultado>"
            "<ResultadoTexto>Aceptada</ResultadoTexto></callRequest>",
            0,
            "55",
        ),
        (
            "<callRequest xmlns='http://tempuri.org/'><idcall/><Resultado>8</Resultado>"
            "<ResultadoTexto>Grupo de reglas no existe o no es válido</ResultadoTexto></callRequest>",
            8,
            None,
        ),
        (
            '<?xml version="1.0" encoding="utf-8"?>\n<Respuesta><callRequest>'
            "<Resultado> 0 </Resultado><idcall> 7 </idcall></callRequest></Respuesta>",
            0,
            "7",
        ),
    ],
)
def test_parse_xml(body: str, code: int, call_id: str | None) -> None:
    """XML answers with or without declaration, namespace or wrapper."""
    result = parse_xml(body)
    assert (result.result, result.call_id) == (code, call_id)


@pytest.mark.parametrize(
    ("request_format", "body"),
    [
        (RequestFormat.JSON, "<html><body>Mantenimiento</body></html>"),
        (RequestFormat.JSON, '{"callRequest":{"idcall":"1","Resul'),
        (RequestFormat.JSON, '["callRequest"]'),
        (RequestFormat.JSON, '{"callRequest":"0"}'),
        (RequestFormat.JSON, '{"callRequest":{"idcall":"1"}}'),
        (RequestFormat.JSON, '{"callRequest":{"Resultado":"cero"}}'),
        (RequestFormat.JSON, '{"callRequest":{"Resultado":true}}'),
        (RequestFormat.JSON, '{"callRequest":{"Resultado":null}}'),
        (RequestFormat.XML, "<html><body>Mantenimiento</body></html>"),
        (RequestFormat.XML, "<callRequest><Resultado>0</Resul"),
        (RequestFormat.XML, "<callRequest><idcall>1</idcall></callRequest>"),
        (
            RequestFormat.XML,
            '<!DOCTYPE lolz [<!ENTITY lol "lol">]><callRequest>'
            "<Resultado>&lol;</Resultado></callRequest>",
        ),
        (RequestFormat.XML, "Internal Server Error"),
    ],
)
def test_unreadable_answers_raise(request_format: RequestFormat, body: str) -> None:
    """HTML, truncated, wrong shape, non-numeric codes, DTDs: a clear error."""
    with pytest.raises(InfocallerResponseError):
        parse_response(request_format, body)


@pytest.mark.parametrize("code", sorted(RESULT_CODES))
def test_every_documented_code_has_a_stable_key(code: int) -> None:
    """Each documented Resultado maps to its own snake_case key."""
    result = parse_json(json.dumps({"callRequest": {"Resultado": str(code)}}))
    assert result.result == code
    assert result.result_key == RESULT_CODES[code].key
    assert result.result_key.replace("_", "").isalpha()
    assert result.result_key.islower()
    assert result.accepted is (code == 0)


def test_keys_are_unique_and_complete() -> None:
    """Twenty documented codes, twenty distinct keys, plus unknown_code."""
    assert len(RESULT_CODES) == 20
    assert len(set(RESULT_KEYS)) == len(RESULT_KEYS) == 21
    assert RESULT_KEYS[-1] == "unknown_code"


def test_unknown_code_is_kept() -> None:
    """A code from the future is kept, shown and does not crash."""
    result = parse_xml(
        "<callRequest><Resultado>77</Resultado><ResultadoTexto>Nuevo</ResultadoTexto></callRequest>"
    )
    assert result.result == 77
    assert result.result_key == "unknown_code"
    assert result.result_text == "Nuevo"
    assert result.fault.value == "unknown"


@pytest.mark.parametrize("request_format", list(RequestFormat))
@pytest.mark.parametrize("value", ["a\rb", "a\r\nb", "\r", "x\n\ry"])
def test_carriage_returns_arrive_exactly(
    request_format: RequestFormat, value: str
) -> None:
    """A carriage return in a value is not turned into a line feed (XML too)."""
    request = CallRequest(
        phone="+34611222333", rule_group=value, variables=(("MSG", value),)
    )
    (text,) = encode_request(
        request_format, request_document("1", "x", call_data(request))
    ).values()
    if request_format is RequestFormat.XML:
        root = ET.fromstring(text)
        ns = {"t": XML_NAMESPACE}
        assert root.findtext("t:callData/t:gruporeglas", namespaces=ns) == value
        assert (
            root.findtext("t:callData/t:CustVars/t:CustVar/t:VarValue", namespaces=ns)
            == value
        )
    else:
        data = json.loads(text)["callRequest"]["callData"]
        assert data["gruporeglas"] == value
        assert data["CustVars"]["CustVar"][0]["VarValue"] == value


@pytest.mark.parametrize("request_format", list(RequestFormat))
@pytest.mark.parametrize("value", ["\ud800", "x\udfffy", "\ufffe", "\uffff"])
def test_unsendable_characters_raise_the_clients_own_error(
    request_format: RequestFormat, value: str
) -> None:
    """Lone surrogates (and U+FFFE/U+FFFF in XML) raise InfocallerRequestError."""
    request = CallRequest(
        phone="+34611222333", rule_group="A", variables=(("V", value),)
    )
    document = request_document("1", "x", call_data(request))
    if request_format is RequestFormat.JSON and value in ("\ufffe", "\uffff"):
        # JSON (UTF-8) carries the non-characters; only XML cannot.
        (text,) = encode_request(request_format, document).values()
        assert (
            json.loads(text)["callRequest"]["callData"]["CustVars"]["CustVar"][0][
                "VarValue"
            ]
            == value
        )
        return
    with pytest.raises(InfocallerRequestError):
        encode_request(request_format, document)


@pytest.mark.parametrize(
    "code", ["٣", "1_0", "0x1", "1.0", "", "+", "--1", "1 2", "\uff11", "0\u00a0"]
)
def test_resultado_is_an_optional_sign_and_ascii_digits(code: str) -> None:
    """Text that int() would accept (Arabic-Indic digits, underscores) is refused."""
    with pytest.raises(InfocallerResponseError):
        parse_json(json.dumps({"callRequest": {"Resultado": code}}))


@pytest.mark.parametrize(("code", "value"), [("+0", 0), ("-1", -1), (" 11\n", 11)])
def test_resultado_accepts_sign_and_surrounding_space(code: str, value: int) -> None:
    """A sign and ASCII white space around the digits are fine."""
    assert parse_json(json.dumps({"callRequest": {"Resultado": code}})).result == value


@pytest.mark.parametrize("charset", [None, "utf-8", "iso-8859-1", "ascii", "bogus"])
def test_utf8_with_or_without_bom_whatever_the_label(charset: str | None) -> None:
    """UTF-8 is read as UTF-8 (BOM or not), whatever the Content-Type says."""
    text = (
        '{"callRequest":{"idcall":"7","Resultado":"0","ResultadoTexto":"Aceptada ñ"}}'
    )
    for raw in (text.encode(), b"\xef\xbb\xbf" + text.encode()):
        result = parse_json(decode_body(raw, charset))
        assert (result.call_id, result.result_text) == ("7", "Aceptada ñ")


def test_a_non_utf8_body_falls_back_to_its_label() -> None:
    """Only a body that is not UTF-8 is decoded with the declared charset."""
    raw = '{"callRequest":{"Resultado":"5","ResultadoTexto":"Teléfono"}}'.encode(
        "latin-1"
    )
    assert parse_json(decode_body(raw, "iso-8859-1")).result_text == "Teléfono"
    # Without a usable label, the bad byte is replaced; the code still reads.
    assert parse_json(decode_body(raw, None)).result == 5
    assert parse_json(decode_body(raw, "no-such-charset")).result == 5


def test_xml_with_bom_and_declaration() -> None:
    """An XML answer with a BOM and an encoding declaration parses."""
    raw = (
        b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>"
        b"<callRequest><idcall>5</idcall><Resultado>0</Resultado></callRequest>"
    )
    assert parse_xml(decode_body(raw, "text/html")).call_id == "5"


def test_fingerprint_ignores_variable_order() -> None:
    """The same call with reordered variables is the same call."""
    one = CallRequest(phone="+1", rule_group="A", variables=(("X", "1"), ("Y", "2")))
    two = CallRequest(phone="+1", rule_group="A", variables=(("Y", "2"), ("X", "1")))
    assert one.fingerprint == two.fingerprint
    assert call_data(one) != call_data(two)  # the wire keeps the given order
    other = CallRequest(phone="+1", rule_group="A", variables=(("X", "2"), ("Y", "1")))
    assert other.fingerprint != one.fingerprint


def test_aware_schedule_is_sent_in_the_account_zone() -> None:
    """An aware schedule is converted; a naive one is taken as account time."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    aware = CallRequest(
        phone="+1",
        rule_group="A",
        scheduled_for=datetime(2030, 7, 1, 10, 0, tzinfo=UTC),
    )
    assert call_data(aware, ZoneInfo("Europe/Madrid"))["fechahora"] == (
        "2030-07-01T12:00:00"
    )
    assert call_data(aware, ZoneInfo("Atlantic/Canary"))["fechahora"] == (
        "2030-07-01T11:00:00"
    )
    naive = CallRequest(
        phone="+1",
        rule_group="A",
        scheduled_for=datetime(2030, 7, 1, 10, 0),  # noqa: DTZ001
    )
    assert call_data(naive, ZoneInfo("Atlantic/Canary"))["fechahora"] == (
        "2030-07-01T10:00:00"
    )
    with pytest.raises(InfocallerRequestError):
        call_data(aware)
