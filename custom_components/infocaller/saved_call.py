"""Saved calls: the calls kept in the line's ``saved_call`` subentries.

One home for what a saved call is (the dataclass), how an entry's saved
calls are listed, how their names are compared, and the ``_TITLE`` rule of
notifications.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
import unicodedata

from homeassistant.config_entries import ConfigEntry

from .const import ATTR_MESSAGE_VARIABLE, ATTR_VARIABLES

SUBENTRY_SAVED_CALL: Final = "saved_call"
#: A notification's title goes into the message variable's name plus this.
TITLE_SUFFIX: Final = "_TITLE"
#: Leading articles a spoken name may carry or lose ("llama al fontanero").
_ARTICLES = frozenset({"the", "el", "la", "los", "las"})


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

    def with_message(self, message: str, title: str | None) -> dict[str, Any]:
        """Return the call's data with a notification put into its variables."""
        variable = self.message_variable or ""
        variables = dict(self.data.get(ATTR_VARIABLES) or {})
        variables[variable] = message
        if title:
            variables[title_variable(variable)] = title
        return {**self.data, ATTR_VARIABLES: variables}


def title_variable(message_variable: str) -> str:
    """Return the variable that receives a notification's title."""
    return f"{message_variable}{TITLE_SUFFIX}"


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
