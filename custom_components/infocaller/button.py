"""Buttons of an Infocaller line: one per saved call."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import Source
from .entity import InfocallerSavedCallEntity
from .runtime import InfocallerConfigEntry
from .saved_call import SavedCall
from .subentries import async_add_saved_call_entities

# Presses run at once; the pipeline refuses an identical call in flight.
PARALLEL_UPDATES = 0

CALL_BUTTON = ButtonEntityDescription(key="call", translation_key="call")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: InfocallerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a "Call <name>" button for each saved call."""
    async_add_saved_call_entities(entry, async_add_entities, InfocallerCallButton)


class InfocallerCallButton(InfocallerSavedCallEntity, ButtonEntity):
    """Places the saved call when pressed; named like its device, "Call <name>"."""

    _attr_name = None

    def __init__(self, entry: InfocallerConfigEntry, saved: SavedCall) -> None:
        """Attach the button to the saved call's device."""
        super().__init__(entry, saved, CALL_BUTTON)

    async def async_press(self) -> None:
        """Issue the call; failures raise the same translated errors as the action."""
        await self.pipeline.async_call(self.saved.data, Source.BUTTON, saved=self.saved)
