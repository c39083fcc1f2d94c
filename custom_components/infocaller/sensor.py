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

from .caller import InfocallerCaller, InfocallerConfigEntry
from .const import ALL_RESULT_KEYS
from .entity import InfocallerEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class InfocallerSensorEntityDescription(SensorEntityDescription):
    """Describes an Infocaller sensor."""

    value_fn: Callable[[InfocallerCaller], str | int | datetime | None]
    attributes_fn: Callable[[InfocallerCaller], dict[str, Any] | None] = (
        lambda _caller: None
    )


def _last_result_attributes(caller: InfocallerCaller) -> dict[str, Any] | None:
    if (record := caller.last) is None:
        return None
    return {**record.attributes(), "time": record.time.isoformat()}


SENSORS: tuple[InfocallerSensorEntityDescription, ...] = (
    InfocallerSensorEntityDescription(
        key="last_result",
        translation_key="last_result",
        device_class=SensorDeviceClass.ENUM,
        options=list(ALL_RESULT_KEYS),
        value_fn=lambda caller: caller.last.result_key if caller.last else None,
        attributes_fn=_last_result_attributes,
    ),
    InfocallerSensorEntityDescription(
        key="last_call",
        translation_key="last_call",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda caller: caller.last.time if caller.last else None,
    ),
    InfocallerSensorEntityDescription(
        key="accepted_calls",
        translation_key="accepted_calls",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda caller: caller.accepted_calls,
    ),
    InfocallerSensorEntityDescription(
        key="refused_calls",
        translation_key="refused_calls",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda caller: caller.refused_calls,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: InfocallerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the line's sensors."""
    async_add_entities(
        InfocallerSensorEntity(entry.runtime_data, description)
        for description in SENSORS
    )


class InfocallerSensorEntity(InfocallerEntity, SensorEntity):
    """A sensor that shows part of the line's call records."""

    entity_description: InfocallerSensorEntityDescription

    @property
    def native_value(self) -> str | int | datetime | None:
        """Return the value from the records."""
        return self.entity_description.value_fn(self.caller)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return details of the last result."""
        return self.entity_description.attributes_fn(self.caller)
