"""Notify entities of an Infocaller line: saved calls that take a message."""

from __future__ import annotations

from homeassistant.components.notify import NotifyEntity, NotifyEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .caller import InfocallerCaller, InfocallerConfigEntry, SavedCall
from .const import ATTR_VARIABLES, Source
from .entity import InfocallerSavedCallEntity, async_add_saved_call_entities

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

    def __init__(self, caller: InfocallerCaller, saved: SavedCall) -> None:
        """Attach the entity to the saved call's device."""
        super().__init__(caller, saved, CALL_NOTIFY)
        self._variable = saved.message_variable or ""

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        """Issue the call with the message (and title) as rule-group variables."""
        variable = self._variable
        variables = dict(self.saved.data.get(ATTR_VARIABLES) or {})
        variables[variable] = message
        if title:
            variables[f"{variable}_TITLE"] = title
        await self.caller.async_call(
            {**self.saved.data, ATTR_VARIABLES: variables}, Source.NOTIFY
        )
