"""Time importing the integration in fresh interpreters (for scripts/bench).

Home Assistant has loaded its core and the entity platforms by the time it
imports an integration, so those are imported first and not counted: what
is measured is what this package adds to Home Assistant's start-up.

Home Assistant writes bytecode (``__pycache__``) the first time it imports
the integration; every later start loads that. So the package is copied to
a temporary folder, imported once there to compile it ("first start", also
reported), then timed with its bytecode. (The benchmark's Python 3.14 root
file system sets PYTHONDONTWRITEBYTECODE, which would time compiling the
source on every run: that is lifted here.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = Path(__file__).parents[1]
RUNS = int(os.environ.get("BENCH_IMPORT_RUNS", "7"))
# homeassistant first, as in Home Assistant: since 2026 its package
# registers probatio under the name voluptuous, which must happen before
# anything imports voluptuous (importing voluptuous first loads the real one
# and prints a RuntimeWarning).
PRELOAD = """
import homeassistant
import aiohttp, voluptuous
import homeassistant.core, homeassistant.config_entries, homeassistant.data_entry_flow
import homeassistant.helpers.config_validation, homeassistant.helpers.entity_platform
import homeassistant.helpers.storage, homeassistant.helpers.aiohttp_client
import homeassistant.helpers.device_registry, homeassistant.helpers.selector
import homeassistant.helpers.intent, homeassistant.helpers.translation
import homeassistant.components.sensor, homeassistant.components.binary_sensor
import homeassistant.components.button, homeassistant.components.event
import homeassistant.components.notify, homeassistant.components.diagnostics
import homeassistant.components.logbook.const
# Set up before this integration: its dependency (webhook) and core helpers.
import homeassistant.components.webhook, homeassistant.helpers.issue_registry
import homeassistant.helpers.network, homeassistant.helpers.event
"""
TARGETS = {
    "package": ["custom_components.infocaller"],
    # What Home Assistant imports at start, before set-up: the package and
    # the platforms it preloads (loader.BASE_PRELOAD_PLATFORMS) that exist.
    "package_and_preloaded_platforms": [
        "custom_components.infocaller",
        "custom_components.infocaller.config_flow",
        "custom_components.infocaller.diagnostics",
        "custom_components.infocaller.intent",
        "custom_components.infocaller.logbook",
    ],
    "package_and_platforms": [
        "custom_components.infocaller",
        "custom_components.infocaller.config_flow",
        "custom_components.infocaller.sensor",
        "custom_components.infocaller.binary_sensor",
        "custom_components.infocaller.event",
        "custom_components.infocaller.button",
        "custom_components.infocaller.notify",
        "custom_components.infocaller.intent",
    ],
    "phonenumbers (loaded lazily, in the executor)": ["phonenumbers"],
}


def _once(modules: list[str], folder: Path) -> float:
    code = (
        PRELOAD
        + "import importlib, time, sys\n"
        + "t = time.perf_counter()\n"
        + "".join(f"importlib.import_module({m!r})\n" for m in modules)
        + "print((time.perf_counter() - t) * 1000)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def measure() -> dict[str, dict[str, float]]:
    """Median and spread over RUNS fresh interpreters, per target."""
    out = {}
    for name, modules in TARGETS.items():
        with tempfile.TemporaryDirectory() as folder:
            shutil.copytree(
                ROOT / "custom_components",
                Path(folder) / "custom_components",
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            first = _once(modules, Path(folder))
            samples = [_once(modules, Path(folder)) for _ in range(RUNS)]
        out[name] = {
            "median_ms": statistics.median(samples),
            "min_ms": min(samples),
            "max_ms": max(samples),
            "runs": RUNS,
            "first_start_ms": first,
        }
    return out


def main() -> None:
    """Measure (JSON on stdout), or show a measurement (--show FILE)."""
    if len(sys.argv) == 3 and sys.argv[1] == "--show":
        figures = json.loads(Path(sys.argv[2]).read_text())
        print(
            "\nimport time in a fresh interpreter, with bytecode "
            "(Home Assistant preloaded):"
        )
        for name, value in figures.items():
            print(
                f"  {name}: {value['median_ms']:.1f} ms median "
                f"({value['min_ms']:.1f}-{value['max_ms']:.1f}, {value['runs']} runs); "
                f"first start (compiling): {value['first_start_ms']:.1f} ms"
            )
        return
    print(json.dumps(measure()))


if __name__ == "__main__":
    main()
