"""The answer to each request that reaches a line's call-progress webhook.

``webhook.async_register_webhook`` hands it each request. Every byte is untrusted: the body is size-capped and read with a
deadline, parsing is ``api.report.parse_report``'s, and nothing raises.
The rate limit has two budgets (``InfocallerProgress.async_receive``): requests that
are not reports or match no followed call share one, so a flood of them
never starves the reports of the calls being followed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from http import HTTPStatus

from aiohttp import hdrs, web

from .api.report import MAX_REPORT_BYTES, InvalidReportError, parse_report
from .const import LOGGER
from .progress import InfocallerProgress

#: A progress request's body must arrive within this many seconds.
READ_TIMEOUT = 10


async def _read_body(request: web.Request) -> bytes | None:
    """Return the body, or None when it is larger than the cap."""
    length = request.headers.get(hdrs.CONTENT_LENGTH, "")
    if length.isdigit() and int(length) > MAX_REPORT_BYTES:
        return None
    body = bytearray()
    async with asyncio.timeout(READ_TIMEOUT):
        while chunk := await request.content.read(MAX_REPORT_BYTES + 1 - len(body)):
            body += chunk
            if len(body) > MAX_REPORT_BYTES:
                return None
    return bytes(body)


async def async_handle_request(
    progress: InfocallerProgress, request: web.Request
) -> web.Response:
    """Answer one request: 200 when it is a report, 4xx when it is not."""
    try:
        body = await _read_body(request)
    except TimeoutError:
        return _refused(progress, HTTPStatus.REQUEST_TIMEOUT)
    if body is None:
        return _refused(progress, HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    query: Mapping[str, str] = request.query
    try:
        report = parse_report(query, body, request.headers.get(hdrs.CONTENT_TYPE, ""))
    except InvalidReportError as err:
        if not progress.limiter.allow():
            return web.Response(status=HTTPStatus.TOO_MANY_REQUESTS)
        if progress.invalid_reports == 0:
            LOGGER.debug(
                "Ignored a request to the call-progress webhook: %s "
                "(further ones are only counted, in diagnostics)",
                err.reason,
            )
        progress.invalid_reports += 1
        return web.Response(status=HTTPStatus.BAD_REQUEST)
    if not progress.async_receive(report):
        return web.Response(status=HTTPStatus.TOO_MANY_REQUESTS)
    if report.dropped:
        if progress.dropped_values == 0:
            LOGGER.debug(
                "Dropped %d malformed value(s) from a call-progress request "
                "(further ones are only counted, in diagnostics)",
                report.dropped,
            )
        progress.dropped_values += report.dropped
    return web.Response(status=HTTPStatus.OK)


def _refused(progress: InfocallerProgress, status: HTTPStatus) -> web.Response:
    """Count a request that is not a report (429 once over the limit)."""
    if not progress.limiter.allow():
        return web.Response(status=HTTPStatus.TOO_MANY_REQUESTS)
    progress.invalid_reports += 1
    return web.Response(status=status)
