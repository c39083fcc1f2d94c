"""Validation of a call request's meaning: the one set of rules for every caller.

The action's schema has already checked the types (``services.py``); the
saved-call flows check theirs with selectors. What needs meaning is checked
here, for every source alike (action, saved-call flows, buttons, notify
entities, the voice intent): E.164 phone numbers in the line's country, the
schedule's window, variable names and lengths, and characters that cannot be
sent. A failure is a ``CallValidationError`` naming the field and a
translation key; the pipeline (``pipeline.py``) raises it as a translated
``ServiceValidationError``, a flow shows it as a form error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
import re
from typing import Any, Literal

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .api import CallRequest, has_unsendable, mark_unsendable
from .const import (
    ATTR_MAX_WAIT,
    ATTR_PHONE,
    ATTR_RETRIES,
    ATTR_RULE_GROUP,
    ATTR_SCHEDULE,
    ATTR_VARIABLES,
    DOMAIN,
    MAX_RULE_GROUP_LENGTH,
    MAX_SCHEDULE_DAYS,
    MAX_VARIABLE_NAME_LENGTH,
    MAX_VARIABLE_VALUE_LENGTH,
    MAX_VARIABLES,
)

_VARIABLE_NAME = re.compile(r"^[^\s\x00-\x1f\x7f]+$")
_LINE_ID_SEPARATORS = re.compile(r"[\s\-.()]")
#: The E.164 form (or None) of each (value, line id) normalised before, for
#: this run of Home Assistant; emptied when it reaches ``NORMALIZED_LIMIT``.
NORMALIZED: HassKey[dict[tuple[str, str], str | None]] = HassKey(
    f"{DOMAIN}_normalized_phones"
)
NORMALIZED_LIMIT = 4096
DEFAULT_REGION = "ES"


class CallValidationError(Exception):
    """A field of a call request is not acceptable."""

    def __init__(
        self, field: str, key: str, placeholders: Mapping[str, str] | None = None
    ) -> None:
        """Name the field and the translation key of the problem."""
        super().__init__(f"{field}: {key}")
        self.field = field
        self.key = key
        self.placeholders = {"field": field, **(placeholders or {})}

    def as_service_error(self) -> ServiceValidationError:
        """Return the translated error the pipeline raises."""
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=self.key,
            translation_placeholders=self.placeholders,
        )


def normalize_line_id(value: str) -> str | None:
    """Return the line id as digits (no spaces, ``+`` or ``00``), or None."""
    text = _LINE_ID_SEPARATORS.sub("", str(value))
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    if not text.isascii() or not text.isdigit() or not 6 <= len(text) <= 15:
        return None
    return text


def line_region(line_id: str) -> str:
    """Return the region of the line's country code (default Spain).

    Blocking on first use (imports phonenumbers): run it in the executor.
    """
    import phonenumbers  # noqa: PLC0415 - slow: not paid at start-up, off the loop

    try:
        number = phonenumbers.parse(f"+{line_id}")
    except phonenumbers.NumberParseException:
        return DEFAULT_REGION
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return DEFAULT_REGION if region in (None, "ZZ", "001") else region


def normalize_phone(value: str, line_id: str) -> str | None:
    """Return ``value`` in E.164, or None if it is not a valid number.

    A number without a country code is taken as one of the line's country.
    Blocking the first time a region is used (phonenumbers imports its
    metadata): run it in the executor (``async_normalize_phone`` does).
    """
    import phonenumbers  # noqa: PLC0415 - slow: not paid at start-up, off the loop

    try:
        number = phonenumbers.parse(value, line_region(line_id))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _shown(value: str) -> str:
    """Return ``value`` fit to quote in a message (unsendable characters replaced)."""
    return mark_unsendable(value)


async def async_normalize_phone(
    hass: HomeAssistant, value: str, line_id: str
) -> str | None:
    """Normalise ``value`` (see ``normalize_phone``) without blocking the loop.

    A number seen before comes from the cache at once; only a new one takes
    the hop to the executor, where phonenumbers may load region metadata.
    Cached, since the same numbers (saved calls, automations) come back.
    """
    normalized = hass.data.setdefault(NORMALIZED, {})
    key = (value, line_id)
    if key in normalized:
        return normalized[key]
    phone = await hass.async_add_executor_job(normalize_phone, value, line_id)
    if len(normalized) >= NORMALIZED_LIMIT:
        normalized.clear()
    normalized[key] = phone
    return phone


def _text(data: Mapping[str, Any], field: str) -> str:
    """Return a required text field, stripped; refuse it empty or unsendable."""
    value = str(data.get(field) or "").strip()
    if not value:
        raise CallValidationError(field, "missing_field")
    return value


def wall_time_problem(
    wall: datetime, zone: tzinfo
) -> Literal["nonexistent", "ambiguous"] | None:
    """Say whether the naive wall time ``wall`` is skipped or repeated in ``zone``.

    ``nonexistent``: the clocks go forward over it (2027-03-28 02:30 in
    Madrid); ``ambiguous``: they go back over it and it happens twice
    (2027-10-31 02:30 in Madrid); None: it names exactly one instant.
    """
    first = wall.replace(tzinfo=zone, fold=0)
    if first.utcoffset() == wall.replace(tzinfo=zone, fold=1).utcoffset():
        return None
    # Two offsets: a gap or a fold. A wall time that exists comes back
    # unchanged from the instant its first reading names.
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None, fold=0)
    return "ambiguous" if back == wall.replace(fold=0) else "nonexistent"


def _schedule(
    value: datetime | None, now: datetime, account_zone: tzinfo
) -> datetime | None:
    """Return the schedule, aware and whole seconds, inside the allowed window.

    A naive time is Home Assistant's local time. The client sends it in the
    Infocaller account's time zone, as a wall time without an offset, so a
    time is refused when it names no instant or two (a daylight-saving
    change in its own zone), and when the instant reads, in the account's
    zone, as a wall time that happens twice: Infocaller could not tell
    which one is meant.

    A time with a fixed UTC offset is also refused as skipped when its wall
    time is skipped in Home Assistant's zone and its offset is one of the
    two that zone has either side of that gap: that is how a skipped local
    time is written (``{{ today_at('02:30') }}`` renders
    ``2027-03-28 02:30:00+01:00`` on Madrid's spring-forward day, an
    instant that is 03:30 there). The same instant written otherwise
    (``01:30Z``, ``03:30+02:00``), and any offset that is not one of the
    zone's, are taken as the instants they name.
    """
    if value is None:
        return None
    home = dt_util.get_default_time_zone()
    zone = value.tzinfo or home
    wall = value.replace(tzinfo=None, microsecond=0)
    problem = wall_time_problem(wall, zone)
    if (
        problem is None
        # A fixed offset (``timezone``, ciso8601's) answers without a date.
        and zone.utcoffset(None) is not None
        and wall_time_problem(wall, home) == "nonexistent"
        and value.utcoffset()
        in (
            wall.replace(tzinfo=home, fold=0).utcoffset(),
            wall.replace(tzinfo=home, fold=1).utcoffset(),
        )
    ):
        problem, zone = "nonexistent", home
    if problem:
        raise CallValidationError(
            ATTR_SCHEDULE,
            f"schedule_{problem}",
            {
                "value": wall.isoformat(sep=" "),
                "zone": str(zone),
                "date": wall.date().isoformat(),
            },
        )
    moment = wall.replace(tzinfo=zone)
    if moment < now:
        raise CallValidationError(
            ATTR_SCHEDULE, "schedule_in_past", {"value": moment.isoformat()}
        )
    if moment > now + timedelta(days=MAX_SCHEDULE_DAYS):
        raise CallValidationError(
            ATTR_SCHEDULE,
            "schedule_too_far",
            {"value": moment.isoformat(), "days": str(MAX_SCHEDULE_DAYS)},
        )
    local = moment.astimezone(UTC).astimezone(account_zone).replace(tzinfo=None)
    if wall_time_problem(local, account_zone) == "ambiguous":
        raise CallValidationError(
            ATTR_SCHEDULE,
            "schedule_ambiguous_for_account",
            {
                "value": moment.isoformat(),
                "local": local.isoformat(sep=" "),
                "zone": str(account_zone),
                "date": local.date().isoformat(),
            },
        )
    return moment


def _variable_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if (
        not isinstance(value, str)
        or len(value) > MAX_VARIABLE_VALUE_LENGTH
        or has_unsendable(value)
    ):
        raise CallValidationError(
            ATTR_VARIABLES, "invalid_variable_value", {"name": _shown(name)}
        )
    return value


def validate_variable_name(name: str, field: str) -> None:
    """Refuse a name a rule group variable cannot have."""
    if (
        not _VARIABLE_NAME.match(name)
        or len(name) > MAX_VARIABLE_NAME_LENGTH
        or has_unsendable(name)
    ):
        raise CallValidationError(
            field, "invalid_variable_name", {"name": _shown(name)}
        )


def validate_variables(value: Any) -> tuple[tuple[str, str], ...]:
    """Return the variables as (name, text) pairs, in the given order.

    The action's schema already makes them a mapping of names to plain
    values; a saved call's come from a free-form object selector, so the
    shape is checked here too.
    """
    if value is None or value == "":
        return ()
    if not isinstance(value, Mapping):
        raise CallValidationError(ATTR_VARIABLES, "invalid_variables")
    if len(value) > MAX_VARIABLES:
        raise CallValidationError(
            ATTR_VARIABLES, "too_many_variables", {"max": str(MAX_VARIABLES)}
        )
    pairs: list[tuple[str, str]] = []
    for raw_name, raw_value in value.items():
        name = str(raw_name)
        validate_variable_name(name, ATTR_VARIABLES)
        pairs.append((name, _variable_value(name, raw_value)))
    return tuple(pairs)


async def async_validate_call(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    *,
    line_id: str,
    default_max_wait: int,
    default_retries: int,
    time_zone: tzinfo | None = None,
) -> CallRequest:
    """Check a call request's meaning; return the client's request.

    ``time_zone`` is the Infocaller account's (the client's), where the
    schedule is read as a wall time; None means Home Assistant's (what the
    client falls back to). Raises ``CallValidationError`` naming the field.
    """
    raw_phone = _text(data, ATTR_PHONE)
    rule_group = _text(data, ATTR_RULE_GROUP)
    if len(rule_group) > MAX_RULE_GROUP_LENGTH or has_unsendable(rule_group):
        raise CallValidationError(
            ATTR_RULE_GROUP, "invalid_rule_group", {"value": _shown(rule_group)}
        )
    phone = None
    if not has_unsendable(raw_phone):
        phone = await async_normalize_phone(hass, raw_phone, line_id)
    if phone is None:
        raise CallValidationError(
            ATTR_PHONE, "invalid_phone", {"value": _shown(raw_phone)}
        )
    max_wait, retries = data.get(ATTR_MAX_WAIT), data.get(ATTR_RETRIES)
    return CallRequest(
        phone=phone,
        rule_group=rule_group,
        scheduled_for=_schedule(
            data.get(ATTR_SCHEDULE),
            dt_util.now(),
            time_zone or dt_util.get_default_time_zone(),
        ),
        max_wait=default_max_wait if max_wait is None else int(max_wait),
        retries=default_retries if retries is None else int(retries),
        variables=validate_variables(data.get(ATTR_VARIABLES)),
    )
