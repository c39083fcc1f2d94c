"""Data models of the Infocaller call-issuing API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class RequestFormat(StrEnum):
    """Wire format of a request; the answer comes in the same format."""

    JSON = "json"
    XML = "xml"


class Fault(StrEnum):
    """Who is at fault when a request is refused (PROTOCOL.md)."""

    NONE = "none"
    CREDENTIALS = "credentials"
    REQUEST = "request"
    SERVER = "server"
    ACCOUNT = "account"
    INPUT = "input"
    UNKNOWN = "unknown"


class Stage(StrEnum):
    """What happened to a call."""

    ANSWERED = "answered"
    FORWARD_ANSWERED = "forward_answered"
    FORWARD_FAILED = "forward_failed"
    ENDED = "ended"
    ACKNOWLEDGED = "acknowledged"
    DIGITS = "digits"
    #: Never reported by Infocaller: inferred by whoever tracks the call.
    NOT_ANSWERED = "not_answered"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultCode:
    """One documented ``Resultado`` value."""

    code: int
    key: str
    vendor_text: str
    fault: Fault


UNKNOWN_CODE_KEY = "unknown_code"

RESULT_CODES: dict[int, ResultCode] = {
    code.code: code
    for code in (
        ResultCode(code=0, key="accepted", vendor_text="Aceptada", fault=Fault.NONE),
        ResultCode(
            code=-1,
            key="identification_incorrect",
            vendor_text="Identificación no correcta",
            fault=Fault.CREDENTIALS,
        ),
        ResultCode(
            code=-2,
            key="identification_missing",
            vendor_text="Identificación no indicada",
            fault=Fault.REQUEST,
        ),
        ResultCode(
            code=-3,
            key="malformed_request",
            vendor_text="Formato XML no correcto",
            fault=Fault.REQUEST,
        ),
        ResultCode(
            code=-99,
            key="parameter_missing",
            vendor_text="No se recibe el parámetro XML",
            fault=Fault.REQUEST,
        ),
        ResultCode(
            code=-100,
            key="internal_error",
            vendor_text="Error interno",
            fault=Fault.SERVER,
        ),
        ResultCode(
            code=1,
            key="signature_incorrect",
            vendor_text="Firma no correcta",
            fault=Fault.CREDENTIALS,
        ),
        ResultCode(
            code=2,
            key="line_not_valid",
            vendor_text="Línea infocaller no válida",
            fault=Fault.CREDENTIALS,
        ),
        ResultCode(
            code=3,
            key="line_switched_off",
            vendor_text="Línea infocaller apagada",
            fault=Fault.ACCOUNT,
        ),
        ResultCode(
            code=4,
            key="invalid_datetime",
            vendor_text="Fecha/Hora no válida",
            fault=Fault.INPUT,
        ),
        ResultCode(
            code=5,
            key="invalid_phone",
            vendor_text="Teléfono no válido",
            fault=Fault.INPUT,
        ),
        ResultCode(
            code=6,
            key="invalid_max_wait",
            vendor_text="Valor Esperamax no válido",
            fault=Fault.INPUT,
        ),
        ResultCode(
            code=7,
            key="invalid_retries",
            vendor_text="Valor reintentos no válido",
            fault=Fault.INPUT,
        ),
        ResultCode(
            code=8,
            key="invalid_rule_group",
            vendor_text="Grupo de reglas no existe o no es válido",
            fault=Fault.INPUT,
        ),
        ResultCode(
            code=9,
            key="end_of_call_rule",
            vendor_text="Regla de fin de llamada",
            fault=Fault.INPUT,
        ),
        ResultCode(
            code=10,
            key="line_suspended",
            vendor_text="Línea suspendida",
            fault=Fault.ACCOUNT,
        ),
        ResultCode(
            code=11,
            key="insufficient_balance",
            vendor_text="Saldo insuficiente",
            fault=Fault.ACCOUNT,
        ),
        ResultCode(
            code=12,
            key="credit_limit_exceeded",
            vendor_text="Límite de crédito excedido",
            fault=Fault.ACCOUNT,
        ),
        ResultCode(
            code=13,
            key="no_valid_rule",
            vendor_text="Ninguna regla válida en grupo de reglas",
            fault=Fault.INPUT,
        ),
        ResultCode(
            code=14,
            key="call_quota_exceeded",
            vendor_text=(
                "Excedido número máximo de emisión de llamadas. "
                "Contactar con Atención al Cliente."
            ),
            fault=Fault.ACCOUNT,
        ),
    )
}

#: Every key a result can have, in a stable order (documented codes, then
#: the key kept for codes this package does not know).
RESULT_KEYS: tuple[str, ...] = (
    *(code.key for code in RESULT_CODES.values()),
    UNKNOWN_CODE_KEY,
)


def fault_of(code: int) -> Fault:
    """Return who is at fault for a ``Resultado`` (``UNKNOWN`` if new)."""
    if (known := RESULT_CODES.get(code)) is None:
        return Fault.UNKNOWN
    return known.fault


#: Codes that mean the credentials (line id, password, line) were refused.
CREDENTIAL_CODES = frozenset(
    code.code for code in RESULT_CODES.values() if code.fault is Fault.CREDENTIALS
)

#: Codes a credential check treats as "refused" (PROTOCOL.md, "Checking
#: credentials"): the credential codes plus "identification missing".
PROBE_REFUSED_CODES = CREDENTIAL_CODES | {-2}


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRequest:
    """What to send: one call to one destination.

    ``scheduled_for`` is either aware (the client converts it to the
    account's time zone) or naive (taken as the account's local wall time,
    which is what the API wants); ``None`` means "now". Optional values left
    as ``None`` are omitted from the request. ``variables`` keep their order
    on the wire; ``fingerprint`` does not depend on it.
    """

    phone: str
    rule_group: str
    scheduled_for: datetime | None = None
    max_wait: int | None = None
    retries: int | None = None
    variables: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def fingerprint(self) -> tuple[object, ...]:
        """What makes two requests the same call, whatever the variables' order.

        An aware ``scheduled_for`` is the instant (in UTC), however it was
        written; a naive one is left as it is (its instant depends on the
        account's time zone, which the request does not know).
        """
        when = self.scheduled_for
        if when is not None and when.tzinfo is not None:
            when = when.astimezone(UTC)
        return (self.phone, self.rule_group, when, tuple(sorted(self.variables)))


@dataclass(frozen=True, slots=True, kw_only=True)
class CallResult:
    """Infocaller's answer to one request."""

    result: int
    result_text: str
    call_id: str | None = None

    @property
    def accepted(self) -> bool:
        """Whether the request was accepted (queued) by Infocaller."""
        return self.result == 0

    @property
    def result_key(self) -> str:
        """Stable snake_case name of the code (``unknown_code`` if new)."""
        if (code := RESULT_CODES.get(self.result)) is None:
            return UNKNOWN_CODE_KEY
        return code.key

    @property
    def fault(self) -> Fault:
        """Who is at fault for a refusal."""
        return fault_of(self.result)


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialCheck:
    """Outcome of a credential probe."""

    valid: bool
    result: CallResult
