"""Constants for the Infocaller integration."""

from __future__ import annotations

from enum import StrEnum
import logging
from typing import Final

from .api import RESULT_KEYS, Stage

DOMAIN: Final = "infocaller"
LOGGER = logging.getLogger(__package__)

CONF_IDINFOCALLER: Final = "idinfocaller"
CONF_ENDPOINT: Final = "endpoint"
CONF_MAX_WAIT: Final = "max_wait"
CONF_RETRIES: Final = "retries"
CONF_REQUEST_FORMAT: Final = "request_format"
CONF_CALL_PROGRESS: Final = "call_progress"
CONF_CLOUDHOOK_URL: Final = "cloudhook_url"
CONF_REPEAT_WINDOW: Final = "repeat_window"
CONF_MAX_CALLS_PER_NUMBER: Final = "max_calls_per_number"
CONF_MAX_CALLS_PER_DAY: Final = "max_calls_per_day"

DEFAULT_MAX_WAIT: Final = 5
DEFAULT_RETRIES: Final = 0
DEFAULT_TIME_ZONE: Final = "Europe/Madrid"
DEFAULT_REQUEST_FORMAT: Final = "json"
#: Loop protection (options): an identical request within this many
#: seconds is a duplicate; at most so many calls per number per hour, and
#: per line per day (0 = no limit).
DEFAULT_REPEAT_WINDOW: Final = 60
DEFAULT_MAX_CALLS_PER_NUMBER: Final = 10
DEFAULT_MAX_CALLS_PER_DAY: Final = 0
REPEAT_WINDOW_LIMIT: Final = 3600
MAX_CALLS_PER_NUMBER_LIMIT: Final = 1000
MAX_CALLS_PER_DAY_LIMIT: Final = 100000

MAX_WAIT_LIMIT: Final = 300
RETRIES_LIMIT: Final = 4

# Action fields (also the keys of a saved call).
ATTR_PHONE: Final = "phone"
ATTR_RULE_GROUP: Final = "rule_group"
ATTR_SCHEDULE: Final = "schedule"
ATTR_MAX_WAIT: Final = "max_wait"
ATTR_RETRIES: Final = "retries"
ATTR_VARIABLES: Final = "variables"
ATTR_MESSAGE_VARIABLE: Final = "message_variable"

SERVICE_ISSUE_CALL: Final = "issue_call"
SERVICE_CALL_UNTIL_ANSWERED: Final = "call_until_answered"
EVENT_CALL_RESULT: Final = "infocaller_call_result"
EVENT_CALL_PROGRESS: Final = "infocaller_call_progress"
#: A call someone made to the line (``incoming.py``).
EVENT_INCOMING_CALL: Final = "infocaller_incoming_call"


RESULT_NO_ANSWER: Final = "no_answer"
RESULT_CONNECTION_ERROR: Final = "connection_error"
RESULT_RATE_LIMITED: Final = "rate_limited"
#: Every result key an entity or event can show.
ALL_RESULT_KEYS: Final = (
    *RESULT_KEYS,
    RESULT_NO_ANSWER,
    RESULT_CONNECTION_ERROR,
    RESULT_RATE_LIMITED,
)
#: Call records are written to disk this many seconds after a change (and
#: when Home Assistant stops or the entry unloads), not on every call.
RECORDS_SAVE_DELAY: Final = 10
#: A scheduled call may be at most this far ahead.
MAX_SCHEDULE_DAYS: Final = 365
MAX_VARIABLES: Final = 20
MAX_VARIABLE_NAME_LENGTH: Final = 64
MAX_VARIABLE_VALUE_LENGTH: Final = 1000
MAX_RULE_GROUP_LENGTH: Final = 100


#: Call progress: an accepted call counts as not answered when nothing says
#: it was answered by its start (scheduled time or acceptance) plus its
#: maximum wait, plus this much ringing per attempt, plus RETRY_INTERVAL
#: before each retry (Infocaller retries at least 5 minutes apart).
RING_SECONDS: Final = 90
RETRY_INTERVAL_SECONDS: Final = 300
#: An "ended" without "answered" waits this long for a late "answered"
#: (requests may arrive out of order) before the call counts as not answered.
ORDER_GRACE_SECONDS: Final = 3
#: An answered call is followed until it ends, or for at most this long.
MAX_TALK_SECONDS: Final = 4 * 3600
#: Finished calls kept for late events that name their call id.
FINISHED_CALLS_KEPT: Final = 100
#: ``wait_for`` and a chain's wait per person: bounds and defaults (seconds).
WAIT_TIMEOUT_MIN: Final = 5
WAIT_TIMEOUT_MAX: Final = 3600
DEFAULT_WAIT_TIMEOUT: Final = 120
DEFAULT_CHAIN_WAIT: Final = 60
MAX_CHAIN_ROUNDS: Final = 5
MAX_CHAIN_TARGETS: Final = 20


class Source(StrEnum):
    """What asked for a call."""

    ACTION = "action"
    BUTTON = "button"
    NOTIFY = "notify"
    INTENT = "intent"
    CHAIN = "chain"


class CallStatus(StrEnum):
    """Where an accepted call is, as far as call progress knows."""

    QUEUED = "queued"
    ANSWERED = "answered"
    FORWARD_ANSWERED = "forward_answered"
    FORWARD_FAILED = "forward_failed"
    ACKNOWLEDGED = "acknowledged"
    DIGITS = "digits"
    NOT_ANSWERED = "not_answered"


#: The one mapping between call progress's two words for where a call is:
#: the ``Stage`` a report (or the window's end) says, and the ``CallStatus``
#: it gives the call. ``ended`` gives none (it sets ``ended_at``, the
#: status stays what was reached); ``queued`` is the status of an accepted
#: call before any report.
STATUS_OF_STAGE: Final[dict[Stage, CallStatus]] = {
    Stage.ANSWERED: CallStatus.ANSWERED,
    Stage.FORWARD_ANSWERED: CallStatus.FORWARD_ANSWERED,
    Stage.FORWARD_FAILED: CallStatus.FORWARD_FAILED,
    Stage.ACKNOWLEDGED: CallStatus.ACKNOWLEDGED,
    Stage.DIGITS: CallStatus.DIGITS,
    Stage.NOT_ANSWERED: CallStatus.NOT_ANSWERED,
}
