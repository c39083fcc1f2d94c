"""Notify entities of an Infocaller line: saved calls that take a message."""

from __future__ import annotations

from homeassistant.components.notify import NotifyEntity, NotifyEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import Source
from .entity import InfocallerSavedCallEntity
from .runtime import InfocallerConfigEntry
from .saved_call import SavedCall
from .subentries import async_add_saved_call_entities

PARALLEL_UPDATES = 0

CALL_NOTIFY = NotifyEntityDescription(
    key="call_message", translation_key="call_message"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: InfocallerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a notify entity for each saved call with a message variable."""
    async_add_saved_call_entities(
        entry,
        async_add_entities,
        InfocallerCallNotify,
        lambda saved: saved.message_variable is not None,
    )


class InfocallerCallNotify(InfocallerSavedCallEntity, NotifyEntity):
    """``notify.send_message`` places the saved call with the message in a variable."""

    def __init__(self, entry: InfocallerConfigEntry, saved: SavedCall) -> None:
        """Attach the entity to the saved call's device."""
        super().__init__(entry, saved, CALL_NOTIFY)

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Issue the call with the message (and title) as rule-group variables."""
        await self.pipeline.async_call(
            self.saved.with_message(message, title), Source.NOTIFY, saved=self.saved
        )
