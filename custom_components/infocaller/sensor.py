"""Sensors of an Infocaller line: last result, last call, call counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import ALL_RESULT_KEYS, CallStatus
from .entity import (
    InfocallerLineEntity,
    InfocallerSavedCallEntity,
    async_add_saved_call_entities,
)
from .records import CallRecord, InfocallerRecords
from .runtime import InfocallerConfigEntry
from .saved_call import SavedCall

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class InfocallerSensorEntityDescription(SensorEntityDescription):
    """Describes an Infocaller sensor."""

    value_fn: Callable[[InfocallerRecords], str | int | datetime | None]
    attributes_fn: Callable[[InfocallerRecords], dict[str, Any] | None] = (
        lambda _records: None
    )
    #: Whether a new record can change this sensor (else no state write).
    changed_fn: Callable[[CallRecord], bool] = lambda _record: True
    #: Whether call progress changes this sensor (state written on each).
    follows_progress: bool = False


SENSORS: tuple[InfocallerSensorEntityDescription, ...] = (
    InfocallerSensorEntityDescription(
        key="last_result",
        translation_key="last_result",
        device_class=SensorDeviceClass.ENUM,
        options=list(ALL_RESULT_KEYS),
        value_fn=lambda records: records.last.result_key if records.last else None,
        attributes_fn=lambda records: records.last.as_dict() if records.last else None,
        follows_progress=True,
    ),
    InfocallerSensorEntityDescription(
        key="last_call_status",
        translation_key="last_call_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in CallStatus],
        value_fn=lambda records: (
            records.last_progress.status if records.last_progress else None
        ),
        attributes_fn=lambda records: (
            records.last_progress.as_dict() if records.last_progress else None
        ),
        changed_fn=lambda record: record.status is not None,
        follows_progress=True,
    ),
    InfocallerSensorEntityDescription(
        key="last_call",
        translation_key="last_call",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda records: records.last.time if records.last else None,
    ),
    InfocallerSensorEntityDescription(
        key="accepted_calls",
        translation_key="accepted_calls",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda records: records.accepted_calls,
        changed_fn=lambda record: record.accepted,
    ),
    InfocallerSensorEntityDescription(
        key="refused_calls",
        translation_key="refused_calls",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda records: records.refused_calls,
        changed_fn=lambda record: record.result is not None and not record.accepted,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: InfocallerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the line's sensors."""
    async_add_entities(
        InfocallerSensorEntity(entry, description) for description in SENSORS
    )
    async_add_saved_call_entities(
        entry, async_add_entities, InfocallerSavedCallResultSensor
    )


class InfocallerSensorEntity(InfocallerLineEntity, SensorEntity):
    """A sensor that shows part of the line's call records."""

    entity_description: InfocallerSensorEntityDescription

    async def async_added_to_hass(self) -> None:
        """Follow the records, and call progress when the sensor shows it."""
        await super().async_added_to_hass()
        if self.entity_description.follows_progress:
            self.async_on_remove(
                self.progress.async_add_listener(self._handle_progress)
            )

    def _handle_record(self, record: CallRecord, saved_call_id: str | None) -> None:
        """Write the state only when this record can have changed it."""
        if self.entity_description.changed_fn(record):
            self.async_write_ha_state()

    def _handle_progress(self, data: dict[str, Any]) -> None:
        """Show a followed call's change (unmatched reports change nothing)."""
        if data["status"] is not None:
            self.async_write_ha_state()

    @property
    def native_value(self) -> str | int | datetime | None:
        """Return the value from the records."""
        return self.entity_description.value_fn(self.records)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return details of the last result."""
        return self.entity_description.attributes_fn(self.records)


SAVED_CALL_RESULT = SensorEntityDescription(
    key="saved_call_result",
    translation_key="saved_call_result",
    device_class=SensorDeviceClass.ENUM,
    options=list(ALL_RESULT_KEYS),
)


class InfocallerSavedCallResultSensor(InfocallerSavedCallEntity, SensorEntity):
    """The result of the saved call's own last call, on its device.

    A press, a notification or a voice command shows its outcome where the
    user pressed; attributes are the call record.
    """

    def __init__(self, entry: InfocallerConfigEntry, saved: SavedCall) -> None:
        """Attach the sensor to the saved call's device; it reads the records."""
        super().__init__(entry, saved, SAVED_CALL_RESULT)
        self.records = entry.runtime_data.records

    async def async_added_to_hass(self) -> None:
        """Follow the records of this saved call only."""
        await super().async_added_to_hass()
        self.async_on_remove(self.records.async_add_listener(self._handle_record))

    def _handle_record(self, record: CallRecord, saved_call_id: str | None) -> None:
        if saved_call_id == self.saved.subentry_id:
            self.async_write_ha_state()

    @property
    def _record(self) -> CallRecord | None:
        return self.records.by_saved_call.get(self.saved.subentry_id)

    @property
    def native_value(self) -> str | None:
        """Return the last result key of this saved call."""
        return record.result_key if (record := self._record) else None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the call record."""
        return record.as_dict() if (record := self._record) else None
