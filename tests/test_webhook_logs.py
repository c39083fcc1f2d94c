"""The webhook id in no log line (issue 19, item 12).

Home Assistant writes a webhook's id, or the path that holds it, from
several loggers: the webhook component ("Received message for unregistered
webhook <id>", INFO, for every request while the line is not loaded), the
HTTP security filter (the raw path of a refused query, WARNING), aiohttp's
server (a malformed request line, quoted in an ERROR) and access log. The
integration hides the ids of all its entries from ``async_setup`` on: while
a line is loaded, unloaded, reloading, disabled or failed, and a new id from
the moment the options flow shows its URL. Before ``async_setup`` Home
Assistant logs the id, and nothing of ours can stop it: that is asserted
too, exactly.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from typing import Any
from unittest.mock import MagicMock
from urllib.parse import quote, unquote

from aiohttp.http_exceptions import InvalidURLError
from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntryChange,
    ConfigEntryDisabler,
    ConfigEntryState,
)
from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from yarl import URL

from custom_components.infocaller.const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    DOMAIN,
)
from custom_components.infocaller.webhook import (
    LOGGERS_WITH_WEBHOOK_IDS,
    MAX_DECODINGS,
    MAX_EXCEPTIONS,
    REDACTED,
    HideWebhookIds,
    webhook_url,
)

from .conftest import ENDPOINT, PASSWORD

LOADED_ID = "a1b2c3d4e5f60718" * 4
DISABLED_ID = "d15ab1edd15ab1ed" * 4
FAILED_ID = "fa11edfa11edfa11" * 4
#: Queries Home Assistant's security filter refuses, logging the raw path.
HOSTILE = (
    "event=answered&x=%0d%0a",
    "event=answered&x=%09",
    "event=answered&x=%3Cscript%3Ealert(1)%3C/script%3E",
    "event=answered&x=../../etc/passwd",
    "event=answered&x=<script>",
)


def _entry(line: str, webhook_id: str, **kwargs: Any) -> MockConfigEntry:
    data = {CONF_IDINFOCALLER: line, "password": PASSWORD, CONF_ENDPOINT: ENDPOINT}
    if kwargs.pop("no_password", False):
        del data["password"]  # its set-up fails
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Infocaller {line}",
        unique_id=line,
        data=data,
        options={"call_progress": True, "webhook_id": webhook_id},
        **kwargs,
    )


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged: the formatted log, each message, each traceback."""
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.extend(
            str(value) for value in vars(record).values() if isinstance(value, str)
        )
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


async def _send(client: Any, webhook_id: str) -> list[int]:
    """A report (GET and POST), a PUT, and each hostile query; the statuses."""
    path = f"/api/webhook/{webhook_id}"
    statuses = []
    for method in ("GET", "POST", "PUT"):
        response = await client.request(method, path, params={"event": "answered"})
        statuses.append(response.status)
    for query in HOSTILE:
        response = await client.get(URL(f"{path}?{query}", encoded=True))
        statuses.append(response.status)
    return statuses


