"""Typed async client for the Infocaller HTTPS call-issuing API.

This package imports nothing from Home Assistant, so it could be published
on its own: ``InfocallerClient`` takes an ``aiohttp.ClientSession`` from the
caller, and every error is one of the typed exceptions below. The reader
of call-progress requests, ``report.parse_report``, is imported from its
module when needed (it is not loaded with the package).
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
    Stage,
    fault_of,
)
from .protocol import (
    ProgressUrl,
    has_unsendable,
    mark_unsendable,
    progress_urls,
    signature,
)

__all__ = [
    "CREDENTIAL_CODES",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_ENDPOINT",
    "DEFAULT_TIMEOUT",
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
    "ProgressUrl",
    "Reason",
    "RequestFormat",
    "ResultCode",
    "Stage",
    "fault_of",
    "has_unsendable",
    "mark_unsendable",
    "progress_urls",
    "signature",
]
