"""Async client for the Infocaller HTTPS call-issuing API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
import logging
import secrets
import socket
from typing import Any

import aiohttp

from .exceptions import (
    InfocallerAuthenticationError,
    InfocallerConnectionError,
    InfocallerRejectedError,
    InfocallerResponseError,
    InfocallerTimeoutError,
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
    encode_request,
    parse_response,
    request_document,
    signature,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://apicall.infoe.es"
DEFAULT_TIMEOUT = 30.0
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
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Keep what every request needs."""
        self._session = session
        self.idinfocaller = idinfocaller
        self._firma = signature(idinfocaller, password)
        self.endpoint = endpoint
        self.request_format = RequestFormat(request_format)
        self.timeout = timeout

    def __repr__(self) -> str:
        """Describe the client without its secrets."""
        return (
            f"{type(self).__name__}(idinfocaller={self.idinfocaller!r}, "
            f"endpoint={self.endpoint!r}, request_format={self.request_format.value!r})"
        )

    async def _request(self, data: Mapping[str, Any]) -> CallResult:
        """Send one request and return the parsed answer.

        The only method that touches the network. It sends exactly once:
        nothing here retries, and redirects are not followed.
        """
        form = encode_request(
            self.request_format,
            request_document(self.idinfocaller, self._firma, data),
        )
        _LOGGER.debug(
            "Sending %s request for line %s to %s",
            self.request_format.value,
            self.idinfocaller,
            self.endpoint,
        )
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with self._session.post(
                self.endpoint,
                data=form,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                body = await _read_capped(response)
                status = response.status
        except aiohttp.ConnectionTimeoutError as err:
            raise InfocallerConnectionError(
                f"Timed out connecting to {self.endpoint}"
            ) from err
        except aiohttp.ClientConnectorError as err:
            raise InfocallerConnectionError(
                f"Could not connect to {self.endpoint}: {err.os_error or err}"
            ) from err
        except TimeoutError as err:
            raise InfocallerTimeoutError(
                f"No answer from {self.endpoint} within {self.timeout:g} s"
            ) from err
        except (aiohttp.ClientError, socket.gaierror, OSError) as err:
            raise InfocallerTimeoutError(
                f"The connection to {self.endpoint} broke before the answer "
                f"was complete: {type(err).__name__}"
            ) from err

        try:
            result = parse_response(self.request_format, body)
        except InfocallerResponseError as err:
            raise InfocallerResponseError(
                f"Unreadable answer (HTTP {status}): {err}"
            ) from err
        _LOGGER.debug(
            "Line %s answer: Resultado %s (%s)",
            self.idinfocaller,
            result.result,
            result.result_key,
        )
        return result

    async def issue_call(
        self,
        *,
        phone: str,
        rule_group: str,
        scheduled_for: datetime | None = None,
        max_wait: int | None = None,
        retries: int | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> CallResult:
        """Ask Infocaller to place one call.

        ``scheduled_for`` is naive, in the account's local time. Returns the
        accepted result; raises ``InfocallerRejectedError`` (or its
        ``InfocallerAuthenticationError`` subclass) when refused.
        """
        request = CallRequest(
            phone=phone,
            rule_group=rule_group,
            scheduled_for=scheduled_for,
            max_wait=max_wait,
            retries=retries,
            variables=tuple((variables or {}).items()),
        )
        result = await self._request(call_data(request))
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


async def _read_capped(response: aiohttp.ClientResponse) -> str:
    """Read at most ``MAX_RESPONSE_BYTES`` of the body, as text."""
    stream = response.content
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(MAX_RESPONSE_BYTES + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise InfocallerResponseError(
                f"The answer is larger than {MAX_RESPONSE_BYTES} bytes"
            )
    raw = b"".join(chunks)
    if not raw.strip():
        raise InfocallerResponseError(f"Empty answer (HTTP {response.status})")
    try:
        return raw.decode(response.charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")