async def test_home_assistant_logs_the_id_before_the_integration_is_set_up(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    caplog: pytest.LogCaptureFixture,
    mock_infocaller: MagicMock,
) -> None:
    """Before ``async_setup`` the id is Home Assistant's to log; from it, hidden.

    Exactly two lines name it while the webhook component is up and the
    integration is not: the webhook component's INFO line for the report,
    and the security filter's WARNING line for the refused query.
    """
    caplog.set_level(logging.INFO)
    assert await async_setup_component(hass, "webhook", {})
    # (Views are registered before the test client freezes the router.)
    assert await async_setup_component(hass, "repairs", {})
    entry = _entry("34910000000", LOADED_ID)
    entry.add_to_hass(hass)
    client = await hass_client_no_auth()
    path = f"/api/webhook/{LOADED_ID}"
    assert (await client.get(path, params={"event": "answered"})).status == 200
    assert (await client.get(URL(f"{path}?{HOSTILE[0]}", encoded=True))).status == 400
    # (aiohttp's access log too, which Home Assistant sets to WARNING.)
    assert [
        (record.name, record.levelno, record.getMessage())
        for record in caplog.records
        if LOADED_ID in record.getMessage() and record.name != "aiohttp.access"
    ] == [
        (
            "homeassistant.components.webhook",
            logging.INFO,
            f"Received message for unregistered webhook {LOADED_ID} from 127.0.0.1",
        ),
        (
            "homeassistant.components.http.security_filter",
            logging.WARNING,
            f"Filtered a request with unsafe byte query string: {path}?{HOSTILE[0]}",
        ),
    ]

    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(entry.entry_id)
    caplog.clear()
    assert (await client.get(path, params={"event": "answered"})).status == 200
    assert (await client.get(URL(f"{path}?{HOSTILE[0]}", encoded=True))).status == 400
    assert LOADED_ID not in _logged(caplog)
    assert f"unregistered webhook {REDACTED} from" in caplog.text
    assert f"unsafe byte query string: /api/webhook/{REDACTED}?" in caplog.text


async def test_no_log_line_holds_a_webhook_id(
    hass: HomeAssistant,
    hass_client_no_auth: Any,
    caplog: pytest.LogCaptureFixture,
    mock_infocaller: MagicMock,
) -> None:
    """Loaded, failed, disabled, unloaded, reloading, re-enabled, a new URL.

    Every request names a line's id; the whole log, at DEBUG, holds none,
    and holds each of Home Assistant's lines that would have shown it.
    """
    caplog.set_level(logging.DEBUG)
    await hass.config.async_update(external_url="https://home.example.org")
    loaded = _entry("34910000000", LOADED_ID)
    disabled = _entry("34910000001", DISABLED_ID, disabled_by=ConfigEntryDisabler.USER)
    failed = _entry("34910000002", FAILED_ID, no_password=True)
    for entry in (loaded, disabled, failed):
        entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert loaded.state is ConfigEntryState.LOADED
    assert disabled.state is ConfigEntryState.NOT_LOADED
    assert failed.state is ConfigEntryState.SETUP_ERROR
    client = await hass_client_no_auth()
    ids = [LOADED_ID, DISABLED_ID, FAILED_ID]

    # Loaded: our 200 for a report; 405 for PUT (logged).
    assert await _send(client, LOADED_ID) == [200, 200, 405] + [400] * len(HOSTILE)
    for webhook_id in (DISABLED_ID, FAILED_ID):  # not loaded: Home Assistant's 200
        assert await _send(client, webhook_id) == [200] * 3 + [400] * len(HOSTILE)
    # Unloaded (the first half of a reload), reloaded, disabled, enabled.
    assert await hass.config_entries.async_unload(loaded.entry_id)
    await _send(client, LOADED_ID)
    assert await hass.config_entries.async_setup(loaded.entry_id)
    assert await hass.config_entries.async_reload(loaded.entry_id)
    await _send(client, LOADED_ID)
    assert await hass.config_entries.async_set_disabled_by(
        loaded.entry_id, ConfigEntryDisabler.USER
    )
    await _send(client, LOADED_ID)
    assert await hass.config_entries.async_set_disabled_by(loaded.entry_id, None)
    await hass.async_block_till_done()
    assert loaded.state is ConfigEntryState.LOADED

    # New URLs: Infocaller may call the new id before the flow saves it.
    result = await hass.config_entries.options.async_init(loaded.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "call_progress"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"call_progress": True, "new_urls": True}
    )
    assert result["step_id"] == "call_progress_urls"
    new_id = str(result["description_placeholders"]["answered_url"])
    new_id = new_id.split("/api/webhook/")[1].split("?", maxsplit=1)[0]
    ids.append(new_id)
    await _send(client, new_id)
    await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert loaded.options["webhook_id"] == new_id
    await _send(client, new_id)
    await _send(client, LOADED_ID)  # the old URL, still called

    logged = _logged(caplog)
    for webhook_id in ids:
        assert webhook_id not in logged.lower()
    # Each of Home Assistant's lines that holds an id was written, hidden.
    for line in (
        f"Received message for unregistered webhook {REDACTED} from 127.0.0.1",
        f"Webhook {REDACTED} only supports ",
        f"Handling webhook GET payload for {REDACTED}",
        f"Filtered a request with unsafe byte query string: /api/webhook/{REDACTED}",
        f"potential harmful query string: /api/webhook/{REDACTED}?",
        f"Serving /api/webhook/{REDACTED} to 127.0.0.1",
    ):
        assert line in caplog.text, line


