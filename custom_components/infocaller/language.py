"""The one rule for picking the language of plain text we write ourselves.

Home Assistant translates entity names, errors and flows from
``translations/``; spoken intent answers and logbook lines are plain text,
so they are picked here: Spanish for any Spanish locale, else English.
"""

from __future__ import annotations

from typing import Final, Literal

LANGUAGES: Final = ("en", "es")


def text_language(language: str | None) -> Literal["en", "es"]:
    """Return "es" for Spanish (any region), else "en"."""
    base = (language or "").split("-", maxsplit=1)[0].lower()
    return "es" if base == "es" else "en"
