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

The "floor" is a package generated from the real one with the same modules
and, in each, the same dataclasses (same options and fields) and enums, and
nothing else: what the design (a module per responsibility, dataclass
models, StrEnums) costs before any of the integration's code runs. The
targets are timed in turns, round after round, so the machine's drifts
fall on all of them alike.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import json
import os
from pathlib import Path
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Any

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
FLOOR = "floor: the package's modules, dataclasses and enums, nothing else"
PACKAGE = "custom_components.infocaller"


def _once(modules: list[str], folder: Path) -> tuple[float, float]:
    """Import ``modules`` in a fresh interpreter: (total ms, of which GC ms).

    The garbage collector's pauses are timed apart: a collection that
    starts during the import scans Home Assistant's whole heap (about 10 ms
    for the entity platforms here), whoever's allocation happened to start
    it; it would otherwise fall on the next code to allocate.
    """
    code = (
        PRELOAD
        + "import gc, importlib, time, sys\n"
        + "pauses = []\n"
        + "def timed(phase, info):\n"
        + "    pauses.append((phase, time.perf_counter()))\n"
        + "gc.callbacks.append(timed)\n"
        + "t = time.perf_counter()\n"
        + "".join(f"importlib.import_module({m!r})\n" for m in modules)
        + "total = time.perf_counter() - t\n"
        + "gc.callbacks.remove(timed)\n"
        + "starts = [at for phase, at in pauses if phase == 'start']\n"
        + "stops = [at for phase, at in pauses if phase == 'stop']\n"
        + "print(total * 1000, sum(b - a for a, b in zip(starts, stops)) * 1000)\n"
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
    total, collecting = result.stdout.strip().splitlines()[-1].split()
    return float(total), float(collecting)


def _skeleton_source(module: Any) -> str:
    """The dataclasses and enums a module defines, as source, nothing else."""
    lines = [
        "from __future__ import annotations",
        "from dataclasses import dataclass, field",
        "from enum import Enum, StrEnum",
    ]
    for name, obj in vars(module).items():
        if not inspect.isclass(obj) or obj.__module__ != module.__name__:
            continue
        if dataclasses.is_dataclass(obj):
            params = obj.__dataclass_params__  # type: ignore[attr-defined]
            fields = dataclasses.fields(obj)
            kw_only = bool(fields) and all(f.kw_only for f in fields)
            lines.append(
                f"@dataclass(frozen={params.frozen}, eq={params.eq}, "
                f"repr={params.repr}, slots={'__slots__' in obj.__dict__}, "
                f"kw_only={kw_only})"
            )
            lines.append(f"class {name}:\n    {'Doc.'!r}")
            for item in fields:
                options = []
                if item.default is not dataclasses.MISSING:
                    options.append("default=None")
                elif item.default_factory is not dataclasses.MISSING:
                    options.append("default_factory=list")
                options += [
                    f"{option}=False"
                    for option in ("init", "repr", "compare")
                    if not getattr(item, option)
                ]
                default = f" = field({', '.join(options)})" if options else ""
                lines.append(f"    {item.name}: {str(item.type)!r}{default}")
        elif issubclass(obj, enum.Enum):
            base = "StrEnum" if issubclass(obj, enum.StrEnum) else "Enum"
            lines.append(f"class {name}({base}):\n    {'Doc.'!r}")
            lines.extend(f"    {member.name} = {member.value!r}" for member in obj)
    return "\n".join(lines) + "\n"


def write_skeleton(source: Path, out: Path) -> None:
    """Write the floor package: run in a fresh interpreter (it imports the real one)."""
    sys.path.insert(0, str(source))
    before = set(sys.modules)
    importlib.import_module(PACKAGE)
    names = sorted(
        name
        for name in set(sys.modules) - before
        if name == PACKAGE or name.startswith(f"{PACKAGE}.")
    )
    for name in names:
        module = sys.modules[name]
        text = _skeleton_source(module)
        path = out.joinpath(*name.split("."))
        if hasattr(module, "__path__"):
            path = path / "__init__.py"
        else:
            path = path.with_suffix(".py")
        if name == PACKAGE:
            text += "".join(f"import {other}\n" for other in names if other != name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (out / "custom_components" / "__init__.py").write_text("")


def measure() -> dict[str, dict[str, float]]:
    """Median and spread over RUNS fresh interpreters, per target."""
    targets: dict[str, tuple[list[str], Path]] = {}
    with tempfile.TemporaryDirectory() as temp:
        # A copy per target, so that each one's first import compiles it.
        for number, (name, modules) in enumerate(TARGETS.items()):
            folder = Path(temp) / str(number)
            shutil.copytree(
                ROOT / "custom_components",
                folder / "custom_components",
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            targets[name] = (modules, folder)
        floor = Path(temp) / "floor"
        subprocess.run(
            [sys.executable, __file__, "--skeleton", str(ROOT), str(floor)],
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=True,
        )
        targets[FLOOR] = ([PACKAGE], floor)
        first = {name: _once(*target)[0] for name, target in targets.items()}
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
        for _ in range(RUNS):
            for name, target in targets.items():
                samples[name].append(_once(*target))
    out = {}
    for name, values in samples.items():
        totals = [total for total, _ in values]
        without_gc = [total - collecting for total, collecting in values]
        out[name] = {
            "median_ms": statistics.median(totals),
            "min_ms": min(totals),
            "max_ms": max(totals),
            "median_without_gc_ms": statistics.median(without_gc),
            "min_without_gc_ms": min(without_gc),
            "median_gc_ms": statistics.median(c for _, c in values),
            "runs": RUNS,
            "first_start_ms": first[name],
        }
    return out


def main() -> None:
    """Measure (JSON on stdout), or show a measurement (--show FILE)."""
    if len(sys.argv) == 4 and sys.argv[1] == "--skeleton":
        write_skeleton(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--show":
        figures = json.loads(Path(sys.argv[2]).read_text())
        print(
            "\nimport time in a fresh interpreter, with bytecode "
            "(Home Assistant preloaded):"
        )
        for name, value in figures.items():
            print(
                f"  {name}: {value['median_ms']:.1f} ms median "
                f"({value['min_ms']:.1f}-{value['max_ms']:.1f}, {value['runs']} runs), "
                f"without GC pauses {value['median_without_gc_ms']:.1f} "
                f"(min {value['min_without_gc_ms']:.1f}); "
                f"first start (compiling): {value['first_start_ms']:.1f} ms"
            )
        return
    print(json.dumps(measure()))


if __name__ == "__main__":
    main()
