"""The saved calls' entities, kept in step with the line's subentries.

Each platform registers what it adds for one saved call; an added or
edited saved call gets its entities without reloading the line, and an
entity an edited saved call no longer has leaves the entity registry.
"""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import InfocallerSavedCallEntity
from .runtime import InfocallerConfigEntry
from .saved_call import SavedCall, saved_calls


def async_add_saved_call_entities(
    entry: InfocallerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[InfocallerConfigEntry, SavedCall], InfocallerSavedCallEntity],
    wanted: Callable[[SavedCall], bool] = lambda _saved: True,
) -> None:
    """Add one entity per (wanted) saved call, in the saved call's subentry.

    The platform's adder is kept, so that a saved call added or edited later
    gets its entities without reloading the line.
    """
    runtime = entry.runtime_data

    @callback
    def add(saved: SavedCall) -> None:
        if wanted(saved):
            entity = factory(entry, saved)
            runtime.saved_call_entities.setdefault(saved.subentry_id, []).append(entity)
            async_add_entities([entity], config_subentry_id=saved.subentry_id)

    runtime.saved_call_adders.append(add)
    for saved in runtime.saved_calls.values():
        add(saved)


async def async_sync_saved_calls(
    hass: HomeAssistant, entry: InfocallerConfigEntry
) -> None:
    """Bring the saved calls' entities in step with the subentries, no reload.

    Home Assistant itself removes a deleted subentry's devices and entities
    from its registries (and so from the line). An added saved call gets its
    entities; an edited one gets new entity objects (same unique ids), and
    an entity it no longer has (a notify entity without a message variable)
    leaves the registry. The line's own entities are not touched.
    """
    runtime = entry.runtime_data
    current = saved_calls(entry)
    for subentry_id in set(runtime.saved_calls) - set(current):
        del runtime.saved_calls[subentry_id]
        runtime.saved_call_entities.pop(subentry_id, None)
    runtime.records.async_forget_saved_calls_except(set(current))
    registry = er.async_get(hass)
    for subentry_id, saved in current.items():
        if runtime.saved_calls.get(subentry_id) == saved:
            continue
        for entity in runtime.saved_call_entities.pop(subentry_id, []):
            await entity.async_remove()
        runtime.saved_calls[subentry_id] = saved
        for add in runtime.saved_call_adders:
            add(saved)
        kept = {
            entity.unique_id
            for entity in runtime.saved_call_entities.get(subentry_id, [])
        }
        for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
            if (
                registered.config_subentry_id == subentry_id
                and registered.unique_id not in kept
            ):
                registry.async_remove(registered.entity_id)
