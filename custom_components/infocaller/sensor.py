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
    InfocallerStateEntity,
)
from .records import CallRecord, InfocallerRecords
from .runtime import InfocallerConfigEntry
from .saved_call import SavedCall
from .subentries import async_add_saved_call_entities

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class InfocallerSensorEntityDescription(SensorEntityDescription):
    """Describes an Infocaller sensor."""

    value_fn: Callable[[InfocallerRecords], str | int | datetime | None]
    attributes_fn: Callable[[InfocallerRecords], dict[str, Any]] = lambda _records: {}


#: The values the enum sensors can show: a record from a newer version
#: (a result key or status this one does not know) shows as unknown.
_RESULT_KEYS: frozenset[str] = frozenset(ALL_RESULT_KEYS)
_STATUSES: frozenset[str] = frozenset(CallStatus)


def _known(value: str | None, known: frozenset[str]) -> str | None:
    """Return ``value`` if the sensor can show it, else None (unknown)."""
    return value if value in known else None


SENSORS: tuple[InfocallerSensorEntityDescription, ...] = (
    InfocallerSensorEntityDescription(
        key="last_result",
        translation_key="last_result",
        device_class=SensorDeviceClass.ENUM,
        options=list(ALL_RESULT_KEYS),
        value_fn=lambda records: (
            _known(records.last.result_key, _RESULT_KEYS) if records.last else None
        ),
        attributes_fn=lambda records: records.last.as_dict() if records.last else {},
    ),
    InfocallerSensorEntityDescription(
        key="last_call_status",
        translation_key="last_call_status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in CallStatus],
        value_fn=lambda records: (
            _known(records.last_progress.status, _STATUSES)
            if records.last_progress
            else None
        ),
        attributes_fn=lambda records: (
            records.last_progress.as_dict() if records.last_progress else {}
        ),
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
    ),
    InfocallerSensorEntityDescription(
        key="refused_calls",
        translation_key="refused_calls",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda records: records.refused_calls,
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


class InfocallerSensor(InfocallerStateEntity, SensorEntity):
    """A sensor that shows a value and attributes read from the records."""

    def _show(
        self, value: str | int | datetime | None, attributes: dict[str, Any]
    ) -> bool:
        """Set the value and attributes; return whether they changed."""
        changed = False
        # The value is compared with what was set, not through the cached
        # property: reading that computes and caches it, which setting undoes.
        if value != self._attr_native_value:
            self._attr_native_value = value
            changed = True
        if attributes != self.extra_state_attributes:
            self._attr_extra_state_attributes = attributes
            changed = True
        return changed


class InfocallerSensorEntity(InfocallerLineEntity, InfocallerSensor):
    """A sensor that shows part of the line's call records."""

    entity_description: InfocallerSensorEntityDescription

    def _read_state(self) -> bool:
        """Read the value and attributes from the records; whether they changed."""
        description = self.entity_description
        return self._show(
            description.value_fn(self.records),
            description.attributes_fn(self.records),
        )


@dataclass(frozen=True, kw_only=True)
class InfocallerSavedCallSensorEntityDescription(SensorEntityDescription):
    """Describes a sensor of a saved call: it shows the saved call's last record."""

    value_fn: Callable[[CallRecord], str | None]
    attributes_fn: Callable[[CallRecord], dict[str, Any]]


SAVED_CALL_RESULT = InfocallerSavedCallSensorEntityDescription(
    key="saved_call_result",
    translation_key="saved_call_result",
    device_class=SensorDeviceClass.ENUM,
    options=list(ALL_RESULT_KEYS),
    value_fn=lambda record: _known(record.result_key, _RESULT_KEYS),
    attributes_fn=lambda record: record.as_dict(),
)


class InfocallerSavedCallResultSensor(InfocallerSavedCallEntity, InfocallerSensor):
    """The result of the saved call's own last call, on its device.

    A press, a notification or a voice command shows its outcome where the
    user pressed; attributes are the call record, which follows the call's
    progress like the line's sensors.
    """

    entity_description: InfocallerSavedCallSensorEntityDescription

    def __init__(self, entry: InfocallerConfigEntry, saved: SavedCall) -> None:
        """Attach the sensor to the saved call's device; it reads the records."""
        super().__init__(entry, saved, SAVED_CALL_RESULT)

    def _read_state(self) -> bool:
        """Read the saved call's last record; whether what is shown changed."""
        value: str | None = None
        attributes: dict[str, Any] = {}
        if (
            record := self.records.by_saved_call.get(self.saved.subentry_id)
        ) is not None:
            value = self.entity_description.value_fn(record)
            attributes = self.entity_description.attributes_fn(record)
        return self._show(value, attributes)