def _record(
    name: str, msg: str, *args: Any, exc: BaseException | None = None, **extra: Any
) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_filter_finds_an_id_anywhere() -> None:
    """Message, arguments, exception text, extras, letter case, percent-encoding."""
    hide = HideWebhookIds()
    plain = _record("x", "webhook %s", LOADED_ID)
    assert hide.filter(plain)  # no id known yet: untouched
    assert plain.args == (LOADED_ID,)
    hide.add(LOADED_ID, None, DISABLED_ID)
    hide.add(LOADED_ID)
    assert hide.ids == {LOADED_ID, DISABLED_ID}

    unrelated = _record("x", "Serving %s", "/api/states")
    assert hide.filter(unrelated)
    assert unrelated.args == ("/api/states",)  # a record without an id is kept

    try:
        raise InvalidURLError(
            f"Invalid char in url query:\n\n  b'GET /api/webhook/{LOADED_ID}?a=\\x01'"
        )
    except InvalidURLError as err:
        malformed = _record(
            "aiohttp.server", "Error handling request from %s", "1.2.3.4", exc=err
        )
    encoded = "".join(f"%{ord(char):02x}" for char in DISABLED_ID[:8])
    records = [
        _record("x", "webhook %s from %s", LOADED_ID, "1.2.3.4"),
        _record("x", "path: /api/webhook/%s", DISABLED_ID.upper()),
        _record("x", "raw: /api/webhook/%s%s?a=%%0d%%0a", encoded, DISABLED_ID[8:]),
        _record("x", "twice: %s", encoded.replace("%", "%25") + DISABLED_ID[8:]),
        _record("x", "request %(path)s", {"path": f"/api/webhook/{LOADED_ID}"}),
        _record("aiohttp.access", "GET", first_request_line=f"GET /{LOADED_ID}"),
        malformed,
    ]
    for record in records:
        assert hide.filter(record)
        text = record.getMessage() + str(record.exc_text) + str(vars(record))
        assert LOADED_ID not in text.lower()
        assert DISABLED_ID not in text.lower()
        assert REDACTED in text
    assert records[0].getMessage() == f"webhook {REDACTED} from 1.2.3.4"
    # Decoded to find the id; the decoded CR/LF cannot forge a log line.
    assert records[2].getMessage() == f"raw: /api/webhook/{REDACTED}?a=??"
    assert records[3].getMessage() == f"twice: {REDACTED}"
    no_id = _record("x", "100%% sure: %s", "%zz%41", exc=ValueError("no id"))
    assert hide.filter(no_id)
    assert no_id.getMessage() == "100% sure: %zz%41"
    assert no_id.exc_info is not None  # an exception without an id is kept
    assert malformed.exc_info is None
    assert f"/api/webhook/{REDACTED}?a=" in str(malformed.exc_text)
    assert malformed.getMessage() == "Error handling request from 1.2.3.4"
    assert "Traceback" in logging.Formatter().format(malformed)
    assert sys.exc_info() == (None, None, None)


