"""Base entities for the Infocaller integration."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .caller import CallRecord, InfocallerCaller, InfocallerConfigEntry, SavedCall
from .const import DOMAIN


class InfocallerEntity(Entity):
    """An entity of one Infocaller line; it listens to the line's calls."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    #: Whether the entity shows call records (buttons and notify do not).
    _follows_records = True

    def __init__(
        self,
        caller: InfocallerCaller,
        description: EntityDescription,
        *,
        unique_suffix: str | None = None,
    ) -> None:
        """Attach the entity to the line's service device."""
        self.caller = caller
        self.entity_description = description
        self._attr_unique_id = (
            f"{caller.entry.entry_id}_{unique_suffix or description.key}"
        )
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, caller.entry.entry_id)},
            name=f"Infocaller {caller.line_id}",
            manufacturer="Infocaller",
            model="HTTPS call-issuing API",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Follow the line's call records."""
        await super().async_added_to_hass()
        if self._follows_records:
            self.async_on_remove(self.caller.async_add_listener(self._handle_record))

    def _handle_record(self, record: CallRecord) -> None:
        """Show the new record."""
        self.async_write_ha_state()


class InfocallerSavedCallEntity(InfocallerEntity):
    """An entity of a saved call, on the saved call's own service device.

    Home Assistant keeps a device in one subentry, so each saved call has a
    device of its own ("Call <name>"), removed with the saved call.
    """

    _follows_records = False

    def __init__(
        self, caller: InfocallerCaller, saved: SavedCall, description: EntityDescription
    ) -> None:
        """Attach the entity to the saved call's device."""
        super().__init__(caller, description)
        self.saved = saved
        self._attr_unique_id = f"{saved.subentry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, saved.subentry_id)},
            translation_key="saved_call",
            translation_placeholders={"name": saved.name},
            manufacturer="Infocaller",
            model="Saved call",
            entry_type=DeviceEntryType.SERVICE,
        )


def async_add_saved_call_entities(
    entry: InfocallerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[InfocallerCaller, SavedCall], InfocallerSavedCallEntity],
    wanted: Callable[[SavedCall], bool] = lambda _saved: True,
) -> None:
    """Add one entity per (wanted) saved call, in the saved call's subentry."""
    caller = entry.runtime_data
    for saved in caller.saved_calls.values():
        if wanted(saved):
            async_add_entities(
                [factory(caller, saved)], config_subentry_id=saved.subentry_id
            )
