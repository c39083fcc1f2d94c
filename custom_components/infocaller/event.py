"""Event entity of an Infocaller line: one event per call result."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import ALL_RESULT_KEYS
from .entity import InfocallerLineEntity
from .records import CallRecord
from .runtime import InfocallerConfigEntry

PARALLEL_UPDATES = 0

CALL_RESULT = EventEntityDescription(
    key="call_result",
    translation_key="call_result",
    event_types=list(ALL_RESULT_KEYS),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: InfocallerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the call-result event entity."""
    async_add_entities([InfocallerCallResultEvent(entry, CALL_RESULT)])


class InfocallerCallResultEvent(InfocallerLineEntity, EventEntity):
    """Fires with the result key of every request."""

    def _handle_record(self, record: CallRecord, saved_call_id: str | None) -> None:
        """Trigger the event, then write the state."""
        self._trigger_event(record.result_key, record.as_dict())
        self.async_write_ha_state()
