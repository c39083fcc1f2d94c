"""What a loaded Infocaller line keeps at run time (``entry.runtime_data``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback

from .caller import InfocallerCaller
from .const import CONF_IDINFOCALLER, DOMAIN
from .records import InfocallerRecords
from .saved_call import SavedCall


@dataclass(frozen=True, slots=True, kw_only=True)
class InfocallerRuntimeData:
    """The pipeline, the records and the saved calls of one line."""

    caller: InfocallerCaller
    records: InfocallerRecords
    saved_calls: Mapping[str, SavedCall]
    #: The entry data the runtime was built from; a change means a reload.
    data: Mapping[str, Any]

    @property
    def line_id(self) -> str:
        """The Infocaller service number of the line."""
        return str(self.data[CONF_IDINFOCALLER])


type InfocallerConfigEntry = ConfigEntry[InfocallerRuntimeData]


@callback
def async_loaded_entries(hass: HomeAssistant) -> list[InfocallerConfigEntry]:
    """Return the Infocaller lines that are set up and loaded."""
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]
