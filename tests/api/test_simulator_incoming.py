"""The simulator plays incoming calls: someone calls the line.

It requests the URLs the user pasted (the ones Home Assistant shows, from
``progress_urls``) with the caller in ``[_NumLlamante]``, the line in
``[_NumLlamado]`` and ``[_NumInfocaller]``, a fresh ``[_IdLlamada]`` and a
``[_UUID]``: INICIO, the keys (API QUERY), FIN. What arrives is read with the
integration's own report reader.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import re
from typing import Any

import aiohttp
from aiohttp import web
from infocaller_simulator import DEMO_LINE, MAX_TALK, Simulator, urls_by_event
import pytest

from custom_components.infocaller.api import CallRequest, InfocallerClient, Stage
from custom_components.infocaller.api.protocol import progress_urls
from custom_components.infocaller.api.report import ProgressReport, parse_report

pytestmark = pytest.mark.usefixtures("socket_enabled")

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Webhook:
    """A stand-in for Home Assistant's webhook: records what arrives."""

    def __init__(self) -> None:
        """Nothing received yet."""
        self.reports: list[ProgressReport] = []
        self.arrived = asyncio.Condition()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        report = parse_report(
            dict(request.query), await request.read(), request.content_type
        )
        async with self.arrived:
            self.reports.append(report)
            self.arrived.notify_all()
        return web.Response(text="ok")

    async def wait_for(self, count: int) -> list[ProgressReport]:
        """Return the reports once ``count`` have arrived."""
        async with asyncio.timeout(10), self.arrived:
            await self.arrived.wait_for(lambda: len(self.reports) >= count)
        return self.reports

    async def start(self) -> None:
        """Listen on loopback."""
        app = web.Application()
        app.router.add_route("*", "/api/webhook/secret", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api/webhook/secret"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    """The fake webhook."""
    hook = Webhook()
    await hook.start()
    yield hook
    await hook.stop()


@pytest.fixture
async def simulator(webhook: Webhook) -> AsyncIterator[Simulator]:
    """A simulator with Home Assistant's URLs pasted, fast."""
    sim = Simulator()
    await sim.start()
    pasted = "\n".join(progress_urls(webhook.url).values())
    sim.configure({"event_urls": urls_by_event(pasted), "time_scale": 0.01})
    yield sim
    await sim.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A real aiohttp session."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def _incoming_call_reports(
    reports: list[ProgressReport], caller: str
) -> list[ProgressReport]:
    return [report for report in reports if report.caller == caller]


async def test_an_incoming_call_with_keys(
    simulator: Simulator, webhook: Webhook, session: aiohttp.ClientSession
) -> None:
    """INICIO, the keys by API QUERY, FIN: the caller, the line, fresh ids."""
    # An outbound call first: its idcall is never an incoming call's id.
    client = InfocallerClient(session, DEMO_LINE, "demo1234", endpoint=simulator.url)
    await client.issue_call(CallRequest(phone="+34611000005", rule_group="Aviso"))
    issued = {request.idcall for request in simulator.requests}
    async with session.post(
        f"{simulator.url}/_simulator/incoming",
        json={"caller": "+34 611 22 23 33", "digits": "4321#", "talk": 1},
    ) as response:
        assert response.status == 200
        played = await response.json()
    # The outbound call's INICIO and FIN, the incoming call's three reports.
    reports = _incoming_call_reports(await webhook.wait_for(5), "+34611222333")
    assert [report.stage for report in reports] == [
        Stage.ANSWERED,
        Stage.DIGITS,
        Stage.ENDED,
    ]
    assert [report.digits for report in reports] == [None, "4321#", None]
    for report in reports:
        assert report.called == DEMO_LINE
        assert report.line == DEMO_LINE
        assert report.call_id == played["call_id"]
        assert report.uuid == played["uuid"]
    assert played["call_id"] not in issued
    assert played["call_id"].isdigit()
    assert _UUID.match(played["uuid"])
    # The outbound call's reports have the line as the caller: never this.
    outbound = [r for r in webhook.reports if r.caller == DEMO_LINE]
    assert {r.call_id for r in outbound} <= issued


async def test_an_incoming_call_without_keys_and_fresh_ids(
    simulator: Simulator, webhook: Webhook
) -> None:
    """Without keys: INICIO then FIN; each call its own id and uuid."""
    first = simulator.incoming_call("611222333", talk=0)
    second = simulator.incoming_call("0034611222333", talk=0)
    reports = await webhook.wait_for(4)
    assert first["call_id"] != second["call_id"]
    assert first["uuid"] != second["uuid"]
    for played, caller in ((first, "611222333"), (second, "0034611222333")):
        mine = [r for r in reports if r.call_id == played["call_id"]]
        assert [r.stage for r in mine] == [Stage.ANSWERED, Stage.ENDED]
        assert {r.caller for r in mine} == {caller}
    assert [event.event for event in simulator.events] == [
        "INICIO",
        "INICIO",
        "FIN",
        "FIN",
    ]


