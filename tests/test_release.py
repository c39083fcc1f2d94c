"""The release habit: one version in manifest.json, pyproject.toml and CHANGELOG."""

from __future__ import annotations

import json
from pathlib import Path
import re
import tomllib

ROOT = Path(__file__).parents[1]


def test_versions_agree() -> None:
    """The newest CHANGELOG section is the version of the manifest and project."""
    manifest = json.loads(
        (ROOT / "custom_components" / "infocaller" / "manifest.json").read_text()
    )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    sections = re.findall(
        r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M
    )
    assert sections, "CHANGELOG.md has no version section"
    assert manifest["version"] == project["version"] == sections[0]
