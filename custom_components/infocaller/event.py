"""Event entities of an Infocaller line: call results, progress, incoming calls."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Stage
from .const import ALL_RESULT_KEYS
from .entity import InfocallerLineEntity, InfocallerStateEntity
from .incoming import INCOMING_STAGES
from .matching import MATCH_CALL_ID
from .records import LineUpdate
from .runtime import InfocallerConfigEntry

PARALLEL_UPDATES = 0

CALL_PROGRESS = EventEntityDescription(
    key="call_progress",
    translation_key="call_progress",
    event_types=[stage.value for stage in Stage],
)

INCOMING_CALL = EventEntityDescription(
    key="incoming_call",
    translation_key="incoming_call",
    event_types=list(INCOMING_STAGES),
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
    """Add the call-result, call-progress and incoming-call event entities."""
    async_add_entities(
        [
            InfocallerCallResultEvent(entry, CALL_RESULT),
            InfocallerCallProgressEvent(entry, CALL_PROGRESS),
            InfocallerIncomingCallEvent(entry, INCOMING_CALL),
        ]
    )


class InfocallerCallResultEvent(
    InfocallerLineEntity, InfocallerStateEntity, EventEntity
):
    """Fires with the result key of every request."""

    @callback
    def _handle_line_update(self, update: LineUpdate) -> None:
        """Trigger the event on a new record, then write the state."""
        if update.progress is None and update.record is not None:
            self._trigger_event(update.record.result_key, update.record.as_dict())
            self.async_write_ha_state()


class InfocallerCallProgressEvent(
    InfocallerLineEntity, InfocallerStateEntity, EventEntity
):
    """Fires with the stage of every call-progress report (matched or not)."""

    @callback
    def _handle_line_update(self, update: LineUpdate) -> None:
        """Trigger the event on a progress step, then write the state.

        The keys pressed on a call the line placed (matched by its call id)
        are an answer to its script ("1": I'm coming) and are shown; those
        of a report matched by number only, or by nothing, may be a PIN
        someone typed on a call to the line, and stay on the bus event only.
        """
        if (data := update.progress) is not None:
            hidden = {"config_entry_id"}
            if data.get("match") != MATCH_CALL_ID:
                hidden.add("digits")
            attributes = {k: v for k, v in data.items() if k not in hidden}
            self._trigger_event(data["stage"], attributes)
            self.async_write_ha_state()


class InfocallerIncomingCallEvent(InfocallerLineEntity, EventEntity):
    """Fires with the stage of every report of a call someone made to the line."""

    def __init__(
        self, entry: InfocallerConfigEntry, description: EventEntityDescription
    ) -> None:
        """Follow the line's incoming calls."""
        super().__init__(entry, description)
        self._incoming_signal = entry.runtime_data.progress.incoming.signal

    async def async_added_to_hass(self) -> None:
        """Follow the line's incoming calls too."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, self._incoming_signal, self._handle_incoming
            )
        )

    @callback
    def _handle_incoming(self, data: dict[str, Any]) -> None:
        """Trigger the event with the bus event's data, then write the state.

        The keys pressed may be a PIN: every user sees an entity's state
        (and the recorder keeps it), so they stay on the bus event only.
        """
        attributes = {
            k: v for k, v in data.items() if k not in ("config_entry_id", "digits")
        }
        self._trigger_event(data["stage"], attributes)
        self.async_write_ha_state()
