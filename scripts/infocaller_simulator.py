#!/usr/bin/env python3
"""A local Infocaller: the vendor's HTTPS call-issuing API, on loopback.

It implements ``../shared/infocaller-api`` as the vendor describes it: one
form field (``apiCALLjson`` or ``apiCALLxml``), an answer in the same format,
identification and signature checks against configured lines, field checks
with the documented ``Resultado`` codes, line states, and an ``idcall`` on
acceptance. It places no call. It keeps every request it received, and it can
be told to misbehave (slow answer, HTTP 500, HTML page, empty or truncated
body, connection reset) so that the integration's error handling can be seen.
Misbehaviours: ``slow``, ``http_500``, ``html``, ``empty``, ``truncated``,
``reset`` and ``redirect``.

Run it on its own:

    python3 scripts/infocaller_simulator.py --port 8765

or import it (the tests do): ``Simulator`` and ``Simulator.start()``.

Control endpoints (JSON), for tests and for poking at it by hand:
- ``GET  /_simulator/requests``  the requests received (secrets included:
  this is a local test double, never a real account);
- ``POST /_simulator/configure`` ``{"misbehave": "http_500", "force_result":
  11, "line_state": "suspended", "delay": 2.5}`` (any subset; null clears);
- ``POST /_simulator/reset``     forget requests and misbehaviour.

Call progress (Infocaller's informative API and a script's API QUERY): after
accepting a call, the simulator plays the call and requests the event URLs
it was given, with the vendor's bracket variables replaced, like the
"API" section of a line in Infocaller's web app. Give them on the page
``GET /_simulator/`` (paste the URLs Home Assistant shows), or with
``configure``: ``{"event_urls": {"INICIO": url, "DESVIO_CORRECTO": url,
"DESVIO_FALLIDO": url, "FIN": url, "API_QUERY": url}, "event_method":
"GET" | "POST", "event_body": null | "json" | "xml", "call_id_matches":
true, "unanswered_fin": true, "time_scale": 1.0, "scripts": {"611222333":
{"answer_after": 2, "talk": 5}}}``. A script (by the number's last nine
digits) says what the person does: ``answer_after`` seconds (null: never
answers), ``talk`` seconds, ``busy``, ``forward`` ("ok" / "failed"),
``digits`` (keys pressed, sent by API QUERY) or ``ack``. Numbers without a
script follow their last digit: 0 never answers, 1 is busy, 2 answers and
presses 1, 3 answers and is forwarded, 4 answers and the forward fails;
any other answers after 2 s and hangs up 5 s later.
``GET /_simulator/events`` lists the progress requests sent.

Incoming calls (someone calls the line): the form "Play an incoming call"
on the page, or ``POST /_simulator/incoming`` ``{"caller": "+34 611 222
333", "digits": "1234" | null, "talk": 5}``. The line's rule group answers
at once: INICIO, then (with keys) the API QUERY report of the keys, then
FIN after ``talk`` seconds, with ``[_NumLlamante]`` = the caller,
``[_NumLlamado]`` and ``[_NumInfocaller]`` = the line, a fresh
``[_IdLlamada]`` (never an ``idcall`` the API gave) and ``[_UUID]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
import hashlib
import html
import itertools
import json
import re
from typing import Any
from urllib.parse import parse_qs, quote
import uuid
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

LOOPBACK = "127.0.0.1"
DEMO_LINE = "34910000000"
DEMO_PASSWORD = "demo1234"
DEMO_RULE_GROUPS = {
    "Aviso": "ok",
    "Alarma": "ok",
    "Click to Call": "ok",
    "Colgar": "end_of_call",
    "Vacio": "no_valid_rule",
}

TEXTS = {
    0: "Aceptada",
    -1: "Identificación no correcta",
    -2: "Identificación no indicada",
    -3: "Formato XML no correcto",
    -99: "No se recibe el parámetro XML",
    -100: "Error interno",
    1: "Firma no correcta",
    2: "Línea infocaller no válida",
    3: "Línea infocaller apagada",
    4: "Fecha/Hora no válida",
    5: "Teléfono no válido",
    6: "Valor Esperamax no válido",
    7: "Valor reintentos no válido",
    8: "Grupo de reglas no existe o no es válido",
    9: "Regla de fin de llamada",
    10: "Línea suspendida",
    11: "Saldo insuficiente",
    12: "Límite de crédito excedido",
    13: "Ninguna regla válida en grupo de reglas",
    14: (
        "Excedido número máximo de emisión de llamadas. "
        "Contactar con Atención al Cliente."
    ),
}

#: Line states and the code a request on such a line gets.
LINE_STATES = {
    "active": 0,
    "invalid": 2,
    "switched_off": 3,
    "suspended": 10,
    "no_balance": 11,
    "credit_limit": 12,
    "quota_exceeded": 14,
}
MISBEHAVIOURS = ("slow", "http_500", "html", "empty", "truncated", "reset", "redirect")
#: The events a line's "API" section has a URL for, plus a script's API QUERY.
EVENTS = ("INICIO", "DESVIO_CORRECTO", "DESVIO_FALLIDO", "FIN", "API_QUERY")
FORWARD_TARGET = "34911888920"

_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
#: A caller's number as Infocaller reports it (what the form accepts, once
#: spaces, dashes, dots and brackets are gone).
_CALLER = re.compile(r"^\+?[0-9]{3,20}$")
_KEYS = re.compile(r"^[0-9*#]{1,32}$")
#: The longest talk time an incoming call may be given, in seconds.
MAX_TALK = 3600.0
#: Incoming calls' [_IdLlamada]: numeric, from here up, so never an issued
#: idcall (``SIM...``) nor an outbound call's own id (``900000 + n``).
INCOMING_IDS_FROM = 800_000_000
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


@dataclass
class Line:
    """One Infocaller line the simulator knows."""

    idinfocaller: str
    password: str
    state: str = "active"
    rule_groups: dict[str, str] = field(default_factory=lambda: dict(DEMO_RULE_GROUPS))
    time_zone: str = "Europe/Madrid"


@dataclass
class CallScript:
    """What the called person does (times in seconds)."""

    answer_after: float | None = 2.0
    talk: float = 5.0
    busy: bool = False
    forward: str | None = None
    digits: str | None = None
    ack: bool = False
    #: How long an unanswered call rings before Infocaller gives up.
    ring: float = 3.0


#: What a number without a script does, by its last digit.
DEMO_SCRIPTS = {
    "0": CallScript(answer_after=None),
    "1": CallScript(busy=True),
    "2": CallScript(digits="1"),
    "3": CallScript(forward="ok"),
    "4": CallScript(forward="failed"),
}


@dataclass
class SentEvent:
    """A progress request the simulator sent to a configured URL."""

    event: str
    method: str
    url: str
    status: int | None
    error: str | None = None


@dataclass
class ReceivedRequest:
    """What arrived, as parsed, and what was answered."""

    form_field: str | None
    raw: str
    fields: dict[str, Any]
    result: int | None
    idcall: str | None


class NoEventUrlsError(Exception):
    """An incoming call was asked for before any URL was pasted."""


class _BadRequestError(Exception):
    """Answer with this code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _from_xml(text: str) -> dict[str, Any]:
    root = ET.fromstring(text)
    if _local(root.tag) != "callRequest":
        raise _BadRequestError(-3)

    def convert(element: ET.Element) -> Any:
        children = list(element)
        if not children:
            return element.text or ""
        out: dict[str, Any] = {}
        for child in children:
            name = _local(child.tag)
            value = convert(child)
            if name == "CustVar":
                out.setdefault(name, []).append(value)
            else:
                out[name] = value
        return out

    return {"callRequest": convert(root)}


