"""Event entities of an Infocaller line: call results and call progress."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Stage
from .const import ALL_RESULT_KEYS
from .entity import InfocallerLineEntity
from .records import CallRecord
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

    def _handle_record(self, record: CallRecord, saved_call_id: str | None) -> None:
        """Trigger the event, then write the state."""
        self._trigger_event(record.result_key, record.as_dict())
        self.async_write_ha_state()


class InfocallerCallProgressEvent(InfocallerLineEntity, EventEntity):
    """Fires with the stage of every call-progress report (matched or not)."""

    async def async_added_to_hass(self) -> None:
        """Follow call progress (not the call records)."""
        await super().async_added_to_hass()
        self.async_on_remove(self.progress.async_add_listener(self._handle_progress))

    def _handle_record(self, record: CallRecord, saved_call_id: str | None) -> None:
        """Ignore a new call: it is not progress."""

    def _handle_progress(self, data: dict[str, Any]) -> None:
        """Trigger the event with the stage."""
        attributes = {k: v for k, v in data.items() if k != "config_entry_id"}
        self._trigger_event(data["stage"], attributes)
        self.async_write_ha_state()
