"""The README stays short, and the documents' links and pictures resolve.

HACS renders the README whole on the integration's page, so it is for the
people who install the integration; what contributors need lives in
CONTRIBUTING.md and docs/, linked from it.
"""

from __future__ import annotations

import json
from pathlib import Path
import re

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
#: "At most about 480 lines": HACS shows all of it (450 until incoming calls
#: and device triggers, two capabilities users look for, were added).
README_MAX_LINES = 480
DOCUMENTS = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
#: The target of a Markdown link or image: `](target)`.
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*```")


def _prose(text: str) -> str:
    """Return the text without its fenced code blocks."""
    lines, in_code = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code:
            lines.append(line)
    return "\n".join(lines)


def slug(heading: str) -> str:
    """Return GitHub's anchor for a heading's text."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    """Return every heading anchor of a Markdown file (repeats get -1, -2...)."""
    seen: dict[str, int] = {}
    found = set()
    for line in _prose(document.read_text()).splitlines():
        if match := re.match(r"^#{1,6} (.+)$", line):
            base = slug(match[1])
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def local_links(document: Path) -> list[str]:
    """Return the links of a document that point inside this repository."""
    return [
        target
        for target in LINK.findall(_prose(document.read_text()))
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target)
    ]


def test_the_readme_is_short() -> None:
    """The README is for users: at most about 480 lines."""
    lines = README.read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines"


def test_the_readme_keeps_its_two_commands() -> None:
    """Newcomers and CI start from the README's two commands."""
    text = README.read_text()
    assert "`scripts/develop`" in text
    assert "`scripts/test`" in text


def test_the_readme_links_the_contributor_documents() -> None:
    """What moved out of the README is linked from it."""
    targets = {target.split("#")[0] for target in local_links(README)}
    assert {
        "CONTRIBUTING.md",
        "docs/reference.md",
        "docs/reliability.md",
    } <= targets
    contributing = {
        target.split("#")[0] for target in local_links(ROOT / "CONTRIBUTING.md")
    }
    assert {
        "docs/development.md",
        "docs/architecture.md",
        "docs/reliability.md",
        "docs/performance.md",
    } <= contributing


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_links_and_pictures_resolve(document: Path) -> None:
    """Every relative link and picture points at a file (and heading) that exists."""
    broken = []
    for target in local_links(document):
        path, _, fragment = target.partition("#")
        file = (document.parent / path).resolve() if path else document
        missing = not file.exists() or (
            bool(fragment) and file.suffix == ".md" and fragment not in anchors(file)
        )
        if missing:
            broken.append(target)
    assert not broken, f"{document.name}: {broken}"


def test_the_slug_is_githubs() -> None:
    """The anchors the links are checked against are the ones GitHub makes."""
    assert slug("The `infocaller.issue_call` action") == (
        "the-infocallerissue_call-action"
    )
    assert slug("Call progress: was it answered?") == "call-progress-was-it-answered"
    assert slug("The setup's credential check") == "the-setups-credential-check"
    assert slug("Results: event, entities, Activity") == (
        "results-event-entities-activity"
    )


def test_the_readme_lists_every_key_of_the_result_event() -> None:
    """The README's event table names exactly the keys the event carries.

    The event is the record's dict plus ``config_entry_id`` (pipeline.py); the
    table once listed 11 keys of 17.
    """
    from homeassistant.util import dt as dt_util

    from custom_components.infocaller.records import CallRecord

    record = CallRecord(
        time=dt_util.utcnow(),
        source="action",
        phone="+34611222333",
        rule_group="Aviso",
        scheduled_for=None,
        result=0,
        result_key="accepted",
        result_text="OK",
        call_id="1",
    )
    event_keys = {"config_entry_id", "saved_call_id", *record.as_dict()}
    section = README.read_text().split("\n## Results", 1)[1].split("\n## ", 1)[0]
    table = section.split("\n| key | value |", 1)[1].split("\n\n", 1)[0]
    listed = {
        key
        for row in table.splitlines()[2:]
        for key in re.findall(r"`(\w+)`", row.split("|")[1])
    }
    assert listed == event_keys


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_code_fences_stand_alone(document: Path) -> None:
    """A fence is a line of its own: text after a closing fence is swallowed."""
    fences = [line for line in document.read_text().splitlines() if FENCE.match(line)]
    bad = [line for line in fences if not re.fullmatch(r"\s*```[a-z]*", line)]
    assert not bad, f"{document.name}: {bad}"
    assert len(fences) % 2 == 0, f"{document.name}: a code block is not closed"


def test_the_result_keys_table_is_the_translations() -> None:
    """The reference's table of result keys: every key, named as the UI names it.

    The README links to it instead of repeating it.
    """
    translations = ROOT / "custom_components" / "infocaller" / "translations"
    names = {
        language: json.loads((translations / f"{language}.json").read_text())["entity"][
            "sensor"
        ]["last_result"]["state"]
        for language in ("en", "es")
    }
    reference = (ROOT / "docs" / "reference.md").read_text()
    table = reference.split("\n## Result keys\n", 1)[1].split("\n## ", 1)[0]
    rows = {
        cells[1].strip("`"): (cells[2], cells[3])
        for line in table.splitlines()[2:]
        if (cells := [cell.strip() for cell in line.strip("|").split("|")])
        and len(cells) == 4
    }
    assert rows == {
        key: (english, names["es"][key]) for key, english in names["en"].items()
    }
    assert "docs/reference.md#result-keys" in README.read_text()
