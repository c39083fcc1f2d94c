"""The one path every call takes.

The action, buttons, notify entities and the voice intent hand a request to
``InfocallerCaller.async_call``, which validates it, guards against
duplicates, calls the client, records the result (persisted), fires the
``infocaller_call_result`` event and tells the entities. Entities only listen.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api import (
    DEFAULT_ENDPOINT,
    CallResult,
    InfocallerClient,
    InfocallerConnectionError,
    InfocallerError,
    InfocallerRejectedError,
    RequestFormat,
)
from .const import (
    ATTR_MESSAGE_VARIABLE,
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    CONF_REQUEST_FORMAT,
    CONF_TIME_ZONE,
    DEFAULT_REQUEST_FORMAT,
    DEFAULT_TIME_ZONE,
    DOMAIN,
    DUPLICATE_WINDOW_SECONDS,
    EVENT_CALL_RESULT,
    INPUT_CODES,
    LINE_PROBLEM_CODES,
    LOGGER,
    REAUTH_CODES,
    RESULT_CONNECTION_ERROR,
    RESULT_NO_ANSWER,
    SUBENTRY_SAVED_CALL,
    Source,
)
from .validation import CallValidationError, ValidatedCall, async_validate_for_entry

STORAGE_VERSION = 1
RECENT_RESULTS = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    """One request and what came of it (JSON-safe through ``as_dict``)."""

    time: datetime
    source: str
    phone: str
    rule_group: str
    scheduled_for: str | None
    result: int | None
    result_key: str
    result_text: str
    call_id: str | None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        data = asdict(self)
        data["time"] = self.time.isoformat()
        return data

    def event_data(self) -> dict[str, Any]:
        """Return the fields of the ``infocaller_call_result`` event."""
        return {
            "call_id": self.call_id,
            "result": self.result,
            "result_key": self.result_key,
            "result_text": self.result_text,
            "phone": self.phone,
            "rule_group": self.rule_group,
            "scheduled_for": self.scheduled_for,
            "source": self.source,
        }

    def attributes(self) -> dict[str, Any]:
        """Return the details entities show as state attributes."""
        return {
            "code": self.result,
            "text": self.result_text,
            "call_id": self.call_id,
            "phone": self.phone,
            "rule_group": self.rule_group,
            "scheduled_for": self.scheduled_for,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallRecord:
        """Rebuild a record saved with ``as_dict``."""
        values = dict(data)
        values["time"] = dt_util.parse_datetime(values["time"]) or dt_util.utcnow()
        return cls(**values)


type CallListener = Callable[[CallRecord], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedCall:
    """A call kept in a ``saved_call`` subentry."""

    subentry_id: str
    name: str
    data: Mapping[str, Any]

    @property
    def message_variable(self) -> str | None:
        """The rule-group variable a notification's text goes into."""
        value = self.data.get(ATTR_MESSAGE_VARIABLE)
        return str(value) if value else None


def saved_calls(entry: ConfigEntry) -> dict[str, SavedCall]:
    """Return the entry's saved calls by subentry id."""
    return {
        subentry.subentry_id: SavedCall(
            subentry_id=subentry.subentry_id,
            name=subentry.title,
            data=dict(subentry.data),
        )
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_SAVED_CALL
    }