async def test_filter_lives_from_setup_until_close(
    hass: HomeAssistant, mock_infocaller: MagicMock
) -> None:
    """On every logger named, from ``async_setup`` until Home Assistant closes."""
    _entry("34910000000", LOADED_ID).add_to_hass(hass)

    def ours() -> list[list[logging.Filter]]:
        return [
            [
                f
                for f in logging.getLogger(name).filters
                if isinstance(f, HideWebhookIds)
            ]
            for name in LOGGERS_WITH_WEBHOOK_IDS
        ]

    assert ours() == [[]] * len(LOGGERS_WITH_WEBHOOK_IDS)
    assert await async_setup_component(hass, DOMAIN, {})
    (hide,) = ours()[0]
    assert ours() == [[hide]] * len(LOGGERS_WITH_WEBHOOK_IDS)
    assert hide.ids == {LOADED_ID}
    # An entry added later is hidden at once, before its set-up.
    await hass.config_entries.async_add(
        _entry("34910000001", DISABLED_ID, disabled_by=ConfigEntryDisabler.USER)
    )
    assert hide.ids == {LOADED_ID, DISABLED_ID}
    # Another integration's entry changes nothing.
    other = MockConfigEntry(domain="other", options={"webhook_id": FAILED_ID})
    async_dispatcher_send(
        hass, SIGNAL_CONFIG_ENTRY_CHANGED, ConfigEntryChange.ADDED, other
    )
    assert hide.ids == {LOADED_ID, DISABLED_ID}
    hass.bus.async_fire(EVENT_HOMEASSISTANT_CLOSE)
    await hass.async_block_till_done()
    assert ours() == [[]] * len(LOGGERS_WITH_WEBHOOK_IDS)
    # A URL made after Home Assistant closed hides nothing (and fails not).
    assert webhook_url(hass, {"webhook_id": FAILED_ID}) is None
    assert hide.ids == {LOADED_ID, DISABLED_ID}


def _recursive_unquote(value: str) -> str:
    """Home Assistant's security filter's decoding (it overflows the stack)."""
    if (unquoted := unquote(value)) != value:
        unquoted = _recursive_unquote(unquoted)
    return unquoted


def _timed(hide: HideWebhookIds, make: Any) -> float:
    """The filter's best time of five, in seconds, on fresh records."""
    best = float("inf")
    for _ in range(5):
        record = make()
        start = time.perf_counter()
        assert hide.filter(record)
        best = min(best, time.perf_counter() - start)
    return best


