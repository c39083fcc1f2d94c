"""Base entities: pushed, on the line's device or on a saved call's device.

The line's state reaches its entities one way: the records and the call
progress send each change on the line's dispatcher signal
(``InfocallerRecords.signal``, a ``LineUpdate``). An entity that shows
that state (``InfocallerStateEntity``) reads what it shows from the records
again and writes its state only when that changed; an event entity
triggers on the changes it announces. An entity that shows none of it (the
incoming-call event) does not follow the line's signal.
"""

from __future__ import annotations

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN
from .language import saved_call_placeholders
from .records import InfocallerRecords, LineUpdate
from .runtime import InfocallerConfigEntry
from .saved_call import SavedCall


class InfocallerEntity(Entity):
    """What every Infocaller entity shares: named by translation, pushed."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    records: InfocallerRecords


class InfocallerStateEntity(InfocallerEntity):
    """An entity that follows the line's changes (``LineUpdate``).

    By default it reads what it shows again (``_read_state``) and writes
    its state only when that changed; an event entity handles the update
    itself.
    """

    async def async_added_to_hass(self) -> None:
        """Read the state, then follow the line's changes."""
        await super().async_added_to_hass()
        self._read_state()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                self.records.signal,
                self._handle_line_update,
            )
        )

    @callback
    def _handle_line_update(self, update: LineUpdate) -> None:
        """Write the state when what the entity shows changed."""
        if self._read_state():
            self.async_write_ha_state()

    def _read_state(self) -> bool:
        """Read what the entity shows from the records; whether it changed."""
        return False


class InfocallerLineEntity(InfocallerEntity):
    """An entity of the line's service device.

    One that shows the line's state also derives from
    ``InfocallerStateEntity``.
    """

    def __init__(
        self, entry: InfocallerConfigEntry, description: EntityDescription
    ) -> None:
        """Attach the entity to the line's device; it reads the records."""
        runtime = entry.runtime_data
        line_id = runtime.line_id
        self.records = runtime.records
        self.entity_description = description
        self._attr_unique_id = f"{line_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, line_id)},
            name=f"Infocaller {line_id}",
            manufacturer="Infocaller",
            model="HTTPS call-issuing API",
            entry_type=DeviceEntryType.SERVICE,
        )


class InfocallerSavedCallEntity(InfocallerEntity):
    """An entity of a saved call, on the saved call's own service device.

    Home Assistant keeps a device in one subentry, so each saved call has a
    device of its own ("Call" and its name), removed with the saved call.
    It places calls through the line's pipeline; one that shows the saved
    call's last record also derives from ``InfocallerStateEntity``.
    """

    def __init__(
        self,
        entry: InfocallerConfigEntry,
        saved: SavedCall,
        description: EntityDescription,
    ) -> None:
        """Attach the entity to the saved call's device."""
        runtime = entry.runtime_data
        line_id = runtime.line_id
        self.pipeline = runtime.pipeline
        self.records = runtime.records
        self.saved = saved
        self.entity_description = description
        self._attr_unique_id = f"{line_id}_{saved.subentry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{line_id}_{saved.subentry_id}")},
            translation_key="saved_call",
            translation_placeholders=saved_call_placeholders(
                saved.name, self.pipeline.hass.config.language
            ),
            manufacturer="Infocaller",
            model="Saved call",
            entry_type=DeviceEntryType.SERVICE,
        )