class InfocallerCaller:
    """Runtime data of one config entry: the client and the call records."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Build the client from the entry; records load in ``async_load``."""
        self.hass = hass
        self.entry = entry
        self.line_id: str = entry.data[CONF_IDINFOCALLER]
        self.client = self._build_client()
        self.saved_calls = saved_calls(entry)
        self._store = records_store(hass, entry.entry_id)
        self.last: CallRecord | None = None
        self.last_answer: CallRecord | None = None
        self.accepted_calls = 0
        self.refused_calls = 0
        self.recent: deque[CallRecord] = deque(maxlen=RECENT_RESULTS)
        self._listeners: list[CallListener] = []
        self._in_flight: set[tuple[Any, ...]] = set()
        self._recently_sent: dict[tuple[Any, ...], float] = {}

    # -- configuration ----------------------------------------------------

    def _build_client(self) -> InfocallerClient:
        return InfocallerClient(
            async_get_clientsession(self.hass),
            self.entry.data[CONF_IDINFOCALLER],
            self.entry.data[CONF_PASSWORD],
            endpoint=self.entry.data.get(CONF_ENDPOINT, DEFAULT_ENDPOINT),
            request_format=RequestFormat(
                self.entry.options.get(CONF_REQUEST_FORMAT, DEFAULT_REQUEST_FORMAT)
            ),
        )

    @callback
    def async_apply_options(self) -> None:
        """Take changed options into use (no reload, no restart)."""
        self.client = self._build_client()

    @property
    def time_zone(self) -> str:
        """The Infocaller account's time zone."""
        return str(self.entry.options.get(CONF_TIME_ZONE, DEFAULT_TIME_ZONE))

    @property
    def line_problem(self) -> bool:
        """Whether the last answer was an account-state code."""
        return (
            self.last_answer is not None
            and self.last_answer.result in LINE_PROBLEM_CODES
        )

    # -- persistence and listeners -----------------------------------------

    async def async_load(self) -> None:
        """Restore the records saved before the last restart."""
        if (data := await self._store.async_load()) is None:
            return
        self.accepted_calls = int(data.get("accepted_calls", 0))
        self.refused_calls = int(data.get("refused_calls", 0))
        if data.get("last"):
            self.last = CallRecord.from_dict(data["last"])
        if data.get("last_answer"):
            self.last_answer = CallRecord.from_dict(data["last_answer"])
        self.recent.extend(
            CallRecord.from_dict(item) for item in data.get("recent", [])
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the records, JSON-safe (what is saved, and diagnostics)."""
        return {
            "accepted_calls": self.accepted_calls,
            "refused_calls": self.refused_calls,
            "last": self.last.as_dict() if self.last else None,
            "last_answer": self.last_answer.as_dict() if self.last_answer else None,
            "recent": [record.as_dict() for record in self.recent],
        }

    @callback
    def async_add_listener(self, listener: CallListener) -> CALLBACK_TYPE:
        """Call ``listener`` with each new record; return the remover."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    # -- the call ---------------------------------------------------------------

    def _guard(self, call: ValidatedCall) -> None:
        """Refuse a request identical to one in flight or just sent."""
        now = time.monotonic()
        self._recently_sent = {
            key: sent
            for key, sent in self._recently_sent.items()
            if now - sent < DUPLICATE_WINDOW_SECONDS
        }
        if (
            call.fingerprint in self._in_flight
            or call.fingerprint in self._recently_sent
        ):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="duplicate_call",
                translation_placeholders={
                    "phone": call.phone,
                    "seconds": str(DUPLICATE_WINDOW_SECONDS),
                },
            )

    async def async_call(self, data: Mapping[str, Any], source: Source) -> CallRecord:
        """Validate, guard, send once, record, fire the event; return the record.

        Raises ``ServiceValidationError`` for the user's input (including
        input-type refusals from Infocaller) and ``HomeAssistantError`` for
        everything else, always translated.
        """
        try:
            call = await async_validate_for_entry(self.hass, self.entry, data)
        except CallValidationError as err:
            raise err.as_service_error() from err
        self._guard(call)

        self._in_flight.add(call.fingerprint)
        try:
            result = await self.client.issue_call(
                phone=call.phone,
                rule_group=call.rule_group,
                scheduled_for=call.scheduled_local,
                max_wait=call.max_wait,
                retries=call.retries,
                variables=dict(call.variables),
            )
        except InfocallerRejectedError as err:
            await self._async_record(call, source, err.result)
            raise self._refusal(err.result) from err
        except InfocallerConnectionError as err:
            LOGGER.warning("Could not reach Infocaller: %s", err)
            await self._async_record(call, source, None, RESULT_CONNECTION_ERROR)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err)},
            ) from err
        except InfocallerError as err:
            LOGGER.warning("No usable answer from Infocaller: %s", err)
            self._recently_sent[call.fingerprint] = time.monotonic()
            await self._async_record(call, source, None, RESULT_NO_ANSWER)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="outcome_unknown",
                translation_placeholders={"phone": call.phone, "error": str(err)},
            ) from err
        finally:
            self._in_flight.discard(call.fingerprint)
        self._recently_sent[call.fingerprint] = time.monotonic()
        return await self._async_record(call, source, result)

    def _refusal(self, result: CallResult) -> HomeAssistantError:
        """Return the translated error for a non-zero Resultado."""
        error = (
            ServiceValidationError
            if result.result in INPUT_CODES
            else HomeAssistantError
        )
        return error(
            translation_domain=DOMAIN,
            translation_key=f"result_{result.result_key}",
            translation_placeholders={
                "code": str(result.result),
                "text": result.result_text or "-",
            },
        )

    async def _async_record(
        self,
        call: ValidatedCall,
        source: Source,
        result: CallResult | None,
        no_result_key: str = RESULT_NO_ANSWER,
    ) -> CallRecord:
        """Keep, save, announce and hand to the entities one outcome."""
        record = CallRecord(
            time=dt_util.utcnow(),
            source=source.value,
            phone=call.phone,
            rule_group=call.rule_group,
            scheduled_for=(
                call.scheduled_for.isoformat() if call.scheduled_for else None
            ),
            result=None if result is None else result.result,
            result_key=no_result_key if result is None else result.result_key,
            result_text="" if result is None else result.result_text,
            call_id=None if result is None else result.call_id,
        )
        self.last = record
        self.recent.append(record)
        if result is not None:
            self.last_answer = record
            if result.accepted:
                self.accepted_calls += 1
            else:
                self.refused_calls += 1
            if result.result in REAUTH_CODES:
                self.entry.async_start_reauth(self.hass)
        await self._store.async_save(self.as_dict())
        self.hass.bus.async_fire(
            EVENT_CALL_RESULT,
            {"config_entry_id": self.entry.entry_id, **record.event_data()},
        )
        for listener in list(self._listeners):
            listener(record)
        return record


type InfocallerConfigEntry = ConfigEntry[InfocallerCaller]


def records_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Return the store of an entry's call records."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}")
