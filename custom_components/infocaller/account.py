"""The line's account: its client, its time zone, its repair issue."""

from __future__ import annotations

from datetime import tzinfo

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_PASSWORD, CONF_TIME_ZONE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .api import DEFAULT_ENDPOINT, InfocallerClient, RequestFormat
from .const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    CONF_REQUEST_FORMAT,
    DEFAULT_REQUEST_FORMAT,
    DEFAULT_TIME_ZONE,
    DOMAIN,
)

#: The account time zones already looked up, by name: Home Assistant's
#: ``async_get_time_zone`` reads the zone in the executor each time, so each
#: zone is read once per Home Assistant run and shared by the lines.
TIME_ZONES: HassKey[dict[str, tzinfo]] = HassKey(f"{DOMAIN}_time_zones")


def account_issue_id(entry_id: str) -> str:
    """Return the id of a line's account repair issue."""
    return f"account_{entry_id}"


async def async_time_zone(hass: HomeAssistant, name: str) -> tzinfo | None:
    """Return the time zone called ``name`` (None if unknown), read once."""
    zones = hass.data.setdefault(TIME_ZONES, {})
    if name in zones:
        return zones[name]
    if (zone := await dt_util.async_get_time_zone(name)) is not None:
        zones[name] = zone
    return zone


async def async_build_client(
    hass: HomeAssistant, entry: ConfigEntry
) -> InfocallerClient:
    """Return a client for the entry's line, format and account time zone."""
    time_zone = await async_time_zone(
        hass, str(entry.options.get(CONF_TIME_ZONE, DEFAULT_TIME_ZONE))
    )
    return InfocallerClient(
        async_get_clientsession(hass),
        entry.data[CONF_IDINFOCALLER],
        entry.data[CONF_PASSWORD],
        endpoint=entry.data.get(CONF_ENDPOINT, DEFAULT_ENDPOINT),
        request_format=RequestFormat(
            entry.options.get(CONF_REQUEST_FORMAT, DEFAULT_REQUEST_FORMAT)
        ),
        time_zone=time_zone or dt_util.get_default_time_zone(),
    )
