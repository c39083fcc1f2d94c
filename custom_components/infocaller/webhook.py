"""The line's webhook: where Infocaller's call-progress requests arrive.

One webhook per line, registered while call progress is on (GET and POST,
reachable from the internet: Infocaller calls it). With Home Assistant
Cloud, a cloudhook forwards to it, so no port needs opening; otherwise the
external URL is used, and when neither exists the flow says so. Every byte
is untrusted: ``receiver.py`` answers each request (loaded when a line with
call progress is set up, so a line without it never loads the report
reader). The webhook id is a secret (anyone who has it can send reports):
it is never logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
import logging
from typing import Any

from aiohttp import hdrs, web
from homeassistant.components import webhook
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.importlib import async_import_module
from homeassistant.helpers.network import NoURLAvailableError

from .const import (
    CONF_CALL_PROGRESS,
    CONF_CLOUDHOOK_URL,
    CONF_WEBHOOK_ID,
    DOMAIN,
    LOGGER,
)
from .progress import InfocallerProgress

#: Loggers that write a webhook's path or id (Home Assistant's webhook
#: component and HTTP views, aiohttp's access log): while a line's webhook
#: is registered, its id is hidden from their records.
LOGGERS_WITH_WEBHOOK_IDS = (
    "homeassistant.components.webhook",
    "homeassistant.helpers.http",
    "aiohttp.access",
)
REDACTED = "**REDACTED**"


class HideWebhookIds(logging.Filter):
    """Replace the registered webhook ids in log records (they are secrets)."""

    def __init__(self) -> None:
        """Hide nothing until an id is added."""
        super().__init__()
        self.ids: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a record that holds an id; never drop a record."""
        if self.ids:
            message = record.getMessage()
            if any(webhook_id in message for webhook_id in self.ids):
                for webhook_id in self.ids:
                    message = message.replace(webhook_id, REDACTED)
                record.msg, record.args = message, None
        return True


_HIDE = HideWebhookIds()


def _hide(webhook_id: str) -> None:
    if not _HIDE.ids:
        for name in LOGGERS_WITH_WEBHOOK_IDS:
            logging.getLogger(name).addFilter(_HIDE)
    _HIDE.ids.add(webhook_id)


def _unhide(webhook_id: str) -> None:
    _HIDE.ids.discard(webhook_id)
    if not _HIDE.ids:
        for name in LOGGERS_WITH_WEBHOOK_IDS:
            logging.getLogger(name).removeFilter(_HIDE)


async def async_register_webhook(
    hass: HomeAssistant, title: str, webhook_id: str, progress: InfocallerProgress
) -> None:
    """Receive the line's progress requests (until ``async_unregister``).

    The receiver (and the report reader it uses) is imported here, in Home
    Assistant's import executor, the first time a line needs it.
    """
    receiver = await async_import_module(hass, f"{__package__}.receiver")
    answer: Callable[[InfocallerProgress, web.Request], Awaitable[web.Response]] = (
        receiver.async_handle_request
    )

    async def handle(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        return await answer(progress, request)

    _hide(webhook_id)
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
    _unhide(webhook_id)


def webhook_url(hass: HomeAssistant, options: Mapping[str, Any]) -> str | None:
    """Return the URL Infocaller must call, or None if it cannot reach us.

    The cloudhook when there is one, else the external URL (an internal
    address is useless to a server on the internet).
    """
    if url := options.get(CONF_CLOUDHOOK_URL):
        return str(url)
    if not (webhook_id := options.get(CONF_WEBHOOK_ID)):
        return None
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


def progress_settings(options: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Return what, in the options, needs the line reloaded when changed."""
    return bool(options.get(CONF_CALL_PROGRESS)), options.get(CONF_WEBHOOK_ID)