def test_filter_reads_exception_texts_not_tracebacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 1,000-frame RecursionError: the texts are read, the frames never formatted.

    Anyone can make Home Assistant's security filter overflow (a query
    nested ~1,200 times in ``%25``); aiohttp logs the error with its
    traceback. An id in an exception's text, its cause's, its context's or
    a group member's is still hidden.
    """
    hide = HideWebhookIds()
    hide.add(LOADED_ID)
    try:
        _recursive_unquote("/x?q=<script>%" + "25" * 1200)
    except RecursionError as err:
        overflow = err
    assert len(traceback.extract_tb(overflow.__traceback__)) > 900

    def formatted(*args: Any) -> str:
        raise AssertionError("the traceback was formatted")

    monkeypatch.setattr(logging.Formatter, "formatException", formatted)
    spent = _timed(
        hide, lambda: _record("aiohttp.server", "Error handling %s", "1", exc=overflow)
    )
    assert spent < 0.01, spent  # 70-210 ms when the whole traceback was formatted
    kept = _record("aiohttp.server", "Error handling %s", "1", exc=overflow)
    assert hide.filter(kept)
    assert kept.exc_info is not None
    assert kept.exc_info[1] is overflow  # no id: the exception is kept

    def chained(make: Any) -> BaseException:
        try:
            try:
                raise ValueError(f"GET /api/webhook/{LOADED_ID.upper()}")
            except ValueError as err:
                make(err)
        except BaseException as outer:  # noqa: BLE001
            return outer
        raise AssertionError

    def cause(err: BaseException) -> None:
        raise RuntimeError("could not read the request") from err

    def context(err: BaseException) -> None:
        raise RuntimeError("could not read the request")

    def group(err: BaseException) -> None:
        raise ExceptionGroup("requests", [KeyError("a"), err])

    for make in (cause, context, group):
        exc = chained(make)
        record = _record("aiohttp.server", "Error handling request", exc=exc)
        assert hide.filter(record)
        assert record.exc_info is None
        assert LOADED_ID not in str(record.exc_text).lower()
        assert f"ValueError: GET /api/webhook/{REDACTED}" in str(record.exc_text)
        assert str(record.exc_text).startswith("Traceback (most recent call last):")

    # A chain longer than is read: its end is not checked, so it is hidden.
    deep: BaseException = ValueError(f"id {LOADED_ID}")
    for _ in range(MAX_EXCEPTIONS):
        outer = RuntimeError("again")
        outer.__cause__ = deep
        deep = outer
    record = _record("aiohttp.server", "Error handling request", exc=deep)
    assert hide.filter(record)
    assert record.exc_info is None
    assert record.exc_text is not None
    assert LOADED_ID not in record.exc_text
    assert record.exc_text.count("RuntimeError: again") == MAX_EXCEPTIONS


def test_filter_bounds_nested_percent_encoding() -> None:
    """A query nested 4,000 times in ``%25`` is hidden whole, not decoded 4,000 times.

    Any request can make Home Assistant's security filter log it; decoding
    it until it stops changing took the loop ~100 ms per record.
    """
    hide = HideWebhookIds()
    hide.add(LOADED_ID)
    nested = "/x?q=<script>%" + "25" * 4080
    spent = _timed(hide, lambda: _record("x", "Filtered: %s", nested))
    record = _record("x", "Filtered: %s", nested)
    assert hide.filter(record)
    assert record.getMessage() == f"Filtered: /x?q=<script>{REDACTED}"
    assert spent < 0.01, spent
    # As deep as is decoded: read, and hidden only if it is an id; deeper
    # and long enough to hold one: hidden. Decoded text keeps no control
    # character, the rest of the message keeps its own.
    other = "0" * 64
    for depth, text, shown in (
        (MAX_DECODINGS, LOADED_ID, REDACTED),
        (MAX_DECODINGS, other, None),
        (MAX_DECODINGS + 1, other, REDACTED),
        (2, other + "\n", None),
    ):
        encoded = "".join(f"%{ord(char):02X}" for char in text)
        for _ in range(depth - 1):
            encoded = quote(encoded, safe="")
        record = _record("x", "path:\n/api/webhook/%s", encoded)
        assert hide.filter(record)
        assert record.getMessage() == f"path:\n/api/webhook/{shown or encoded}"


def test_filter_hides_a_plain_and_an_encoded_copy_in_one_line() -> None:
    """Replacing the plain copy does not end the search: the encoded one goes too."""
    hide = HideWebhookIds()
    hide.add(LOADED_ID)
    encoded = "".join(f"%{ord(char):02X}" for char in LOADED_ID)
    record = _record(
        "homeassistant.components.http.security_filter",
        "Filtered a potential harmful request to: %s",
        f"/api/webhook/{LOADED_ID}?x=<script>&back={encoded}",
    )
    assert hide.filter(record)
    assert record.getMessage() == (
        "Filtered a potential harmful request to: "
        f"/api/webhook/{REDACTED}?x=<script>&back={REDACTED}"
    )


def test_filter_never_raises_for_a_bad_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A format and arguments that do not match: the handler's problem, as without us.

    Logging's own error report prints the format and the arguments: the id
    is hidden there too.
    """
    hide = HideWebhookIds()
    hide.add(LOADED_ID)
    record = _record("x", "webhook %s from %s", LOADED_ID)
    assert hide.filter(record)
    assert record.msg == "webhook %s from %s"
    assert record.args == (REDACTED,)
    log = logging.getLogger("tests.infocaller.bad_record")
    log.propagate = False
    handler = logging.StreamHandler(sys.stderr)
    log.addHandler(handler)
    log.addFilter(hide)
    try:
        log.warning("webhook %s from %s", LOADED_ID)  # noqa: PLE1206 - no exception here
    finally:
        log.removeFilter(hide)
        log.removeHandler(handler)
    err = capsys.readouterr().err
    assert "--- Logging error ---" in err
    assert f"Arguments: ('{REDACTED}',)" in err
    assert LOADED_ID not in err