class Simulator:
    """The fake Infocaller server."""

    def __init__(self, lines: list[Line] | None = None) -> None:
        self.lines = {
            line.idinfocaller: line
            for line in lines or [Line(DEMO_LINE, DEMO_PASSWORD)]
        }
        self.requests: list[ReceivedRequest] = []
        self.misbehave: str | None = None
        self.force_result: int | None = None
        self.delay = 0.0
        self.redirects_followed = 0
        #: Connections seen (client address and port) and the most requests
        #: handled at once: what a burst really cost the server.
        self.peers: set[tuple[str, int]] = set()
        self.in_flight = 0
        self.peak_in_flight = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""
        # Call progress: the line's "API" section, and what was sent.
        self.event_urls: dict[str, str] = {}
        self.event_method = "GET"
        self.event_body: str | None = None
        self.call_id_matches = True
        self.unanswered_fin = True
        self.time_scale = 1.0
        self.scripts: dict[str, CallScript] = {}
        self.events: list[SentEvent] = []
        self._calls: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._incoming_ids = itertools.count(1)
        #: What the page's incoming-call form shows: the last call played.
        self.incoming_form = {"caller": "+34611222333", "digits": "", "talk": "5"}

    # -- configuration -------------------------------------------------

    def configure(self, settings: dict[str, Any]) -> None:
        """Apply a subset of misbehave / force_result / line_state / delay."""
        if "misbehave" in settings:
            value = settings["misbehave"]
            if value is not None and value not in MISBEHAVIOURS:
                raise ValueError(f"misbehave must be one of {MISBEHAVIOURS}")
            self.misbehave = value
        if "force_result" in settings:
            value = settings["force_result"]
            self.force_result = None if value is None else int(value)
        if "line_state" in settings:
            if settings["line_state"] not in LINE_STATES:
                raise ValueError(f"line_state must be one of {tuple(LINE_STATES)}")
            for line in self.lines.values():
                line.state = settings["line_state"]
        if "delay" in settings:
            self.delay = float(settings["delay"] or 0)
        if "event_urls" in settings:
            urls = settings["event_urls"] or {}
            if unknown := set(urls) - set(EVENTS):
                raise ValueError(f"event_urls: unknown events {sorted(unknown)}")
            self.event_urls = {k: str(v) for k, v in urls.items() if v}
        if "event_method" in settings:
            if settings["event_method"] not in ("GET", "POST"):
                raise ValueError("event_method must be GET or POST")
            self.event_method = settings["event_method"]
        if "event_body" in settings:
            if settings["event_body"] not in (None, "json", "xml"):
                raise ValueError("event_body must be null, json or xml")
            self.event_body = settings["event_body"]
        for flag in ("call_id_matches", "unanswered_fin"):
            if flag in settings:
                setattr(self, flag, bool(settings[flag]))
        if "time_scale" in settings:
            self.time_scale = float(settings["time_scale"] or 1.0)
        if "scripts" in settings:
            self.scripts = {
                _last_nine(phone): CallScript(**script)
                for phone, script in (settings["scripts"] or {}).items()
            }

    def reset(self) -> None:
        """Forget requests, connections and misbehaviour; lines back to active."""
        self.peers.clear()
        self.peak_in_flight = 0
        self.requests.clear()
        self.misbehave = None
        self.force_result = None
        self.delay = 0.0
        for line in self.lines.values():
            line.state = "active"
        self.events.clear()
        self.event_urls = {}
        self.event_method = "GET"
        self.event_body = None
        self.call_id_matches = True
        self.unanswered_fin = True
        self.time_scale = 1.0
        self.scripts = {}

    # -- the API ---------------------------------------------------------

    def _validate(self, document: dict[str, Any]) -> int:
        """Return the Resultado for a parsed request, in the vendor's order."""
        request = document.get("callRequest")
        if not isinstance(request, dict):
            return -3
        user = request.get("UserID")
        if not isinstance(user, dict) or not user.get("idinfocaller"):
            return -2
        line = self.lines.get(str(user.get("idinfocaller")).strip())
        if line is None:
            return -1
        expected = hashlib.md5(  # noqa: S324 - the vendor's protocol
            f"{line.idinfocaller}{line.password}".encode()
        ).hexdigest()
        if str(user.get("firma", "")).strip().lower() != expected:
            return 1
        if line.state in ("invalid", "switched_off"):
            return LINE_STATES[line.state]
        data = request.get("callData")
        if not isinstance(data, dict):
            return -3
        if (when := data.get("fechahora")) is not None:
            if not isinstance(when, str) or not _DATETIME.match(when):
                return 4
            try:
                moment = datetime.fromisoformat(when).replace(
                    tzinfo=ZoneInfo(line.time_zone)
                )
            except ValueError:
                return 4
            if moment < datetime.now(ZoneInfo(line.time_zone)):
                return 4
        if not _PHONE.match(str(data.get("numtelefono", ""))):
            return 5
        if not _in_range(data.get("EsperaMax"), 300):
            return 6
        if not _in_range(data.get("Reintentos"), 4):
            return 7
        kind = line.rule_groups.get(str(data.get("gruporeglas", "")))
        if kind is None:
            return 8
        if kind == "end_of_call":
            return 9
        if line.state != "active":
            return LINE_STATES[line.state]
        if kind == "no_valid_rule":
            return 13
        return 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            peer = request.transport.get_extra_info("peername")
            if peer:
                self.peers.add((str(peer[0]), int(peer[1])))
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            return await self._answer_request(request)
        finally:
            self.in_flight -= 1

    async def _answer_request(self, request: web.Request) -> web.StreamResponse:
        body = (await request.read()).decode("utf-8", errors="replace")
        form = {
            key: values[0]
            for key, values in parse_qs(body, keep_blank_values=True).items()
        }
        if "apiCALLxml" in form:
            form_field, fmt = "apiCALLxml", "xml"
        elif "apiCALLjson" in form:
            form_field, fmt = "apiCALLjson", "json"
        else:
            form_field, fmt = None, "xml"
        raw = form.get(form_field or "", "")
        fields: dict[str, Any] = {}
        if form_field is None:
            code = -99
        else:
            try:
                fields = json.loads(raw) if fmt == "json" else _from_xml(raw)
                if not isinstance(fields, dict):
                    raise _BadRequestError(-3)
                code = self._validate(fields)
            except _BadRequestError as err:
                code = err.code
            except (ValueError, ET.ParseError):
                code = -3
        if self.force_result is not None:
            code = self.force_result
        number = next(self._ids)
        idcall = f"SIM{number:08d}" if code == 0 else None
        self.requests.append(ReceivedRequest(form_field, raw, fields, code, idcall))
        if idcall is not None and self.event_urls:
            data = fields["callRequest"]["callData"]
            line = str(fields["callRequest"]["UserID"]["idinfocaller"]).strip()
            task = asyncio.create_task(
                self._play(
                    # Whether Infocaller's [_IdLlamada] is the idcall it
                    # answered is not documented: both can be simulated.
                    idcall if self.call_id_matches else str(900000 + number),
                    line,
                    str(data["numtelefono"]),
                )
            )
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)

        if self.delay or self.misbehave == "slow":
            await asyncio.sleep(self.delay or 60)
        if self.misbehave == "http_500":
            return web.Response(status=500, text="Internal Server Error")
        if self.misbehave == "html":
            return web.Response(
                text="<html><body><h1>Mantenimiento</h1></body></html>",
                content_type="text/html",
            )
        if self.misbehave == "redirect":
            raise web.HTTPFound("/_simulator/elsewhere")
        if self.misbehave == "empty":
            return web.Response(text="")
        if self.misbehave == "reset":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(text="")
        answer = _answer(fmt, code, idcall)
        if self.misbehave == "truncated":
            answer = answer[: len(answer) // 2]
        return web.Response(
            text=answer,
            content_type="application/json" if fmt == "json" else "text/xml",
        )

    # -- call progress ----------------------------------------------------

    def script_for(self, phone: str) -> CallScript:
        """Return what the person at ``phone`` does."""
        digits = _last_nine(phone)
        return self.scripts.get(digits) or DEMO_SCRIPTS.get(digits[-1:], CallScript())

    async def _play(self, call_id: str, line: str, phone: str) -> None:
        """Play one accepted call: request the event URLs as it goes."""
        script = self.script_for(phone)
        variables = {
            "_IdLlamada": call_id,
            "_UUID": str(uuid.uuid4()),
            "_NumLlamante": line,
            "_NumInfocaller": line,
            # The called number as Infocaller may write it: no "+".
            "_NumLlamado": phone.lstrip("+"),
        }

        async def pause(seconds: float) -> None:
            await asyncio.sleep(seconds * self.time_scale)

        if script.busy or script.answer_after is None:
            await pause(0.2 if script.busy else script.ring)
            if self.unanswered_fin:
                await self._send("FIN", variables)
            return
        await pause(script.answer_after)
        await self._send("INICIO", variables)
        if script.forward is not None:
            await pause(0.5)
            event = "DESVIO_CORRECTO" if script.forward == "ok" else "DESVIO_FALLIDO"
            await self._send(event, {**variables, "_NumDesvio": FORWARD_TARGET})
        if script.digits is not None or script.ack:
            await pause(0.5)
            await self._send("API_QUERY", variables, digits=script.digits)
        await pause(script.talk)
        await self._send("FIN", variables)

    async def _send(
        self, event: str, variables: dict[str, str], *, digits: str | None = None
    ) -> None:
        """Request one event URL, as Infocaller would."""
        template = self.event_urls.get(event)
        if not template:
            return
        url = template
        for name, value in variables.items():
            url = url.replace(f"[{name}]", quote(value))
        if digits is not None:
            # The user's own variable (any [NAME] left) gets the keys.
            url = re.sub(r"\[[A-Za-z][A-Za-z0-9_]*\]", quote(digits), url)
        body_fields = {"Evento": event, **variables}
        kwargs: dict[str, Any] = {}
        if self.event_method == "POST" and self.event_body == "json":
            kwargs["json"] = body_fields
        elif self.event_method == "POST" and self.event_body == "xml":
            root = ET.Element("Llamada")
            for name, value in body_fields.items():
                ET.SubElement(root, name.lstrip("_")).text = value
            kwargs["data"] = ET.tostring(root, encoding="unicode")
            kwargs["headers"] = {"Content-Type": "text/xml"}
        if self._session is None:
            self._session = aiohttp.ClientSession()
        sent = SentEvent(event=event, method=self.event_method, url=url, status=None)
        self.events.append(sent)
        try:
            async with self._session.request(
                self.event_method,
                url,
                timeout=aiohttp.ClientTimeout(total=10),
                **kwargs,
            ) as response:
                sent.status = response.status
        except (aiohttp.ClientError, TimeoutError) as err:
            sent.error = type(err).__name__

    def incoming_call(
        self,
        caller: str,
        *,
        digits: str | None = None,
        talk: float = 5.0,
        line: str | None = None,
    ) -> dict[str, str]:
        """Play a call someone makes to the line; return its call id and uuid.

        Raises ValueError for a caller, keys or talk time Infocaller would
        never report, NoEventUrlsError when no URL was pasted yet.
        """
        number = re.sub(r"[\s().-]", "", caller)
        if not _CALLER.match(number):
            raise ValueError("caller must be a phone number")
        keys = (digits or "").strip() or None
        if keys is not None and not _KEYS.match(keys):
            raise ValueError("digits must be keys of a keypad (0-9, * and #)")
        seconds = float(talk)
        if not 0 <= seconds <= MAX_TALK:
            raise ValueError(f"talk must be 0 to {MAX_TALK:g} seconds")
        if not self.event_urls:
            raise NoEventUrlsError("no event URLs: paste Home Assistant's URLs first")
        line_id = line or next(iter(self.lines))
        issued = {request.idcall for request in self.requests}
        call_id = str(INCOMING_IDS_FROM + next(self._incoming_ids))
        while call_id in issued:  # pragma: no cover - ids differ by construction
            call_id = str(INCOMING_IDS_FROM + next(self._incoming_ids))
        variables = {
            "_IdLlamada": call_id,
            "_UUID": str(uuid.uuid4()),
            "_NumLlamante": number,
            "_NumInfocaller": line_id,
            "_NumLlamado": line_id,
        }
        task = asyncio.create_task(self._play_incoming(variables, keys, seconds))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)
        return {"call_id": call_id, "uuid": variables["_UUID"]}

    async def _play_incoming(
        self, variables: dict[str, str], digits: str | None, talk: float
    ) -> None:
        """The line's rule group answers; the keys; the caller hangs up."""
        await self._send("INICIO", variables)
        if digits is not None:
            await asyncio.sleep(0.5 * self.time_scale)
            await self._send("API_QUERY", variables, digits=digits)
        await asyncio.sleep(talk * self.time_scale)
        await self._send("FIN", variables)

    # -- control ------------------------------------------------------------

    async def _requests(self, _request: web.Request) -> web.Response:
        return web.json_response([asdict(item) for item in self.requests])

    async def _configure(self, request: web.Request) -> web.Response:
        try:
            self.configure(await request.json())
        except (ValueError, TypeError) as err:
            return web.json_response({"error": str(err)}, status=400)
        return web.json_response({"ok": True})

    async def _elsewhere(self, _request: web.Request) -> web.Response:
        """Where the "redirect" misbehaviour points: a client must not follow."""
        self.redirects_followed += 1
        return web.Response(text=_answer("json", 0, "FOLLOWED"))

    async def _reset(self, _request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def _events(self, _request: web.Request) -> web.Response:
        return web.json_response([asdict(item) for item in self.events])

    async def _incoming(self, request: web.Request) -> web.Response:
        """Play an incoming call: JSON (API, also as curl -d sends it) or the form."""
        body = (await request.read()).decode("utf-8", errors="replace")
        from_form = request.content_type != "application/json" and not (
            body.lstrip().startswith("{")
        )
        try:
            if from_form:
                form = {
                    key: values[0]
                    for key, values in parse_qs(body, keep_blank_values=True).items()
                }
                fields: Any = {name: value for name, value in form.items() if value}
                self.incoming_form.update(
                    {name: form.get(name, "")[:64] for name in self.incoming_form}
                )
            else:
                fields = json.loads(body)
            if not isinstance(fields, dict) or not fields.get("caller"):
                raise ValueError("caller is required")
            played = self.incoming_call(
                str(fields["caller"]),
                digits=None if fields.get("digits") is None else str(fields["digits"]),
                talk=float(fields.get("talk", 5.0)),
            )
        except NoEventUrlsError as err:
            if from_form:
                return self._page(f"<p><strong>{html.escape(str(err))}</strong></p>")
            return web.json_response({"error": str(err)}, status=409)
        except (ValueError, TypeError) as err:
            if from_form:
                return self._page(f"<p><strong>{html.escape(str(err))}</strong></p>")
            return web.json_response({"error": str(err)}, status=400)
        if from_form:
            return self._page(
                "<p><strong>Playing an incoming call, call id "
                f"{html.escape(played['call_id'])}.</strong></p>"
            )
        return web.json_response(played)

    async def _settings_page(self, request: web.Request) -> web.Response:
        """The "API" section of the line, as Infocaller's web app has it."""
        saved = ""
        if request.method == "POST":
            form = await request.post()
            urls = {event: str(form.get(event, "")).strip() for event in EVENTS}
            # Or everything Home Assistant shows, pasted at once.
            urls.update(urls_by_event(str(form.get("all", ""))))
            self.configure({"event_urls": urls})
            saved = "<p><strong>Saved.</strong></p>"
        return self._page(saved)

    def _page(self, message: str) -> web.Response:
        """The page: the line's API settings, and a form for incoming calls."""
        form = self.incoming_form
        rows = "".join(
            f'<p><label>{event}<br><input name="{event}" size="120" '
            f'value="{html.escape(self.event_urls.get(event, ""))}"></label></p>'
            for event in EVENTS
        )
        return web.Response(
            content_type="text/html",
            text=(
                "<!doctype html><title>Infocaller simulator: API</title>"
                "<h1>Infocaller simulator: line API settings</h1>"
                "<p>Paste here the URLs Home Assistant shows in the line's "
                "options (Call progress). Numbers ending in 0 never answer, "
                "1 are busy, 2 answer and press 1, 3 are forwarded, 4 fail "
                "to forward; the rest answer after 2 s and talk 5 s.</p>"
                f'{message}<form method="post" action="/_simulator/">'
                "<p><label>Paste everything Home "
                "Assistant shows (each URL goes to its event)<br>"
                '<textarea name="all" rows="6" cols="120"></textarea></label></p>'
                f"{rows}<button>Save</button></form>"
                "<h2>Play an incoming call</h2>"
                f"<p>Someone calls the line {html.escape(next(iter(self.lines)))}: "
                "the line answers (INICIO), the keys pressed are reported (API "
                "QUERY), and FIN comes after the talk time.</p>"
                '<form method="post" action="/_simulator/incoming">'
                '<p><label>Caller number<br><input name="caller" required '
                f'value="{html.escape(form["caller"])}"></label></p>'
                "<p><label>Keys pressed (empty: none)<br>"
                f'<input name="digits" value="{html.escape(form["digits"])}" '
                'pattern="[0-9*#]{1,32}"></label></p>'
                "<p><label>Talk time (seconds)<br>"
                f'<input name="talk" type="number" min="0" max="{MAX_TALK:g}" '
                f'step="any" value="{html.escape(form["talk"])}"></label></p>'
                "<button>Call the line</button></form>"
            ),
        )

    def app(self) -> web.Application:
        """Return the aiohttp application."""
        app = web.Application()
        app.router.add_post("/", self._handle)
        app.router.add_get("/_simulator/requests", self._requests)
        app.router.add_post("/_simulator/configure", self._configure)
        app.router.add_post("/_simulator/reset", self._reset)
        app.router.add_get("/_simulator/events", self._events)
        app.router.add_post("/_simulator/incoming", self._incoming)
        app.router.add_get("/_simulator/", self._settings_page)
        app.router.add_post("/_simulator/", self._settings_page)
        app.router.add_route("*", "/_simulator/elsewhere", self._elsewhere)
        return app

    async def start(self, host: str = LOOPBACK, port: int = 0) -> str:
        """Listen on loopback; return the base URL."""
        if host not in (LOOPBACK, "localhost", "::1"):
            raise ValueError("The simulator listens on loopback only")
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # noqa: SLF001
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        """Stop listening, and stop playing calls."""
        for task in list(self._calls):
            task.cancel()
        if self._calls:
            await asyncio.gather(*self._calls, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


#: Home Assistant's event names (the URLs' ``event=``) and the vendor's.
HA_EVENTS = {
    "answered": "INICIO",
    "forward_answered": "DESVIO_CORRECTO",
    "forward_failed": "DESVIO_FALLIDO",
    "ended": "FIN",
    "query": "API_QUERY",
}


def urls_by_event(text: str) -> dict[str, str]:
    """Find the URLs in pasted text and file each under its vendor event."""
    found = {}
    for found_url in re.findall(r"https?://[^\s`'\"<>]+", text):
        # Copied out of a sentence: the full stop (or comma, bracket...)
        # that ends it is not part of the URL; "]" ends our variables.
        url = found_url.rstrip(".,;:!?)}")
        match = re.search(r"[?&]event=([a-z_]+)", url)
        if match and match.group(1) in HA_EVENTS:
            found[HA_EVENTS[match.group(1)]] = url
    return found


def _last_nine(phone: str) -> str:
    """The last nine digits of a number: how scripts are keyed."""
    return "".join(c for c in phone if c.isdigit())[-9:]


def _in_range(value: Any, maximum: int) -> bool:
    if value is None:
        return True
    try:
        number = int(str(value).strip())
    except ValueError:
        return False
    return 0 <= number <= maximum


def _answer(fmt: str, code: int, idcall: str | None) -> str:
    text = TEXTS.get(code, "Desconocido")
    if fmt == "json":
        return json.dumps(
            {
                "callRequest": {
                    "idcall": idcall or "",
                    "Resultado": str(code),
                    "ResultadoTexto": text,
                }
            },
            ensure_ascii=False,
        )
    root = ET.Element("callRequest")
    ET.SubElement(root, "idcall").text = idcall or ""
    ET.SubElement(root, "Resultado").text = str(code)
    ET.SubElement(root, "ResultadoTexto").text = text
    return "<?xml version='1.0'?>" + ET.tostring(root, encoding="unicode")


async def _main(port: int) -> None:
    simulator = Simulator()
    url = await simulator.start(port=port)
    line = next(iter(simulator.lines.values()))
    print(f"Infocaller simulator listening on {url}", flush=True)
    print(f"  line (idinfocaller): {line.idinfocaller}", flush=True)
    print(f"  line password:       {line.password}", flush=True)
    print(f"  rule groups:         {', '.join(line.rule_groups)}", flush=True)
    print(f"  call progress URLs:  {url}/_simulator/", flush=True)
    print(
        f"  incoming calls:      {url}/_simulator/ (Play an incoming call)", flush=True
    )
    try:
        await asyncio.Event().wait()
    finally:
        await simulator.stop()


def main() -> None:
    """Run the simulator until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.port))


if __name__ == "__main__":
    main()
