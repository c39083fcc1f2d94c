"""Flood protection of a line's webhook: a token bucket."""

from __future__ import annotations

import time

#: Requests per second one line's webhook takes (a token bucket that holds
#: BURST); more are dropped with 429 and counted. Infocaller sends a few per
#: call, so only a flood (or an attack) reaches this.
RATE = 100.0
BURST = 500.0


class RateLimiter:
    """A token bucket: ``RATE`` requests a second, bursts up to ``BURST``."""

    def __init__(self) -> None:
        """Start full."""
        self.tokens = BURST
        self.at = time.monotonic()
        self.dropped = 0

    def allow(self) -> bool:
        """Take a token if there is one; count the request as dropped if not."""
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.at) * RATE)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False
