"""The line's webhook: where Infocaller's call-progress requests arrive.

One webhook per line, registered while call progress is on (GET and POST,
reachable from the internet: Infocaller calls it). With Home Assistant
Cloud, a cloudhook forwards to it, so no port needs opening; otherwise the
external URL is used, and when neither exists the flow says so. Every byte
is untrusted: ``receiver.py`` answers each request. The webhook id is a
secret (anyone who has it can send reports): it is never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
import re
import traceback
from typing import Any
from urllib.parse import unquote

from aiohttp import hdrs, web
from homeassistant.components import webhook
from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
)
from homeassistant.const import CONF_WEBHOOK_ID, EVENT_HOMEASSISTANT_CLOSE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.util.hass_dict import HassKey

from .const import (
    CONF_CALL_PROGRESS,
    CONF_CLOUDHOOK_URL,
    DOMAIN,
    LOGGER,
)
from .progress import InfocallerProgress
from .receiver import async_handle_request

#: Every logger that can write a webhook id, or a request's path or request
#: line (which holds it), at any level. A filter on a logger sees only its
#: own records (not its children's), so each is named exactly:
#: - the webhook component: "Received message for unregistered webhook
#:   <id> from <ip>" (INFO) for every request while a line is not loaded,
#:   wrong-method and local-only warnings, "Error processing webhook <id>";
#: - HTTP's security filter: the raw path and query of a request it refuses
#:   (WARNING: a query with CR/LF/TAB, ``<script>``, ``../``, SQL words);
#: - HTTP's ban (the URL of a request refused for its authentication,
#:   WARNING), auth and views (the path, DEBUG);
#: - aiohttp's server: "Error handling request" (ERROR) with the parser's
#:   error, which quotes the raw request line, for a malformed request;
#:   aiohttp's access log: every request line (INFO, when enabled);
#: - this integration's own logger, in case.
LOGGERS_WITH_WEBHOOK_IDS = (
    "homeassistant.components.webhook",
    "homeassistant.components.http.security_filter",
    "homeassistant.components.http.ban",
    "homeassistant.components.http.auth",
    "homeassistant.helpers.http",
    "aiohttp.server",
    "aiohttp.access",
    LOGGER.name,
)
REDACTED = "**REDACTED**"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HIDE_KEY: HassKey[HideWebhookIds] = HassKey(f"{DOMAIN}_hide_webhook_ids")


#: At most this many percent-decodings of one run of text: real paths are
#: encoded once or twice; a run nested deeper (a hostile request) is hidden
#: whole rather than decoded, pass after pass, on the event loop.
MAX_DECODINGS = 8
#: At most this many exceptions of a record (its causes, contexts and
#: group members) are read, and this many of each one's frames written.
MAX_EXCEPTIONS = 16
MAX_FRAMES = 20


class _Hider:
    """The ids' patterns, built once per set of ids (replaced whole)."""

    def __init__(self, ids: frozenset[str]) -> None:
        self.ids = re.compile(
            "|".join(re.escape(webhook_id) for webhook_id in sorted(ids)),
            re.IGNORECASE,
        )
        # Any percent-encoding of an id, at any depth, is made of "%", hex
        # digits and the id's own characters: it lies in one run of them.
        chars = re.escape("".join(sorted({"%", *"0123456789abcdef", *"".join(ids)})))
        self.runs = re.compile(f"(?<![{chars}])[{chars}]*%[{chars}]*", re.IGNORECASE)
        self.shortest = min(map(len, ids))

    def _decode(self, run: str) -> str | None:
        """Return ``run`` decoded until it no longer changes (None: too deep)."""
        for _ in range(MAX_DECODINGS):
            if (decoded := unquote(run)) == run:
                return run
            run = decoded
        return None if unquote(run) != run else run

    def hide(self, text: str) -> str:
        """Return ``text`` with the ids replaced (decoded if that reveals one).

        Plain copies are replaced; then, if the text holds ``%``, each run
        that could be an encoded id is decoded (at most ``MAX_DECODINGS``
        times). If one holds an id, or is long enough to hold one and
        nested deeper, the runs are shown decoded (control characters as
        ``?``: a decoded line feed cannot forge a log line) and those ids
        and too-deep runs replaced.
        """
        hidden = self.ids.sub(REDACTED, text) if self.ids.search(text) else text
        if "%" not in hidden:
            return hidden
        pieces: list[str] = []
        reveal, end = False, 0
        for match in self.runs.finditer(hidden):
            run = match.group()
            decoded = self._decode(run)
            if decoded is None:
                decoded = REDACTED if len(run) >= self.shortest else run
                reveal = reveal or decoded is REDACTED
            elif decoded != run and self.ids.search(decoded):
                decoded, reveal = self.ids.sub(REDACTED, decoded), True
            pieces += (hidden[end : match.start()], _CONTROL.sub("?", decoded))
            end = match.end()
        if not reveal:
            return hidden
        return "".join(pieces) + hidden[end:]


