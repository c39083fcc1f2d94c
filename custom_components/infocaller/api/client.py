"""Async client for the Infocaller HTTPS call-issuing API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
import logging
import secrets
import socket
from typing import Any

import aiohttp

from .exceptions import (
    InfocallerAuthenticationError,
    InfocallerConnectionError,
    InfocallerRejectedError,
    InfocallerRequestError,
    InfocallerResponseError,
    InfocallerTimeoutError,
    Reason,
)
from .models import (
    CREDENTIAL_CODES,
    PROBE_REFUSED_CODES,
    CallRequest,
    CallResult,
    CredentialCheck,
    RequestFormat,
)
from .protocol import (
    call_data,
    decode_body,
    encode_body,
    parse_response,
    request_document,
    signature,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://apicall.infoe.es"
DEFAULT_TIMEOUT = 30.0
#: Getting a connection (pool slot, TCP connect and TLS handshake) may take
#: this long. Kept apart from the total so that a connect that hangs is
#: reported as "nothing was sent", which is the truth.
DEFAULT_CONNECT_TIMEOUT = 10.0
_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
#: The three-field answer is tiny; anything larger is not an answer.
MAX_RESPONSE_BYTES = 64 * 1024

#: A date long past: Infocaller must refuse it (code 4) if it ever gets that far.
PROBE_DATETIME = datetime(2000, 1, 1)  # noqa: DTZ001 - account local, naive on purpose


class InfocallerClient:
    """Issue calls through one Infocaller line.

    The aiohttp session is the caller's (Home Assistant passes its shared
    one). The password and the signature never appear in a log line, an
    exception or ``repr``.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        idinfocaller: str,
        password: str,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        request_format: RequestFormat = RequestFormat.JSON,
        time_zone: tzinfo | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        """Keep what every request needs.

        ``time_zone`` is the Infocaller account's (Europe/Madrid for most
        accounts); an aware ``scheduled_for`` is sent in its local time.
        Without it, only naive (account-local) schedules can be sent.
        """
        self._session = session
        self.idinfocaller = idinfocaller
        self._firma = signature(idinfocaller, password)
        self.endpoint = endpoint
        self.request_format = RequestFormat(request_format)
        self.time_zone = time_zone
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)

    def __repr__(self) -> str:
        """Describe the client without its secrets."""
        return (
            f"{type(self).__name__}(idinfocaller={self.idinfocaller!r}, "
            f"endpoint={self.endpoint!r}, request_format={self.request_format.value!r})"
        )

    async def _request(self, data: Mapping[str, Any]) -> CallResult:
        """Send one request and return the parsed answer.

        The only method that touches the network. It sends exactly once:
        nothing here retries, and redirects are not followed. The body is
        encoded to bytes before anything is sent, so a value that cannot be
        carried raises ``InfocallerRequestError`` with nothing sent.
        """
        try:
            body = encode_body(
                self.request_format,
                request_document(self.idinfocaller, self._firma, data),
            )
        except (UnicodeError, ValueError) as err:
            msg = "The request holds a value that cannot be sent"
            raise InfocallerRequestError(msg) from err
        _LOGGER.debug(
            "Sending %s request for line %s to %s",
            self.request_format.value,
            self.idinfocaller,
            self.endpoint,
        )
        timeout = aiohttp.ClientTimeout(
            total=self.timeout, connect=self.connect_timeout
        )
        try:
            async with self._session.post(
                self.endpoint,
                data=body,
                headers={"Content-Type": _FORM_CONTENT_TYPE},
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                text = await _read_capped(response)
                status = response.status
        except aiohttp.ConnectionTimeoutError as err:
            raise InfocallerConnectionError(
                f"Timed out connecting to {self.endpoint} "
                f"within {self.connect_timeout:g} s",
                reason=Reason.CONNECT_TIMEOUT,
                seconds=self.connect_timeout,
            ) from err
        except aiohttp.ClientConnectorError as err:
            # With older aiohttp a certificate error has no os_error
            # (reading it raises AttributeError).
            detail = getattr(err, "os_error", None) or err
            raise InfocallerConnectionError(
                f"Could not connect to {self.endpoint}: {detail}",
                reason=_connect_reason(err),
            ) from err
        except TimeoutError as err:
            raise InfocallerTimeoutError(
                f"No answer from {self.endpoint} within {self.timeout:g} s",
                reason=Reason.ANSWER_TIMEOUT,
                seconds=self.timeout,
            ) from err
        except (aiohttp.ClientError, socket.gaierror, OSError) as err:
            raise InfocallerTimeoutError(
                f"The connection to {self.endpoint} broke before the answer "
                f"was complete: {type(err).__name__}",
                reason=Reason.CONNECTION_BROKEN,
            ) from err

        try:
            result = parse_response(self.request_format, text)
        except InfocallerResponseError as err:
            raise InfocallerResponseError(
                f"Unreadable answer (HTTP {status}): {err}",
                reason=Reason.UNREADABLE_ANSWER,
                status=status,
            ) from err
        _LOGGER.debug(
            "Line %s answer: Resultado %s (%s)",
            self.idinfocaller,
            result.result,
            result.result_key,
        )
        return result

    async def issue_call(self, request: CallRequest) -> CallResult:
        """Ask Infocaller to place one call.

        Returns the accepted result; raises ``InfocallerRejectedError`` (or
        its ``InfocallerAuthenticationError`` subclass) when refused, and
        the other exceptions of this package as they describe.
        """
        result = await self._request(call_data(request, self.time_zone))
        if result.result in CREDENTIAL_CODES:
            raise InfocallerAuthenticationError(result)
        if not result.accepted:
            raise InfocallerRejectedError(result)
        return result

    async def check_credentials(self) -> CredentialCheck:
        """Tell whether Infocaller accepts this line's id and password.

        There is no "who am I" call, so this sends a request that fails
        validation on five independent fields at once (an impossible phone
        number, a rule group that cannot exist, a date in 2000, a maximum
        wait and a retry count out of range). Infocaller checks the
        identification first, so the answer still tells whether the
        credentials were accepted; no phone can ring.
        """
        request = CallRequest(
            phone="0",
            rule_group=f"home-assistant-credential-check-{secrets.token_hex(8)}",
            scheduled_for=PROBE_DATETIME,
            max_wait=999,
            retries=99,
        )
        result = await self._request(call_data(request))
        if result.accepted:
            _LOGGER.warning(
                "Infocaller accepted a credential check that should have been "
                "refused on five fields; call id %s",
                result.call_id,
            )
        return CredentialCheck(
            valid=result.result not in PROBE_REFUSED_CODES, result=result
        )


def _connect_reason(err: aiohttp.ClientConnectorError) -> Reason:
    """Tell a name that did not resolve and a TLS failure from the rest."""
    if isinstance(
        err, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)
    ):
        return Reason.TLS
    if isinstance(getattr(err, "os_error", None), socket.gaierror):
        return Reason.DNS
    return Reason.UNREACHABLE


async def _read_capped(response: aiohttp.ClientResponse) -> str:
    """Read at most ``MAX_RESPONSE_BYTES`` of the body, as text (UTF-8)."""
    stream = response.content
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(MAX_RESPONSE_BYTES + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise InfocallerResponseError(
                f"The answer is larger than {MAX_RESPONSE_BYTES} bytes",
                reason=Reason.ANSWER_TOO_LARGE,
                status=response.status,
            )
    raw = b"".join(chunks)
    if not raw.strip():
        raise InfocallerResponseError(
            f"Empty answer (HTTP {response.status})",
            reason=Reason.EMPTY_ANSWER,
            status=response.status,
        )
    return decode_body(raw, response.charset)
