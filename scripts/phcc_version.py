#!/usr/bin/env python3
"""Find the pytest-homeassistant-custom-component release for a CI leg.

Each release of pytest-homeassistant-custom-component (phcc) pins exactly one
Home Assistant release, so choosing phcc chooses Home Assistant.

    phcc_version.py newest --python-version 3.14.8
        the newest phcc that pins a final (not beta) Home Assistant release;
        it also reports the newest Home Assistant on PyPI, so a lag shows.
    phcc_version.py pin-of 0.13.232
        the Home Assistant release that phcc 0.13.232 pins.

Uses pip (``index versions`` and ``download --no-deps``); prints the answer
on stdout and what it looked at on stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import re
import subprocess
import sys
import tempfile
import zipfile

PHCC = "pytest-homeassistant-custom-component"
FINAL = re.compile(r"^\d+\.\d+\.\d+$")


def _pip(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def versions(package: str, python_version: str) -> list[str]:
    """Return the versions pip offers, newest first."""
    out = _pip(
        "index",
        "versions",
        package,
        "--python-version",
        python_version,
        "--only-binary=:all:",
    )
    for line in out.splitlines():
        if line.startswith("Available versions:"):
            return [v.strip() for v in line.split(":", 1)[1].split(",")]
    raise SystemExit(f"pip listed no versions of {package}")


def pinned_home_assistant(phcc_version: str, python_version: str) -> str:
    """Return the Home Assistant version a phcc release pins."""
    with tempfile.TemporaryDirectory() as folder:
        _pip(
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            python_version,
            "-d",
            folder,
            f"{PHCC}=={phcc_version}",
        )
        (wheel,) = Path(folder).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/METADATA"))
            metadata = archive.read(name).decode()
    match = re.search(r"^Requires-Dist: homeassistant==(\S+)", metadata, re.M)
    if match is None:
        raise SystemExit(f"{PHCC} {phcc_version} pins no Home Assistant")
    return match.group(1)


def main() -> None:
    """Answer one question."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("newest", "pin-of"))
    parser.add_argument("version", nargs="?")
    parser.add_argument("--python-version", default="3.14.2")
    args = parser.parse_args()

    if args.what == "pin-of":
        print(pinned_home_assistant(args.version, args.python_version))
        return

    newest_ha = next(
        v for v in versions("homeassistant", args.python_version) if FINAL.match(v)
    )
    for candidate in versions(PHCC, args.python_version)[:15]:
        pin = pinned_home_assistant(candidate, args.python_version)
        if FINAL.match(pin):
            note = "" if pin == newest_ha else f" (no phcc pins {newest_ha} yet)"
            print(
                f"newest Home Assistant on PyPI: {newest_ha}; "
                f"{PHCC} {candidate} pins {pin}{note}",
                file=sys.stderr,
            )
            print(candidate)
            return
        print(f"{PHCC} {candidate} pins {pin}: not final, skipped", file=sys.stderr)
    raise SystemExit("no recent phcc release pins a final Home Assistant")


if __name__ == "__main__":
    main()
