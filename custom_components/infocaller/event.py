"""Event entities of an Infocaller line: call results and call progress."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Stage
from .const import ALL_RESULT_KEYS
from .entity import InfocallerLineEntity
from .records import LineUpdate
from .runtime import InfocallerConfigEntry

PARALLEL_UPDATES = 0

CALL_PROGRESS = EventEntityDescription(
    key="call_progress",
    translation_key="call_progress",
    event_types=[stage.value for stage in Stage],
)

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
    """Add the call-result and call-progress event entities."""
    async_add_entities(
        [
            InfocallerCallResultEvent(entry, CALL_RESULT),
            InfocallerCallProgressEvent(entry, CALL_PROGRESS),
        ]
    )


class InfocallerCallResultEvent(InfocallerLineEntity, EventEntity):
    """Fires with the result key of every request."""

    @callback
    def _handle_line_update(self, update: LineUpdate) -> None:
        """Trigger the event on a new record, then write the state."""
        if update.progress is None and update.record is not None:
            self._trigger_event(update.record.result_key, update.record.as_dict())
            self.async_write_ha_state()


class InfocallerCallProgressEvent(InfocallerLineEntity, EventEntity):
    """Fires with the stage of every call-progress report (matched or not)."""

    @callback
    def _handle_line_update(self, update: LineUpdate) -> None:
        """Trigger the event on a progress step, then write the state."""
        if (data := update.progress) is not None:
            attributes = {k: v for k, v in data.items() if k != "config_entry_id"}
            self._trigger_event(data["stage"], attributes)
            self.async_write_ha_state()
