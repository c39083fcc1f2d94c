"""The Infocaller integration: place phone calls through Infocaller."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .caller import (
    InfocallerCaller,
    InfocallerConfigEntry,
    records_store,
    saved_calls,
)
from .const import DOMAIN
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NOTIFY,
    Platform.SENSOR,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once, for every entry."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: InfocallerConfigEntry) -> bool:
    """Set up one Infocaller line.

    Nothing is sent to Infocaller here: the credentials were checked by the
    config flow and are checked again by every call.
    """
    caller = InfocallerCaller(hass, entry)
    await caller.async_load()
    entry.runtime_data = caller
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_entry_updated(
    hass: HomeAssistant, entry: InfocallerConfigEntry
) -> None:
    """Apply new options at once; reload when saved calls changed."""
    if saved_calls(entry) != entry.runtime_data.saved_calls:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    entry.runtime_data.async_apply_options()


async def async_unload_entry(hass: HomeAssistant, entry: InfocallerConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: InfocallerConfigEntry) -> None:
    """Delete the entry's saved call records."""
    await records_store(hass, entry.entry_id).async_remove()
