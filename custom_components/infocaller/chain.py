"""Call people one at a time until one answers (``call_until_answered``).

Each attempt goes through the line's pipeline (``CallPipeline``) like
every other call, so the duplicate guard, the records and the events all
apply; between attempts the chain waits on call progress
(``CallWaiters.async_wait``). Every number is checked before the
first call, so a typo changes nothing. A refused attempt is recorded and the
chain goes on with the next person, except when it was refused because the
person may be ringing right now: a duplicate of a call placed moments ago
(say by another chain or automation), or that number's hourly limit. Then
the chain does not call the next person at once: it waits on the newest
followed call to that person, as if it had placed it (if that person
answers it, the chain counts them as answered); when the request to them
has not been answered by Infocaller yet (so it cannot be followed), it
waits its ``wait``. When every call to them is over (not answered, or
ended), nothing rings: the chain goes on at once. A chain that gives up
on a call (its ``wait`` passed) tells progress, so that a later call to the
same person (``rounds``) gets a report matched by number. Cancelling the calling script cancels
the chain at once: a call already accepted is not undone (Infocaller cannot
cancel a queued call), and no further call is placed. A chain belongs to
its line: when the line unloads (reload, disable, delete) the chain ends at
once with an error naming who was called, and nobody else is called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .api import Stage
from .const import (
    ATTR_PHONE,
    ATTR_RULE_GROUP,
    ATTR_VARIABLES,
    DOMAIN,
    LOGGER,
    Source,
)
from .records import CallRecord
from .runtime import InfocallerRuntimeData
from .saved_call import SavedCall, fold_name
from .validation import CallValidationError, async_validate_call
from .waiting import LineUnloadedError, reached

#: Refusals that mean the person may be ringing right now (a call to them
#: was placed moments ago): the chain waits before the next person.
MAY_BE_RINGING = frozenset({"duplicate_call", "rate_limited_number"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainTarget:
    """One person to call: a number, or a saved call."""

    data: Mapping[str, Any]
    saved: SavedCall | None


def resolve_targets(
    runtime: InfocallerRuntimeData,
    targets: Sequence[str],
    rule_group: str | None,
    variables: Mapping[str, Any],
) -> list[ChainTarget]:
    """Turn the action's list into calls: a saved call's name, else a number.

    A saved call keeps its own rule group and variables (the chain's
    variables are added); a number needs the chain's ``rule_group``.
    """
    by_name = {fold_name(saved.name): saved for saved in runtime.saved_calls.values()}
    resolved = []
    for target in targets:
        if (saved := by_name.get(fold_name(target))) is not None:
            data = dict(saved.data)
            data[ATTR_VARIABLES] = {
                **(saved.data.get(ATTR_VARIABLES) or {}),
                **variables,
            }
            resolved.append(ChainTarget(data=data, saved=saved))
            continue
        if not rule_group:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="chain_rule_group_required",
                translation_placeholders={"target": target},
            )
        resolved.append(
            ChainTarget(
                data={
                    ATTR_PHONE: target,
                    ATTR_RULE_GROUP: rule_group,
                    ATTR_VARIABLES: dict(variables),
                },
                saved=None,
            )
        )
    return resolved


async def async_call_until_answered(
    runtime: InfocallerRuntimeData,
    targets: list[ChainTarget],
    *,
    until: Stage,
    wait: float,
    rounds: int,
) -> dict[str, Any]:
    """Call each target in order, ``rounds`` times, until one reaches ``until``.

    Returns who answered (or None) and every attempt, JSON-safe.
    """
    pipeline = runtime.pipeline
    phones: list[str] = []
    for target in targets:  # refuse a bad number before anything is sent
        try:
            request = await async_validate_call(
                pipeline.hass,
                target.data,
                line_id=pipeline.line_id,
                default_max_wait=0,
                default_retries=0,
            )
        except CallValidationError as err:
            raise err.as_service_error() from err
        phones.append(request.phone)
    chain_key = tuple(phones)
    if chain_key in runtime.running_chains:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="chain_running"
        )
    runtime.running_chains.add(chain_key)
    attempts: list[dict[str, Any]] = []
    try:
        for round_number in range(1, rounds + 1):
            for target, phone in zip(targets, phones, strict=True):
                if pipeline.stopped:
                    raise _line_unloaded(runtime, attempts)
                attempt: dict[str, Any] = {
                    "round": round_number,
                    "phone": phone,
                    "saved_call": target.saved.name if target.saved else None,
                }
                attempts.append(attempt)
                try:
                    record = await pipeline.async_call(
                        target.data, Source.CHAIN, saved=target.saved
                    )
                except HomeAssistantError as err:
                    if err.translation_key == "line_unloaded":
                        attempts.pop()  # refused: nobody was called
                        raise _line_unloaded(runtime, attempts) from err
                    LOGGER.info(
                        "Chain: the call to %s was not placed (%s)",
                        phone,
                        err.translation_key,
                    )
                    attempt.update(call_id=None, status=None, error=err.translation_key)
                    if err.translation_key not in MAY_BE_RINGING:
                        continue
                    # The person may be ringing now: wait before the next one.
                    try:
                        earlier = await _wait_on_earlier(runtime, phone, until, wait)
                    except LineUnloadedError as unloaded:
                        raise _line_unloaded(runtime, attempts) from unloaded
                    if earlier is not None:
                        attempt.update(call_id=earlier.call_id, status=earlier.status)
                        if reached(earlier, until):
                            return {"answered_by": attempt, "attempts": attempts}
                    continue
                attempt.update(call_id=record.call_id, status=record.status, error=None)
                try:
                    record = await runtime.progress.waiters.async_wait(
                        record, until, wait
                    )
                except LineUnloadedError as err:
                    raise _line_unloaded(runtime, attempts) from err
                attempt.update(call_id=record.call_id, status=record.status, error=None)
                if reached(record, until):
                    return {"answered_by": attempt, "attempts": attempts}
                runtime.progress.async_give_up(record)
        return {"answered_by": None, "attempts": attempts}
    finally:
        runtime.running_chains.discard(chain_key)


async def _wait_on_earlier(
    runtime: InfocallerRuntimeData, phone: str, until: Stage, wait: float
) -> CallRecord | None:
    """Wait on the newest followed call to ``phone``, or a request on its way.

    Returns that call's newest record (None when no call to the person is
    followed: after ``wait`` seconds if a request to them is on its way, at
    once if not). Raises ``LineUnloadedError`` when the line unloads.
    """
    progress = runtime.progress
    if (earlier := progress.latest_call(phone)) is None:
        if phone in progress.sending:
            await progress.waiters.async_pause(wait)
        return None
    return await progress.waiters.async_wait(earlier, until, wait)


def _line_unloaded(
    runtime: InfocallerRuntimeData, attempts: list[dict[str, Any]]
) -> HomeAssistantError:
    """Return the error that ends a chain whose line unloaded.

    It names the people called (their calls were placed, and may ring).
    """
    called = [
        attempt["saved_call"] or attempt["phone"]
        for attempt in attempts
        if attempt.get("error") is None
    ]
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="chain_line_unloaded",
        translation_placeholders={
            "title": runtime.pipeline.entry.title,
            "called": ", ".join(called) or "-",
        },
    )
