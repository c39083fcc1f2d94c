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


def spanish_after(preposition: Literal["a", "de"], name: str) -> str:
    """Write ``preposition name`` as Spanish does: "a el" is "al", "de el" "del".

    "Llamar a El fontanero" is written "Llamar al fontanero"; other names
    ("a Mamá", "a La vecina") stay as they are.
    """
    first, _, rest = name.partition(" ")
    if first.lower() == "el" and rest:
        return f"{preposition}l {rest}"
    return f"{preposition} {name}"


def saved_call_placeholders(name: str, language: str | None) -> dict[str, str]:
    """Return the placeholders of a saved call's device name, for ``language``.

    ``callee`` is what follows "Call"/"Llamar": the name itself in English,
    with its preposition in Spanish ("al fontanero", "a Mamá"). Home
    Assistant renders device names once, in its own language.
    """
    if text_language(language) == "es":
        return {"callee": spanish_after("a", name)}
    return {"callee": name}
