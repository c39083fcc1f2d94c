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

from .const import ALL_RESULT_KEYS
from .entity import InfocallerLineEntity
from .records import CallRecord, InfocallerRecords
from .runtime import InfocallerConfigEntry

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


SENSORS: tuple[InfocallerSensorEntityDescription, ...] = (
    InfocallerSensorEntityDescription(
        key="last_result",
        translation_key="last_result",
        device_class=SensorDeviceClass.ENUM,
        options=list(ALL_RESULT_KEYS),
        value_fn=lambda records: records.last.result_key if records.last else None,
        attributes_fn=lambda records: records.last.as_dict() if records.last else None,
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


class InfocallerSensorEntity(InfocallerLineEntity, SensorEntity):
    """A sensor that shows part of the line's call records."""

    entity_description: InfocallerSensorEntityDescription

    def _handle_record(self, record: CallRecord) -> None:
        """Write the state only when this record can have changed it."""
        if self.entity_description.changed_fn(record):
            self.async_write_ha_state()

    @property
    def native_value(self) -> str | int | datetime | None:
        """Return the value from the records."""
        return self.entity_description.value_fn(self.records)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return details of the last result."""
        return self.entity_description.attributes_fn(self.records)
