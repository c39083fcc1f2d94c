"""What a loaded Infocaller line keeps at run time (``entry.runtime_data``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity import Entity

from .const import CONF_IDINFOCALLER, DOMAIN
from .pipeline import CallPipeline
from .progress import InfocallerProgress
from .records import InfocallerRecords
from .saved_call import SavedCall

type SavedCallAdder = Callable[[SavedCall], None]


@dataclass(slots=True, kw_only=True, eq=False)
class InfocallerRuntimeData:
    """The pipeline, the records and the saved calls of one line.

    A holder of live objects, compared by identity: not frozen (its lists,
    dicts and sets change anyway, so freezing the bindings would promise
    nothing and cost import time).
    """

    pipeline: CallPipeline
    records: InfocallerRecords
    progress: InfocallerProgress
    #: The saved calls by subentry id, kept in step with the subentries
    #: without a reload (``subentries.async_sync_saved_calls``).
    saved_calls: dict[str, SavedCall]
    #: The entry data the runtime was built from; a change means a reload.
    data: Mapping[str, Any]
    #: Call progress on/off and the webhook id; a change means a reload.
    progress_settings: tuple[bool, str | None]
    #: What each platform does to add its entities for one saved call.
    saved_call_adders: list[SavedCallAdder] = field(default_factory=list)
    #: The entities of each saved call, by subentry id.
    saved_call_entities: dict[str, list[Entity]] = field(default_factory=dict)
    #: The call lists of the chains running now (a second one is refused).
    running_chains: set[tuple[str, ...]] = field(default_factory=set)

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
