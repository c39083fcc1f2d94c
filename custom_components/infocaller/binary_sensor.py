"""Binary sensor of an Infocaller line: a problem with the account."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined]
    # Re-exported from binary_sensor.const since 2026; defined here before.
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import InfocallerLineEntity
from .records import CallRecord
from .runtime import InfocallerConfigEntry

PARALLEL_UPDATES = 0

LINE_PROBLEM = BinarySensorEntityDescription(
    key="line_problem",
    translation_key="line_problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: InfocallerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the line-problem sensor."""
    async_add_entities([InfocallerLineProblemEntity(entry, LINE_PROBLEM)])


class InfocallerLineProblemEntity(InfocallerLineEntity, BinarySensorEntity):
    """On while the last answer said the line is off, suspended, out of credit..."""

    _shown: tuple[bool, dict[str, Any] | None] | None = None

    def _handle_record(self, record: CallRecord, saved_call_id: str | None) -> None:
        """Write only when the problem or the answer that explains it changed.

        A run of accepted calls leaves it alone; a failure to get an answer
        never changes it.
        """
        shown = (self.is_on, self.extra_state_attributes)
        if shown != self._shown:
            self.async_write_ha_state()

    def _async_write_ha_state(self) -> None:
        self._shown = (self.is_on, self.extra_state_attributes)
        super()._async_write_ha_state()

    @property
    def is_on(self) -> bool:
        """Return whether the last answer was an account-state code."""
        return self.records.line_problem

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the answer that set the state (the record's answer fields)."""
        if (record := self.records.last_answer) is None:
            return None
        return {
            "result": record.result,
            "result_key": record.result_key,
            "result_text": record.result_text,
        }
