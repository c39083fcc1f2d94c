"""Validation of a call request: the one set of rules for every caller.

The action, the saved-call flows, buttons, notify entities and the voice
intent all pass their input through ``async_validate_call``. A failure is a
``CallValidationError`` naming the field and a translation key; the action
turns it into a ``ServiceValidationError``, a flow into a form error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
import re
from typing import Any
import unicodedata

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import phonenumbers

from .const import (
    ATTR_MAX_WAIT,
    ATTR_PHONE,
    ATTR_RETRIES,
    ATTR_RULE_GROUP,
    ATTR_SCHEDULE,
    ATTR_VARIABLES,
    CONF_IDINFOCALLER,
    CONF_MAX_WAIT,
    CONF_RETRIES,
    CONF_TIME_ZONE,
    DEFAULT_MAX_WAIT,
    DEFAULT_RETRIES,
    DEFAULT_TIME_ZONE,
    DOMAIN,
    MAX_RULE_GROUP_LENGTH,
    MAX_SCHEDULE_DAYS,
    MAX_VARIABLE_NAME_LENGTH,
    MAX_VARIABLE_VALUE_LENGTH,
    MAX_VARIABLES,
    MAX_WAIT_LIMIT,
    RETRIES_LIMIT,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_VARIABLE_NAME = re.compile(r"^[^\s\x00-\x1f\x7f]+$")
_LINE_ID_SEPARATORS = re.compile(r"[\s\-.()]")
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
        """Return the translated error an action raises."""
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=self.key,
            translation_placeholders=self.placeholders,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidatedCall:
    """A call request that passed every check, in the form Infocaller wants."""

    phone: str
    rule_group: str
    scheduled_for: datetime | None
    max_wait: int
    retries: int
    variables: tuple[tuple[str, str], ...]

    @property
    def scheduled_local(self) -> datetime | None:
        """The schedule as the API wants it: naive, in the account's zone."""
        return (
            None
            if self.scheduled_for is None
            else self.scheduled_for.replace(tzinfo=None)
        )

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """What makes two requests the same call (for the duplicate guard)."""
        return (
            self.phone,
            self.rule_group,
            self.scheduled_local,
            self.variables,
        )


def normalize_line_id(value: str) -> str | None:
    """Return the line id as digits (no spaces, ``+`` or ``00``), or None."""
    text = _LINE_ID_SEPARATORS.sub("", str(value))
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    if not text.isdigit() or not 6 <= len(text) <= 15:
        return None
    return text


def line_region(line_id: str) -> str:
    """Return the region of the line's country code (default Spain)."""
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
    metadata): run it in the executor.
    """
    try:
        number = phonenumbers.parse(value, line_region(line_id))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _required_text(data: Mapping[str, Any], field: str) -> str:
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CallValidationError(field, "missing_field")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CallValidationError(field, f"invalid_{field}", {"value": str(value)})
    return str(value).strip()


def _bounded_int(value: Any, field: str, default: int, maximum: int) -> int:
    if value is None or value == "":
        return default
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 0 <= number <= maximum:
        raise CallValidationError(
            field, f"invalid_{field}", {"value": str(value), "max": str(maximum)}
        )
    return number


def _schedule(value: Any, time_zone: str, now: datetime) -> datetime | None:
    if value is None or value == "":
        return None
    moment: datetime | None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = None
    else:
        moment = dt_util.parse_datetime(str(value).strip())
    if moment is None:
        raise CallValidationError(
            ATTR_SCHEDULE, "invalid_schedule", {"value": str(value)}
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_util.get_default_time_zone())
    account_zone = dt_util.get_time_zone(time_zone) or dt_util.get_default_time_zone()
    moment = moment.astimezone(account_zone).replace(microsecond=0)
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
    return moment


def _variable_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise CallValidationError(
            ATTR_VARIABLES, "invalid_variable_value", {"name": name}
        )
    if len(value) > MAX_VARIABLE_VALUE_LENGTH or _CONTROL.search(value):
        raise CallValidationError(
            ATTR_VARIABLES, "invalid_variable_value", {"name": name}
        )
    return value


def validate_variables(value: Any) -> tuple[tuple[str, str], ...]:
    """Return the variables as (name, text) pairs, in the given order."""
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
        if not isinstance(raw_name, (str, int)):
            raise CallValidationError(
                ATTR_VARIABLES, "invalid_variable_name", {"name": name}
            )
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
    time_zone: str,
) -> ValidatedCall:
    """Check and normalise a call request; raise ``CallValidationError``."""
    raw_phone = _required_text(data, ATTR_PHONE)
    rule_group = _required_text(data, ATTR_RULE_GROUP)
    if len(rule_group) > MAX_RULE_GROUP_LENGTH or _CONTROL.search(rule_group):
        raise CallValidationError(
            ATTR_RULE_GROUP, "invalid_rule_group", {"value": rule_group}
        )
    phone = await hass.async_add_executor_job(normalize_phone, raw_phone, line_id)
    if phone is None:
        raise CallValidationError(ATTR_PHONE, "invalid_phone", {"value": raw_phone})
    return ValidatedCall(
        phone=phone,
        rule_group=rule_group,
        scheduled_for=_schedule(data.get(ATTR_SCHEDULE), time_zone, dt_util.now()),
        max_wait=_bounded_int(
            data.get(ATTR_MAX_WAIT), ATTR_MAX_WAIT, default_max_wait, MAX_WAIT_LIMIT
        ),
        retries=_bounded_int(
            data.get(ATTR_RETRIES), ATTR_RETRIES, default_retries, RETRIES_LIMIT
        ),
        variables=validate_variables(data.get(ATTR_VARIABLES)),
    )


async def async_validate_for_entry(
    hass: HomeAssistant, entry: ConfigEntry, data: Mapping[str, Any]
) -> ValidatedCall:
    """Validate a request with the line's country, defaults and time zone."""
    options = entry.options
    return await async_validate_call(
        hass,
        data,
        line_id=entry.data[CONF_IDINFOCALLER],
        default_max_wait=int(options.get(CONF_MAX_WAIT, DEFAULT_MAX_WAIT)),
        default_retries=int(options.get(CONF_RETRIES, DEFAULT_RETRIES)),
        time_zone=str(options.get(CONF_TIME_ZONE, DEFAULT_TIME_ZONE)),
    )


def validate_variable_name(name: str, field: str) -> None:
    """Refuse a name a rule group variable cannot have."""
    if not _VARIABLE_NAME.match(name) or len(name) > MAX_VARIABLE_NAME_LENGTH:
        raise CallValidationError(field, "invalid_variable_name", {"name": name})


#: Leading articles a spoken name may carry or lose ("llama al fontanero").
_ARTICLES = frozenset({"the", "el", "la", "los", "las"})


def fold_name(name: str) -> str:
    """Fold a saved call's name for matching.

    Case, accents, extra spaces and one leading article do not count, so
    "El Fontanero", "fontanero" and "the fontanero" are the same name.
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    words = "".join(c for c in decomposed if not unicodedata.combining(c)).split()
    if len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)