def _exceptions(error: BaseException) -> tuple[list[BaseException], bool]:
    """Return an exception, its causes, contexts and group members (bounded).

    The second value says whether that is all of them.
    """
    found: list[BaseException] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo and len(found) < MAX_EXCEPTIONS:
        if (exc := todo.pop(0)) is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        found.append(exc)
        todo += (exc.__cause__, exc.__context__)
        if isinstance(exc, BaseExceptionGroup):
            todo += exc.exceptions[: MAX_EXCEPTIONS + 1]
    return found, all(exc is None or id(exc) in seen for exc in todo)


def _summary(exceptions: list[BaseException]) -> str:
    """Return a bounded traceback: each exception's text and last frames."""
    parts = []
    for exc in reversed(exceptions):  # the first cause first, as Python does
        frames = traceback.extract_tb(exc.__traceback__, limit=-MAX_FRAMES)
        parts.append(
            "Traceback (most recent call last):\n"
            + "".join(traceback.format_list(frames))
            + "".join(traceback.format_exception_only(type(exc), exc))
        )
    return "\nWhile handling or caused by the above:\n\n".join(parts).rstrip("\n")


class HideWebhookIds(logging.Filter):
    """Replace webhook ids in log records (they are secrets); drop nothing.

    An id is found in the message, in the text of the exception and of its
    causes, contexts and group members (aiohttp's parser errors quote the
    request line; the formatted traceback is never searched: its frames
    hold no id, and formatting a deep one is costly) and in any text
    attribute (aiohttp's access log passes the request line as an extra),
    in any letter case and percent-encoded (a path as sent). The work is
    bounded: see ``MAX_DECODINGS``, ``MAX_EXCEPTIONS`` and ``MAX_FRAMES``.
    """

    def __init__(self) -> None:
        """Hide nothing until an id is added."""
        super().__init__()
        self.ids: frozenset[str] = frozenset()
        self._hider: _Hider | None = None

    def add(self, *webhook_ids: str | None) -> None:
        """Hide these ids too (from now on, for as long as the filter is in use)."""
        ids = self.ids.union(filter(None, webhook_ids))
        if ids != self.ids:
            # Replaced whole: a record logged from another thread sees the
            # old set or the new one.
            self._hider = _Hider(ids)
            self.ids = ids

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a record that holds an id; never drop a record, never raise."""
        # Read once: another thread may add an id meanwhile.
        if (hider := self._hider) is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - the handler reports a bad record
            # Logging's error report prints the format and its arguments.
            if isinstance(record.msg, str):
                record.msg = hider.hide(record.msg)
            if isinstance(record.args, tuple):
                record.args = tuple(
                    hider.hide(arg) if isinstance(arg, str) else arg
                    for arg in record.args
                )
        else:
            if (hidden := hider.hide(message)) is not message:
                record.msg, record.args = hidden, None
        if record.exc_info and record.exc_info[1] is not None:
            exceptions, complete = _exceptions(record.exc_info[1])
            if not complete or any(
                hider.hide(text) is not text
                for exc in exceptions
                for text in traceback.format_exception_only(type(exc), exc)
            ):
                # Handlers that format the exception themselves (Home
                # Assistant's system log) get no exception, the log file
                # a bounded traceback, hidden.
                record.exc_info = None
                record.exc_text = hider.hide(_summary(exceptions))
        for name, value in vars(record).items():
            if (
                name != "msg"
                and isinstance(value, str)
                and (hidden := hider.hide(value)) is not value
            ):
                setattr(record, name, hidden)
        return True


@callback
def async_hide_webhook_ids(hass: HomeAssistant) -> None:
    """Hide every line's webhook id from the logs while the integration is loaded.

    Called from ``async_setup``, before any line is set up: the ids of all
    entries (disabled ones too, whose id Infocaller may still call) are
    hidden from then on, and those of entries added or changed later, until
    Home Assistant closes. An id stays hidden after its entry drops it:
    Infocaller may still call the old URL.
    """
    hide = hass.data[_HIDE_KEY] = HideWebhookIds()
    hide.add(
        *(
            entry.options.get(CONF_WEBHOOK_ID)
            for entry in hass.config_entries.async_entries(DOMAIN)
        )
    )
    for name in LOGGERS_WITH_WEBHOOK_IDS:
        logging.getLogger(name).addFilter(hide)
    LOGGER.debug("Webhook ids are hidden from the logs from now on")

    @callback
    def _entry_changed(change: ConfigEntryChange, entry: ConfigEntry) -> None:
        if entry.domain == DOMAIN:
            hide.add(entry.options.get(CONF_WEBHOOK_ID))

    unsubscribe = async_dispatcher_connect(
        hass, SIGNAL_CONFIG_ENTRY_CHANGED, _entry_changed
    )

    @callback
    def _closed(_: Event) -> None:
        unsubscribe()
        for name in LOGGERS_WITH_WEBHOOK_IDS:
            logging.getLogger(name).removeFilter(hide)
        hass.data.pop(_HIDE_KEY, None)

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, _closed)


@callback
def _hide_id(hass: HomeAssistant, webhook_id: str | None) -> None:
    """Hide an id from now on (a URL made for it may be called before it is saved)."""
    if (hide := hass.data.get(_HIDE_KEY)) is not None:
        hide.add(webhook_id)


@callback
def async_register_webhook(
    hass: HomeAssistant, title: str, webhook_id: str, progress: InfocallerProgress
) -> None:
    """Receive the line's progress requests (until ``async_unregister``)."""

    async def handle(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        return await async_handle_request(progress, request)

    _hide_id(hass, webhook_id)
    webhook.async_register(
        hass,
        DOMAIN,
        title,
        webhook_id,
        handle,
        local_only=False,
        allowed_methods=(hdrs.METH_GET, hdrs.METH_POST),
    )


@callback
def async_unregister_webhook(hass: HomeAssistant, webhook_id: str) -> None:
    """Stop receiving the line's progress requests."""
    webhook.async_unregister(hass, webhook_id)


def webhook_url(hass: HomeAssistant, options: Mapping[str, Any]) -> str | None:
    """Return the URL Infocaller must call, or None if it cannot reach us.

    The cloudhook when there is one, else the external URL (an internal
    address is useless to a server on the internet).
    """
    if url := options.get(CONF_CLOUDHOOK_URL):
        return str(url)
    if not (webhook_id := options.get(CONF_WEBHOOK_ID)):
        return None
    _hide_id(hass, webhook_id)
    try:
        return webhook.async_generate_url(
            hass, webhook_id, allow_internal=False, prefer_external=True
        )
    except NoURLAvailableError:
        return None


def cloud_available(hass: HomeAssistant) -> bool:
    """Whether Home Assistant Cloud can make a cloudhook now."""
    if "cloud" not in hass.config.components:
        return False
    from homeassistant.components import cloud  # noqa: PLC0415 - optional

    return cloud.async_active_subscription(hass) and cloud.async_is_connected(hass)


async def async_cloudhook_url(hass: HomeAssistant, webhook_id: str) -> str:
    """Create (or get) the cloudhook of a webhook id; return its URL."""
    from homeassistant.components import cloud  # noqa: PLC0415 - optional

    _hide_id(hass, webhook_id)
    return await cloud.async_get_or_create_cloudhook(hass, webhook_id)


async def async_delete_cloudhook(
    hass: HomeAssistant, options: Mapping[str, Any]
) -> None:
    """Delete the cloudhook an entry's options name, if any."""
    if not options.get(CONF_CLOUDHOOK_URL) or "cloud" not in hass.config.components:
        return
    from homeassistant.components import cloud  # noqa: PLC0415 - optional

    try:
        await cloud.async_delete_cloudhook(hass, options[CONF_WEBHOOK_ID])
    except cloud.CloudNotAvailable:
        LOGGER.warning(
            "Home Assistant Cloud is not available: the line's old cloudhook "
            "could not be deleted (remove it in the Cloud settings)"
        )


class ProgressWebhookDraft:
    """The webhook an options flow prepares for call progress, until saved.

    ``async_prepare`` returns the options with call progress on: the same
    webhook id, or a new one when asked (or there is none), and with Home
    Assistant Cloud its cloudhook. A cloudhook made for a webhook id that is
    never saved (the dialog closed) is deleted (``async_abandon``); saving
    new URLs deletes the old id's cloudhook (``async_saved``).
    """

    def __init__(self) -> None:
        """Start with no cloudhook made."""
        #: The cloudhook made for options not saved yet.
        self._unsaved_cloudhook: dict[str, str] | None = None

    async def async_prepare(
        self, hass: HomeAssistant, options: Mapping[str, Any], *, new_urls: bool
    ) -> dict[str, Any]:
        """Return ``options`` with call progress on and a webhook to call."""
        new = {**options, CONF_CALL_PROGRESS: True}
        if not options.get(CONF_WEBHOOK_ID) or new_urls:
            new[CONF_WEBHOOK_ID] = webhook.async_generate_id()
            new.pop(CONF_CLOUDHOOK_URL, None)
        if not new.get(CONF_CLOUDHOOK_URL) and cloud_available(hass):
            try:
                new[CONF_CLOUDHOOK_URL] = await async_cloudhook_url(
                    hass, new[CONF_WEBHOOK_ID]
                )
                self._unsaved_cloudhook = {
                    CONF_WEBHOOK_ID: new[CONF_WEBHOOK_ID],
                    CONF_CLOUDHOOK_URL: new[CONF_CLOUDHOOK_URL],
                }
            except HomeAssistantError:
                LOGGER.warning(
                    "Home Assistant Cloud could not make a cloudhook; "
                    "using the external URL"
                )
        return new

    async def async_saved(
        self,
        hass: HomeAssistant,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
    ) -> None:
        """Take the prepared options as saved: delete the replaced id's cloudhook."""
        if old.get(CONF_WEBHOOK_ID) != new[CONF_WEBHOOK_ID]:
            await async_delete_cloudhook(hass, old)
        self._unsaved_cloudhook = None

    @callback
    def async_abandon(self, hass: HomeAssistant) -> None:
        """Delete the cloudhook made for options that were never saved."""
        if (unsaved := self._unsaved_cloudhook) is not None:
            self._unsaved_cloudhook = None
            hass.async_create_background_task(
                async_delete_cloudhook(hass, unsaved),
                name=f"{DOMAIN}_delete_unsaved_cloudhook",
            )


def progress_settings(options: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Return what, in the options, needs the line reloaded when changed."""
    return bool(options.get(CONF_CALL_PROGRESS)), options.get(CONF_WEBHOOK_ID)
