"""Typed async client for the Infocaller HTTPS call-issuing API.

This package imports nothing from Home Assistant, so it could be published
on its own: ``InfocallerClient`` takes an ``aiohttp.ClientSession`` from the
caller, and every error is one of the typed exceptions below.
"""

from .client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_ENDPOINT,
    DEFAULT_TIMEOUT,
    InfocallerClient,
)
from .exceptions import (
    InfocallerAuthenticationError,
    InfocallerConnectionError,
    InfocallerError,
    InfocallerOutcomeUnknownError,
    InfocallerRejectedError,
    InfocallerRequestError,
    InfocallerResponseError,
    InfocallerTimeoutError,
    Reason,
)
from .models import (
    CREDENTIAL_CODES,
    RESULT_CODES,
    RESULT_KEYS,
    UNKNOWN_CODE_KEY,
    CallRequest,
    CallResult,
    CredentialCheck,
    Fault,
    RequestFormat,
    ResultCode,
    fault_of,
)
from .progress import (
    MAX_REPORT_BYTES,
    InvalidReportError,
    ProgressReport,
    ProgressUrl,
    Stage,
    parse_report,
    progress_urls,
)
from .protocol import signature

__all__ = [
    "CREDENTIAL_CODES",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_ENDPOINT",
    "DEFAULT_TIMEOUT",
    "MAX_REPORT_BYTES",
    "RESULT_CODES",
    "RESULT_KEYS",
    "UNKNOWN_CODE_KEY",
    "CallRequest",
    "CallResult",
    "CredentialCheck",
    "Fault",
    "InfocallerAuthenticationError",
    "InfocallerClient",
    "InfocallerConnectionError",
    "InfocallerError",
    "InfocallerOutcomeUnknownError",
    "InfocallerRejectedError",
    "InfocallerRequestError",
    "InfocallerResponseError",
    "InfocallerTimeoutError",
    "InvalidReportError",
    "ProgressReport",
    "ProgressUrl",
    "Reason",
    "RequestFormat",
    "ResultCode",
    "Stage",
    "fault_of",
    "parse_report",
    "progress_urls",
    "signature",
]
