"""What the demo's terminal shows of the logs (scripts/develop_log.py).

A Spanish tester saw "Setting up stage 2: {...}" (1,300 characters) in the
demo's terminal because it names every integration, this one too; a crash
showed 30 lines of ffmpeg and turbojpeg tracebacks; a simulator port in use
showed no cause. The banner said "the others answer after 2 s" while 3 and
4 are forwarded.
"""

from __future__ import annotations

from pathlib import Path
import re
import subprocess
import sys

from develop_log import explain, filter_lines
from infocaller_simulator import DEMO_SCRIPTS

ROOT = Path(__file__).parents[1]
STAGE_2 = (
    "2026-12-07 18:00:01.000 INFO (MainThread) [homeassistant.bootstrap] "
    "Setting up stage 2: {"
    + ", ".join(f"'integration_{n}'" for n in range(120))
    + ", 'infocaller'}"
)
FFMPEG = [
    "2026-12-07 18:00:02.000 ERROR (MainThread) [homeassistant.setup] "
    "Error during setup of component ffmpeg",
    "Traceback (most recent call last):",
    '  File "/venv/lib/python3.14/site-packages/homeassistant/setup.py", line 1',
    "FileNotFoundError: [Errno 2] No such file or directory: 'ffmpeg'",
    "2026-12-07 18:00:02.100 ERROR (ImportExecutor_0) [homeassistant.loader] "
    "Unexpected exception importing component homeassistant.components.camera",
    "Traceback (most recent call last):",
    "ImportError: libturbojpeg.so.0: cannot open shared object file",
]
NOT_TESTED = (
    "2026-12-07 18:00:00.500 WARNING (SyncWorker_0) [homeassistant.loader] "
    "We found a custom integration infocaller which has not been tested by "
    "Home Assistant."
)
OUR_DEBUG = (
    "2026-12-07 18:00:03.000 DEBUG (MainThread) "
    "[custom_components.infocaller.pipeline] Calling +34611222333 (Aviso)"
)
OUR_ERROR = [
    "2026-12-07 18:00:04.000 ERROR (MainThread) "
    "[custom_components.infocaller.progress] Could not apply a report",
    "Traceback (most recent call last):",
    "ValueError: bad stage",
]
SETUP_FAILED = (
    "2026-12-07 18:00:05.000 ERROR (MainThread) [homeassistant.setup] "
    "Setup failed for custom integration 'infocaller': Integration failed to "
    "initialize."
)
FRAME = (
    "2026-12-07 18:00:06.000 WARNING (MainThread) [homeassistant.helpers.frame] "
    "Detected that custom integration 'infocaller' calls async_write_ha_state "
    "from a thread"
)
LOG = [
    NOT_TESTED,
    STAGE_2,
    *FFMPEG,
    OUR_DEBUG,
    *OUR_ERROR,
    SETUP_FAILED,
    FRAME,
]


def test_the_terminal_shows_this_integrations_lines_only() -> None:
    """Its records (with tracebacks), and others' problems that name it."""
    assert list(filter_lines(f"{line}\n" for line in LOG)) == [
        OUR_DEBUG,
        *OUR_ERROR,
        SETUP_FAILED,
        FRAME,
    ]


def test_a_long_line_of_another_logger_is_cut() -> None:
    """Another logger's warning naming it shows, but not 1,300 characters."""
    long = STAGE_2.replace(" INFO ", " WARNING ")
    (shown,) = filter_lines([long])
    assert shown.startswith(long[:100])
    assert len(shown) == 300


def test_a_crash_is_explained_by_its_last_error() -> None:
    """A traceback printed at the end explains the crash, not ffmpeg's."""
    crash = [
        *FFMPEG,
        "Traceback (most recent call last):",
        '  File "/usr/lib/python3.14/asyncio/base_events.py", line 1, in create_server',
        "OSError: [Errno 98] error while attempting to bind on address "
        "('127.0.0.1', 8765): address already in use",
    ]
    assert explain(crash) == [
        "Traceback (most recent call last):",
        "OSError: [Errno 98] error while attempting to bind on address "
        "('127.0.0.1', 8765): address already in use",
    ]


def test_a_stop_after_an_error_record_shows_that_record() -> None:
    """The last error record: its first line and the exception it ends with."""
    assert explain([*FFMPEG, OUR_DEBUG, *OUR_ERROR, OUR_DEBUG]) == [
        OUR_ERROR[0],
        "ValueError: bad stage",
    ]
    assert explain([NOT_TESTED, STAGE_2]) == [NOT_TESTED, STAGE_2]
    assert explain([]) == []


def test_the_command_line(tmp_path: Path) -> None:
    """scripts/develop runs it as a filter and on a log file."""
    script = ROOT / "scripts" / "develop_log.py"
    log = tmp_path / "log"
    log.write_text("\n".join(LOG) + "\n")
    shown = subprocess.run(
        [sys.executable, str(script), "filter"],
        input="\n".join(LOG),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown.splitlines() == [OUR_DEBUG, *OUR_ERROR, SETUP_FAILED, FRAME]
    explained = subprocess.run(
        [sys.executable, str(script), "explain", str(log)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert explained.splitlines() == [SETUP_FAILED]
    assert subprocess.run([sys.executable, str(script)], check=False).returncode == 2


def test_scripts_develop_uses_them() -> None:
    """The terminal's filter and the crash explanation are these."""
    develop = (ROOT / "scripts" / "develop").read_text()
    assert 'develop_log.py" filter' in develop
    assert 'explain "$LOG"' in develop
    assert 'explain "$SIMULATOR_LOG"' in develop
    assert "tail -n 30" not in develop
    assert "grep --line-buffered -i" not in develop


def test_the_banner_tells_what_each_demo_number_does() -> None:
    """Each last digit the simulator scripts is in the banner, as it does it."""
    develop = (ROOT / "scripts" / "develop").read_text()
    banner = " ".join(develop[develop.index("Call progress (answered") :].split())
    said = {
        "0": "0 never answer",
        "1": "1 are busy",
        "2": "2 answer and press 1",
        "3": "3 answer and are forwarded",
        "4": "4 answer and the forward fails",
    }
    assert set(said) == set(DEMO_SCRIPTS)
    for digit, text in said.items():
        assert text in banner, digit
    script = DEMO_SCRIPTS
    assert script["0"].answer_after is None
    assert script["1"].busy
    assert script["2"].digits == "1"
    assert (script["3"].forward, script["4"].forward) == ("ok", "failed")
    assert re.search(r"the others\s+answer after 2 s and hang up 5 s later", banner)


def test_the_banner_tells_how_to_play_an_incoming_call() -> None:
    """The banner names the simulator's form and the blueprint as they are."""
    from homeassistant.util import yaml as yaml_util
    from infocaller_simulator import Simulator

    develop = (ROOT / "scripts" / "develop").read_text()
    banner = " ".join(develop[develop.index("Incoming calls (someone") :].split())
    page = Simulator()._page("").text  # the page as served
    assert page is not None
    form = re.search(r"<h2>(.*?)</h2>", page)
    assert form is not None
    assert f'"{form.group(1)}"' in banner
    for field in ("caller", "digits", "talk"):
        assert f'<input name="{field}"' in page
    # The number the banner suggests is the one the form starts with.
    assert f"the number {Simulator().incoming_form['caller']} (the form's)" in banner
    blueprint = yaml_util.load_yaml_dict(
        ROOT / "blueprints" / "automation" / "infocaller" / "incoming_call.yaml"
    )["blueprint"]
    name = blueprint["name"].removesuffix(" (Infocaller)")
    assert f'"{name}"' in banner
