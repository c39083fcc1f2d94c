"""Base entities: a line entity (shows the records) and a saved-call entity."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .language import saved_call_placeholders
from .records import CallRecord
from .runtime import InfocallerConfigEntry
from .saved_call import SavedCall, saved_calls


class InfocallerEntity(Entity):
    """What every Infocaller entity shares: named by translation, pushed."""

    _attr_has_entity_name = True
    _attr_should_poll = False


class InfocallerLineEntity(InfocallerEntity):
    """An entity of the line's service device that shows its call records."""

    def __init__(
        self, entry: InfocallerConfigEntry, description: EntityDescription
    ) -> None:
        """Attach the entity to the line's device; it reads the records."""
        runtime = entry.runtime_data
        self.records = runtime.records
        self.progress = runtime.progress
        self.entity_description = description
        self._attr_unique_id = f"{runtime.line_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, runtime.line_id)},
            name=f"Infocaller {runtime.line_id}",
            manufacturer="Infocaller",
            model="HTTPS call-issuing API",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Follow the line's call records."""
        await super().async_added_to_hass()
        self.async_on_remove(self.records.async_add_listener(self._handle_record))

    def _handle_record(self, record: CallRecord, saved_call_id: str | None) -> None:
        """Show the new record, writing the state only if it can have changed."""
        raise NotImplementedError


class InfocallerSavedCallEntity(InfocallerEntity):
    """An entity of a saved call, on the saved call's own service device.

    Home Assistant keeps a device in one subentry, so each saved call has a
    device of its own ("Call" and its name), removed with the saved call.
    It places calls through the line's pipeline and shows no records.
    """

    def __init__(
        self,
        entry: InfocallerConfigEntry,
        saved: SavedCall,
        description: EntityDescription,
    ) -> None:
        """Attach the entity to the saved call's device."""
        runtime = entry.runtime_data
        self.pipeline = runtime.pipeline
        self.saved = saved
        self.entity_description = description
        self._attr_unique_id = (
            f"{runtime.line_id}_{saved.subentry_id}_{description.key}"
        )
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{runtime.line_id}_{saved.subentry_id}")},
            translation_key="saved_call",
            translation_placeholders=saved_call_placeholders(
                saved.name, self.pipeline.hass.config.language
            ),
            manufacturer="Infocaller",
            model="Saved call",
            entry_type=DeviceEntryType.SERVICE,
        )


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
