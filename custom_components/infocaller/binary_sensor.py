"""Binary sensor of an Infocaller line: a problem with the account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined]
    # Defined here by older releases, re-exported from binary_sensor.const
    # by newer ones (hence the type: ignore).
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import InfocallerLineEntity, InfocallerStateEntity
from .records import InfocallerRecords
from .runtime import InfocallerConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class InfocallerBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes an Infocaller binary sensor."""

    is_on_fn: Callable[[InfocallerRecords], bool]
    attributes_fn: Callable[[InfocallerRecords], dict[str, Any]]


def _answer(records: InfocallerRecords) -> dict[str, Any]:
    """Return the answer that set the line's state (the record's answer fields)."""
    if (record := records.last_answer) is None:
        return {}
    return {
        "result": record.result,
        "result_key": record.result_key,
        "result_text": record.result_text,
    }


LINE_PROBLEM = InfocallerBinarySensorEntityDescription(
    key="line_problem",
    translation_key="line_problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
    entity_category=EntityCategory.DIAGNOSTIC,
    # On while the last answer said the line is off, suspended, out of credit...
    is_on_fn=lambda records: records.line_problem,
    attributes_fn=_answer,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: InfocallerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the line-problem sensor."""
    async_add_entities([InfocallerBinarySensorEntity(entry, LINE_PROBLEM)])


class InfocallerBinarySensorEntity(
    InfocallerLineEntity, InfocallerStateEntity, BinarySensorEntity
):
    """A binary sensor that shows part of the line's call records.

    The state is written only when the problem or the answer that explains
    it changed: a run of accepted calls leaves it alone, a failure to get an
    answer never changes it.
    """

    entity_description: InfocallerBinarySensorEntityDescription

    def _read_state(self) -> bool:
        """Read the state and attributes from the records; whether they changed."""
        is_on = self.entity_description.is_on_fn(self.records)
        attributes = self.entity_description.attributes_fn(self.records)
        if (is_on, attributes) == (self._attr_is_on, self.extra_state_attributes):
            return False
        self._attr_is_on = is_on
        self._attr_extra_state_attributes = attributes
        return True
