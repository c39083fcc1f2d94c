"""The API client is a package of its own: no Home Assistant imports."""

from __future__ import annotations

import ast
from pathlib import Path
import subprocess
import sys

API = Path(__file__).parents[2] / "custom_components" / "infocaller" / "api"


def test_no_home_assistant_imports_in_source() -> None:
    """No module of the package imports homeassistant (or the integration)."""
    files = sorted(API.glob("*.py"))
    assert len(files) >= 5
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level > 1:
                    names = ["..(parent package)"]
                else:
                    names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith(
                    ("homeassistant", "custom_components", "..")
                ), f"{file.name} imports {name}"


def test_imports_and_works_without_home_assistant() -> None:
    """Imported on its own, it pulls in no Home Assistant module."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import api;"
        "assert api.signature('123456789', '3956') == 'a2e12e9171fec3ebbb9c3c2a41b0b722';"
        "bad = sorted(m for m in sys.modules if m.startswith('homeassistant'));"
        "assert not bad, bad; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(API.parent)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "ok"