async def test_the_talk_time_comes_between_answer_and_end(
    simulator: Simulator, webhook: Webhook
) -> None:
    """FIN comes after the talk time (at the simulator's time scale)."""
    simulator.configure({"time_scale": 0.1})
    loop = asyncio.get_running_loop()
    started = loop.time()
    simulator.incoming_call("+34611222333", talk=3)
    await webhook.wait_for(1)
    answered = loop.time() - started
    await webhook.wait_for(2)
    ended = loop.time() - started
    assert answered < 0.25
    assert 0.3 <= ended < 2


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({}, "caller is required"),
        ({"caller": "call me"}, "caller must be a phone number"),
        ({"caller": "12"}, "caller must be a phone number"),
        ({"caller": "611222333", "digits": "12a"}, "digits must be keys"),
        ({"caller": "611222333", "talk": -1}, "talk must be 0 to 3600"),
        ({"caller": "611222333", "talk": MAX_TALK + 1}, "talk must be 0 to 3600"),
        ({"caller": "611222333", "talk": "soon"}, "could not convert"),
    ],
)
async def test_the_api_refuses_what_infocaller_would_never_report(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    fields: dict[str, Any],
    error: str,
) -> None:
    """A 400 with the reason; nothing is sent."""
    async with session.post(
        f"{simulator.url}/_simulator/incoming", json=fields
    ) as response:
        assert response.status == 400
        assert error in (await response.json())["error"]
    await asyncio.sleep(0.05)
    assert simulator.events == []


async def test_no_incoming_call_before_the_urls_are_pasted(
    session: aiohttp.ClientSession,
) -> None:
    """Nowhere to report to: the API says so (409), the page too."""
    sim = Simulator()
    await sim.start()
    try:
        async with session.post(
            f"{sim.url}/_simulator/incoming", json={"caller": "611222333"}
        ) as response:
            assert response.status == 409
            assert (
                "paste Home Assistant's URLs first" in (await response.json())["error"]
            )
        async with session.post(
            f"{sim.url}/_simulator/incoming", data={"caller": "611222333"}
        ) as response:
            assert response.status == 200
            assert "paste Home Assistant&#x27;s URLs first" in await response.text()
    finally:
        await sim.stop()


def _form(page: str, action: str) -> str:
    match = re.search(
        rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', page
    )
    assert match, page
    return match.group(1)


async def test_the_page_has_a_form_that_plays_an_incoming_call(
    simulator: Simulator, webhook: Webhook, session: aiohttp.ClientSession
) -> None:
    """The page's form (caller, keys, talk time) plays the call, as the API does."""
    async with session.get(f"{simulator.url}/_simulator/") as response:
        page = await response.text()
    form = _form(page, "/_simulator/incoming")
    assert re.findall(r'<input name="(\w+)"', form) == ["caller", "digits", "talk"]
    assert "Play an incoming call" in page
    assert f"Someone calls the line {DEMO_LINE}" in page
    # The settings form is still there, and still saves the URLs.
    assert '<textarea name="all"' in _form(page, "/_simulator/")

    # What a browser sends: every field, the empty ones as "".
    async with session.post(
        f"{simulator.url}/_simulator/incoming",
        data={"caller": "+34 611-22-23-33", "digits": "", "talk": "0"},
    ) as response:
        assert response.status == 200
        answer = await response.text()
    reports = await webhook.wait_for(2)
    assert [(r.stage, r.caller) for r in reports] == [
        (Stage.ANSWERED, "+34611222333"),
        (Stage.ENDED, "+34611222333"),
    ]
    assert f"Playing an incoming call, call id {reports[0].call_id}." in answer
    # The answer is the page again, with both forms; the form keeps what
    # was typed (play it again with one click), escaped.
    form = _form(answer, "/_simulator/incoming")
    assert 'name="caller" required value="+34 611-22-23-33"' in form
    assert 'name="talk" type="number" min="0" max="3600" step="any" value="0"' in form

    async with session.post(
        f"{simulator.url}/_simulator/incoming",
        data={"caller": "611222333", "digits": "<b>", "talk": "1"},
    ) as response:
        answer = await response.text()
    assert "digits must be keys of a keypad" in answer
    assert 'name="digits" value="&lt;b&gt;"' in answer
    await asyncio.sleep(0.05)
    assert len(simulator.events) == 2  # nothing more was sent


async def test_json_sent_as_curl_sends_it(
    simulator: Simulator, webhook: Webhook, session: aiohttp.ClientSession
) -> None:
    """``curl -d '{...}'`` labels JSON as a form: it is still the API (JSON back)."""
    async with session.post(
        f"{simulator.url}/_simulator/incoming",
        data='{"caller": "+34611222333", "digits": "1234", "talk": 0}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert response.status == 200
        played = await response.json()
    reports = await webhook.wait_for(3)
    assert [(r.stage, r.digits) for r in reports] == [
        (Stage.ANSWERED, None),
        (Stage.DIGITS, "1234"),
        (Stage.ENDED, None),
    ]
    assert {r.call_id for r in reports} == {played["call_id"]}
    async with session.post(
        f"{simulator.url}/_simulator/incoming",
        data="{not json",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert response.status == 400
