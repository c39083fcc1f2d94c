"""Exceptions raised by the Infocaller client.

The hierarchy tells a caller the one thing that matters most for a telephony
API: whether a call may have been placed.

- ``InfocallerRequestError``: the request could not be built (a value the
  wire format cannot carry); nothing was sent.
- ``InfocallerConnectionError``: the request never left this machine (name
  resolution, refused connection, TLS failure, connect timeout). Nothing was
  placed; trying again is safe.
- ``InfocallerOutcomeUnknownError`` and its subclasses: the request was sent,
  or may have been, but no usable answer came back. A call may have been
  placed. The client never resends such a request by itself.
- ``InfocallerRejectedError``: Infocaller answered and refused the request
  (a non-zero ``Resultado``); it carries the parsed result.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import CallResult


class Reason(StrEnum):
    """Why no answer could be used: stable, for a caller's own messages.

    The exception text is English for logs; a caller that shows errors in
    another language maps ``reason`` (and ``status``/``seconds``) instead.
    """

    # Nothing was sent (InfocallerConnectionError).
    CONNECT_TIMEOUT = "connect_timeout"
    DNS = "dns"
    TLS = "tls"
    UNREACHABLE = "unreachable"
    # A call may have been placed (InfocallerOutcomeUnknownError).
    ANSWER_TIMEOUT = "answer_timeout"
    CONNECTION_BROKEN = "connection_broken"
    ANSWER_TOO_LARGE = "answer_too_large"
    EMPTY_ANSWER = "empty_answer"
    UNREADABLE_ANSWER = "unreadable_answer"
    # Anything else (a caller's own subclass or message only).
    OTHER = "other"


class InfocallerError(Exception):
    """Base class of every error raised by this package.

    ``reason`` says why in a stable form; ``status`` is the HTTP status when
    an answer arrived, ``seconds`` the time limit that ran out, if any.
    """

    def __init__(
        self,
        message: str = "",
        *,
        reason: Reason = Reason.OTHER,
        status: int | None = None,
        seconds: float | None = None,
    ) -> None:
        """Keep the English message and the stable details."""
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.seconds = seconds


class InfocallerRequestError(InfocallerError):
    """The request could not be encoded: nothing was sent."""


class InfocallerConnectionError(InfocallerError):
    """The request could not be sent: no call was placed."""


class InfocallerOutcomeUnknownError(InfocallerError):
    """The request may have reached Infocaller, but no usable answer came back.

    A call may have been placed. Do not resend automatically.
    """


class InfocallerTimeoutError(InfocallerOutcomeUnknownError):
    """No (complete) answer arrived in time after the request was sent."""


class InfocallerResponseError(InfocallerOutcomeUnknownError):
    """The answer could not be understood (HTML, truncated, too large, ...)."""


class InfocallerRejectedError(InfocallerError):
    """Infocaller answered with a non-zero ``Resultado``."""

    def __init__(self, result: CallResult) -> None:
        """Keep the parsed answer; the message holds no secret."""
        super().__init__(
            f"Infocaller refused the request: {result.result} ({result.result_key})"
        )
        self.result = result


class InfocallerAuthenticationError(InfocallerRejectedError):
    """The line id, the signature or the line itself was refused (-1, 1, 2)."""
