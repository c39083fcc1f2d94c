"""The one path every call takes.

The action, buttons, notify entities and the voice intent hand a request to
``CallPipeline.async_call``, which validates it, guards against duplicates,
calls the client, hands one ``CallRecord`` to the records and fires the
``infocaller_call_result`` event. Entities and call progress only listen to
the line's signal (the records' changes); the pipeline also announces each
request on its way on a signal of its own (``records.request_signal``),
which no entity follows. The client
(``api``) classifies refusals; ``errors.py`` says which Home Assistant
error each one is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from .account import account_issue_id, async_build_client
from .api import (
    CallRequest,
    CallResult,
    Fault,
    InfocallerAuthenticationError,
    InfocallerClient,
    InfocallerConnectionError,
    InfocallerError,
    InfocallerRejectedError,
    InfocallerRequestError,
)
from .const import (
    CONF_CALL_PROGRESS,
    CONF_IDINFOCALLER,
    CONF_MAX_WAIT,
    CONF_RETRIES,
    DEFAULT_MAX_WAIT,
    DEFAULT_RETRIES,
    DOMAIN,
    EVENT_CALL_RESULT,
    LOGGER,
    RESULT_CONNECTION_ERROR,
    RESULT_NO_ANSWER,
    RESULT_RATE_LIMITED,
    CallStatus,
    Source,
)
from .errors import (
    not_encoded_error,
    not_sent_error,
    outcome_unknown_error,
    refusal_error,
)
from .guard import CallGuard, RateLimitedError, Ticket
from .matching import call_window_end
from .records import CallRecord, InfocallerRecords
from .saved_call import SavedCall
from .validation import CallValidationError, async_validate_call

#: Seconds an unload waits for calls in flight beyond the client's timeout.
DRAIN_MARGIN = 5.0


class CallPipeline:
    """The pipeline of one line: validate, guard, send once, record, announce."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: InfocallerClient,
        records: InfocallerRecords,
        *,
        guard: CallGuard,
    ) -> None:
        """Send with ``client``, keep outcomes in ``records``."""
        self.hass = hass
        self.entry = entry
        self.client = client
        self.records = records
        self.guard = guard
        #: An accepted call's record starts call progress (``queued``, its
        #: window's end) while the line follows it; turning that on or off
        #: reloads the line.
        self.follows_progress = bool(entry.options.get(CONF_CALL_PROGRESS))
        guard.apply_options(entry.options)
        guard.time_zone = client.time_zone
        self.line_id: str = entry.data[CONF_IDINFOCALLER]
        #: Infocaller refused the line's credentials: nothing more is sent
        #: until they are fixed (reauthentication reloads the line).
        self.credentials_refused = False
        #: The line is unloading or unloaded: nothing more is sent through
        #: this pipeline (a reload sets up a new one).
        self.stopped = False
        #: Calls let through the guard whose outcome is not recorded yet:
        #: the unload waits for them (``async_drain``).
        self._unrecorded: set[asyncio.Future[None]] = set()

    async def async_apply_options(self) -> None:
        """Take changed options into use (no reload)."""
        self.client = await async_build_client(self.hass, self.entry)
        self.guard.apply_options(self.entry.options)
        self.guard.time_zone = self.client.time_zone

    @property
    def account_issue_id(self) -> str:
        """The id of the line's account repair issue."""
        return account_issue_id(self.entry.entry_id)

    async def async_call(
        self,
        data: Mapping[str, Any],
        source: Source,
        *,
        saved: SavedCall | None = None,
    ) -> CallRecord:
        """Validate, guard, send once, record, fire the event; return the record.

        Raises ``ServiceValidationError`` for the user's input (including
        Infocaller's input refusals) and ``HomeAssistantError`` for
        everything else, always translated. A request that may have left
        (no usable answer, or the calling task cancelled while it was in
        flight) counts as sent for the duplicate guard and is recorded as
        ``no_answer``. ``saved`` names the saved call that asked, if any.
        """
        # One client for the whole call: an options change while the number
        # is normalised (an executor hop) must not validate the schedule in
        # one account zone and send it in another.
        client = self.client
        request = await self._async_validate(data, client)
        self._check_line_can_call()
        # From here the outcome must reach these records: an unload waits.
        recorded = self.hass.loop.create_future()
        self._unrecorded.add(recorded)
        try:
            ticket = await self._async_reserve(request, source, saved)
            # A report of the call may come before its answer: the request
            # is announced, and its end once its outcome is recorded.
            self._tell_on_its_way(request.phone, True)
            try:
                result = await self._async_send(client, request, ticket, source, saved)
                return await self._async_accepted(request, source, saved, result)
            finally:
                self._tell_on_its_way(request.phone, False)
        finally:
            self._unrecorded.discard(recorded)
            recorded.set_result(None)

    async def async_drain(self) -> None:
        """Wait until the calls already let through have their outcome recorded.

        The unload waits so that a call Infocaller accepts while the line
        reloads is in the records the next set-up reads. Bounded by the
        client's timeout (a request ends by then), plus a margin.
        """
        if not self._unrecorded:
            return
        _recorded, unrecorded = await asyncio.wait(
            set(self._unrecorded), timeout=self.client.timeout + DRAIN_MARGIN
        )
        if unrecorded:
            LOGGER.warning(
                "%s unloaded with %d call(s) still waiting for Infocaller's "
                "answer; their records are not kept",
                self.entry.title,
                len(unrecorded),
            )

    async def _async_validate(
        self, data: Mapping[str, Any], client: InfocallerClient
    ) -> CallRequest:
        """Return the request ``data`` asks for, in the client's account zone."""
        options = self.entry.options
        try:
            return await async_validate_call(
                self.hass,
                data,
                line_id=self.line_id,
                default_max_wait=int(options.get(CONF_MAX_WAIT, DEFAULT_MAX_WAIT)),
                default_retries=int(options.get(CONF_RETRIES, DEFAULT_RETRIES)),
                time_zone=client.time_zone,
            )
        except CallValidationError as err:
            raise err.as_service_error() from err

    def _check_line_can_call(self) -> None:
        """Refuse a call through a line being unloaded or with refused credentials."""
        if self.stopped:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="line_unloaded",
                translation_placeholders={"title": self.entry.title},
            )
        if self.credentials_refused:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="credentials_refused",
                translation_placeholders={"title": self.entry.title},
            )

    async def _async_reserve(
        self, request: CallRequest, source: Source, saved: SavedCall | None
    ) -> Ticket:
        """Pass the duplicate guard and write its entry ahead of the request."""
        try:
            ticket = self.guard.async_check(request)
        except RateLimitedError:
            self._record(request, source, saved, None, RESULT_RATE_LIMITED)
            raise
        try:
            # On disk before the first byte leaves: a crash or a reload
            # during the request cannot let it through again.
            await self.guard.async_write_ahead(ticket)
            # The unload may have started (or the credentials been refused)
            # while the entry was written: then nothing leaves.
            self._check_line_can_call()
        except OSError as err:
            self.guard.async_not_placed(ticket)
            LOGGER.error("Could not write the duplicate guard's entry: %s", err)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="guard_not_written",
                translation_placeholders={"error": str(err)},
            ) from err
        except BaseException:
            self.guard.async_not_placed(ticket)
            raise
        return ticket

    async def _async_send(
        self,
        client: InfocallerClient,
        request: CallRequest,
        ticket: Ticket,
        source: Source,
        saved: SavedCall | None,
    ) -> CallResult:
        """Send the request once; record and raise every outcome but acceptance."""
        # Until proven otherwise, a request may have been placed.
        placed = True
        try:
            return await client.issue_call(request)
        except InfocallerRejectedError as err:
            placed = False
            self._record(request, source, saved, err.result)
            if isinstance(err, InfocallerAuthenticationError):
                self._credentials_refused()
            elif err.result.fault is Fault.ACCOUNT:
                self._account_problem(err.result)
            raise refusal_error(err.result) from err
        except InfocallerConnectionError as err:
            placed = False
            LOGGER.warning("Could not reach Infocaller: %s", err)
            self._record(request, source, saved, None, RESULT_CONNECTION_ERROR)
            raise not_sent_error(err) from err
        except InfocallerRequestError as err:
            placed = False
            # Validation refuses what cannot be sent, so this is a bug.
            LOGGER.error("The request could not be encoded: %s", err)
            raise not_encoded_error(err) from err
        except InfocallerError as err:
            LOGGER.warning("No usable answer from Infocaller: %s", err)
            self._record(request, source, saved, None, RESULT_NO_ANSWER)
            raise outcome_unknown_error(err, request.phone) from err
        except asyncio.CancelledError:
            # The request may have left: never let it be sent again at once.
            LOGGER.warning(
                "A call to %s was cancelled while waiting for Infocaller; "
                "it may have been placed",
                request.phone,
            )
            self._record(request, source, saved, None, RESULT_NO_ANSWER)
            raise
        finally:
            if placed:
                self.guard.async_sent(ticket)
            else:
                self.guard.async_not_placed(ticket)

    async def _async_accepted(
        self,
        request: CallRequest,
        source: Source,
        saved: SavedCall | None,
        result: CallResult,
    ) -> CallRecord:
        """Record an accepted call and save the record before returning it."""
        ir.async_delete_issue(self.hass, DOMAIN, self.account_issue_id)
        if not self.follows_progress:
            record = self._record(request, source, saved, result)
        else:
            # Call progress follows the call from its record (``progress.py``).
            record = self._record(
                request,
                source,
                saved,
                result,
                status=CallStatus.QUEUED.value,
                window_end=call_window_end(request, dt_util.utcnow()).isoformat(),
            )
        return record

    def _tell_on_its_way(self, phone: str, sending: bool) -> None:
        """Announce a request leaving (``True``), or over (``False``).

        Over means its outcome is recorded (or none will be): call progress
        then matches the reports it held for it, at once.
        """
        async_dispatcher_send(self.hass, self.records.request_signal, phone, sending)

    def _credentials_refused(self) -> None:
        """Stop sending for this line, and ask for the password once."""
        if not self.credentials_refused:
            self.credentials_refused = True
            self.entry.async_start_reauth(self.hass)

    def _account_problem(self, result: CallResult) -> None:
        """Raise a repair issue saying what to do about the account."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.account_issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            learn_more_url="https://www.infocaller.com",
            translation_key=f"account_{result.result_key}",
            translation_placeholders={
                "title": self.entry.title,
                "code": str(result.result),
                "text": result.result_text or "-",
            },
        )

    def _record(
        self,
        request: CallRequest,
        source: Source,
        saved: SavedCall | None,
        result: CallResult | None,
        no_result_key: str = RESULT_NO_ANSWER,
        *,
        status: str | None = None,
        window_end: str | None = None,
    ) -> CallRecord:
        """Fire the outcome's event, then hand it to the records."""
        record = CallRecord(
            time=dt_util.utcnow(),
            source=source.value,
            phone=request.phone,
            rule_group=request.rule_group,
            scheduled_for=(
                request.scheduled_for.isoformat() if request.scheduled_for else None
            ),
            result=None if result is None else result.result,
            result_key=no_result_key if result is None else result.result_key,
            result_text="" if result is None else result.result_text,
            call_id=None if result is None else result.call_id,
            saved_call=None if saved is None else saved.name,
            status=status,
            window_end=window_end,
        )
        # The result first: adding the record applies the call's early
        # reports (``progress.py``), announced after it.
        self.hass.bus.async_fire(
            EVENT_CALL_RESULT,
            {
                "config_entry_id": self.entry.entry_id,
                **record.as_dict(),
                "saved_call_id": None if saved is None else saved.subentry_id,
            },
        )
        self.records.async_add(record, None if saved is None else saved.subentry_id)
        return record
