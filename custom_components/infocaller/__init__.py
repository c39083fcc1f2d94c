"""The Infocaller integration: place phone calls through Infocaller."""

from __future__ import annotations

import asyncio

from homeassistant.const import CONF_WEBHOOK_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.typing import ConfigType

from .account import account_issue_id, async_build_client
from .const import DOMAIN
from .digits_budget import guessing_issue_id
from .guard import CallGuard
from .pipeline import CallPipeline
from .progress import InfocallerProgress
from .progress_state import progress_store
from .records import InfocallerRecords
from .runtime import InfocallerConfigEntry, InfocallerRuntimeData
from .saved_call import saved_calls
from .saving import async_remove_store
from .services import async_setup_services
from .subentries import async_sync_saved_calls
from .webhook import (
    async_delete_cloudhook,
    async_hide_webhook_ids,
    async_register_webhook,
    async_unregister_webhook,
    progress_settings,
)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NOTIFY,
    Platform.SENSOR,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Hide the lines' webhook ids from the logs; register the actions once."""
    async_hide_webhook_ids(hass)
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: InfocallerConfigEntry) -> bool:
    """Set up one Infocaller line.

    Nothing is sent to Infocaller here: the credentials were checked by the
    config flow and are checked again by every call.
    """
    calls = saved_calls(entry)
    records = InfocallerRecords(hass, entry.entry_id, entry.title)
    guard = CallGuard(hass, entry.entry_id, entry.title)
    # The line's repeat window before anything is restored: what is
    # forgotten at load depends on it.
    guard.apply_options(entry.options)
    progress = InfocallerProgress(hass, entry, records)
    try:
        # The records and the guard are read side by side (neither needs
        # the other): their files and journals are read in the executor at
        # once. Both are read to the end before a failure is raised.
        for loaded in await asyncio.gather(
            records.async_load(), guard.async_load(), return_exceptions=True
        ):
            if isinstance(loaded, BaseException):
                raise loaded
        client = await async_build_client(hass, entry)
        records.async_forget_saved_calls_except(set(calls))
        await progress.async_load()
    except BaseException:
        # A file that cannot be read now (ConfigEntryNotReady: set up again
        # later): nothing of this attempt goes on writing, or it could
        # overwrite what the next attempt reads.
        await _async_unload_states(records, guard, progress)
        raise
    entry.runtime_data = InfocallerRuntimeData(
        pipeline=CallPipeline(hass, entry, client, records, guard=guard),
        records=records,
        progress=progress,
        saved_calls=calls,
        data=dict(entry.data),
        progress_settings=progress_settings(entry.options),
    )
    if progress.enabled:
        webhook_id = entry.options[CONF_WEBHOOK_ID]
        async_register_webhook(hass, entry.title, webhook_id, progress)
        entry.async_on_unload(lambda: async_unregister_webhook(hass, webhook_id))
    progress.async_start()
    entry.async_on_unload(progress.async_stop)
    # One listener for every change of the entry: the reauth and reconfigure
    # flows (a reload), options and saved calls (both without a reload).
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_unload_states(
    records: InfocallerRecords, guard: CallGuard, progress: InfocallerProgress
) -> None:
    """Write what a line's states have unsaved; they write nothing after."""
    await records.async_unload()
    await progress.async_unload()
    await guard.async_unload()


async def _async_entry_updated(
    hass: HomeAssistant, entry: InfocallerConfigEntry
) -> None:
    """Reload for new credentials; apply saved calls and options in place."""
    runtime = entry.runtime_data
    if (
        dict(entry.data) != runtime.data
        or progress_settings(entry.options) != runtime.progress_settings
    ):
        # New credentials, or call progress turned on/off or a new webhook.
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    await async_sync_saved_calls(hass, entry)
    await runtime.pipeline.async_apply_options()


async def async_unload_entry(hass: HomeAssistant, entry: InfocallerConfigEntry) -> bool:
    """Unload a config entry; unsaved records and guard state are written.

    The next set-up (a reload, the entry enabled again) reads the files, as
    after a restart. From the start of the unload the line's pipeline places
    no call; a call already on its way is waited for (at most the client's
    timeout), so that its record is in the files. Once the line is unloaded,
    chains and waits on it end (they never go on through a line that is
    gone).
    """
    runtime = entry.runtime_data
    runtime.pipeline.stopped = True
    # A call on its way is recorded before the records are written.
    await runtime.pipeline.async_drain()
    if not await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        runtime.pipeline.stopped = False
        return False
    runtime.progress.async_stop()
    await _async_unload_states(
        runtime.records, runtime.pipeline.guard, runtime.progress
    )
    return True


async def async_remove_entry(hass: HomeAssistant, entry: InfocallerConfigEntry) -> None:
    """Delete the entry's saved call records and its cloudhook."""
    await InfocallerRecords(hass, entry.entry_id).async_remove()
    await CallGuard(hass, entry.entry_id).async_remove()
    await async_remove_store(progress_store(hass, entry.entry_id))
    ir.async_delete_issue(hass, DOMAIN, account_issue_id(entry.entry_id))
    ir.async_delete_issue(hass, DOMAIN, guessing_issue_id(entry.entry_id))
    await async_delete_cloudhook(hass, entry.options)
