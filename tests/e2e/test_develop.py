"""scripts/develop starts the simulator and Home Assistant, and Ctrl-C stops both."""

from __future__ import annotations

import asyncio
import contextlib
import html
import importlib.util
import json
import os
from pathlib import Path
import signal
import socket
import sys
from typing import Any

import aiohttp
import pytest

from custom_components.infocaller.const import DOMAIN

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(300)]

ROOT = Path(__file__).parents[2]
MINIMAL = """\
homeassistant:
  name: develop test
  time_zone: Europe/Madrid
  external_url: !env_var DEVELOP_EXTERNAL_URL http://127.0.0.1:8123
  packages: !include_dir_named packages
api:
config:
onboarding:
conversation:
intent:
logger:
  default: warning
  logs:
    homeassistant.bootstrap: info
"""


#: The card the README shows (the demo's saved call "Fontanero", English).
DASHBOARD_CARD: dict[str, Any] = {
    "type": "entities",
    "title": "Fontanero",
    "entities": [
        {"entity": "button.call_fontanero", "name": "Call"},
        {"entity": "sensor.call_fontanero_last_result", "name": "Result"},
    ],
}


def _rendered(flow: dict[str, Any], language: str) -> str:
    """A flow step's description as the user reads and copies it.

    The translated text with its placeholders filled, and its Markdown
    rendered: code spans and code blocks show without their backticks.
    """
    translations = json.loads(
        (
            ROOT / "custom_components" / DOMAIN / "translations" / f"{language}.json"
        ).read_text()
    )
    text = translations["options"]["step"][flow["step_id"]]["description"]
    return str(text.format(**flow["description_placeholders"])).replace("`", "")


async def _stop(process: asyncio.subprocess.Process) -> None:
    """After a failure: let scripts/develop stop its children, then kill it.

    Home Assistant and the simulator run in sessions of their own: killing
    the script's group alone would leave them running.
    """
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(90):
                await process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _up(session: aiohttp.ClientSession, url: str) -> bool:
    with contextlib.suppress(aiohttp.ClientError):
        async with session.get(url) as response:
            return response.status < 500
    return False


async def _assist_calls_a_saved_call(
    port: int, simulator_port: int, tmp_path: Path
) -> None:
    """On the demo's first start, Assist places a saved call by its name.

    Onboards, adds the line (against the demo's simulator) and a saved call
    "Fontanero" through the UI's REST APIs, then says "call Fontanero".
    """
    from tests.e2e.test_end_to_end import HomeAssistantProcess, _onboard

    hass = HomeAssistantProcess(
        config=tmp_path / "config", port=port, log=tmp_path / "develop.log"
    )
    simulator = f"http://127.0.0.1:{simulator_port}"
    async with aiohttp.ClientSession() as session:
        await _onboard(session, hass)
        # No repair from the demo's own configuration (its http: section
        # raised one on Home Assistant 2026.10). Home Assistant's own about
        # how it is installed (Core, in a venv) is not the demo's doing.
        async with hass.websocket(session) as ws:
            await ws.send_json({"id": 1, "type": "repairs/list_issues"})
            answer = await ws.receive_json()
        assert answer["success"], answer
        issues = {
            (issue["domain"], issue["issue_id"]) for issue in answer["result"]["issues"]
        }
        assert issues - {("homeassistant", "deprecated_method")} == set()
        _, flow = await hass.request(
            session, "POST", "/api/config/config_entries/flow", json={"handler": DOMAIN}
        )
        status, result = await hass.request(
            session,
            "POST",
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            json={
                "idinfocaller": "34910000000",
                "password": "demo1234",
                "advanced": {"endpoint": simulator},
            },
        )
        assert result["type"] == "create_entry", result
        entry_id = result["result"]["entry_id"]
        _, flow = await hass.request(
            session,
            "POST",
            "/api/config/config_entries/subentries/flow",
            json={"handler": [entry_id, "saved_call"]},
        )
        status, result = await hass.request(
            session,
            "POST",
            f"/api/config/config_entries/subentries/flow/{flow['flow_id']}",
            json={"name": "Fontanero", "phone": "611222333", "rule_group": "Aviso"},
        )
        assert result["type"] == "create_entry", result
        status, answer = await hass.request(
            session,
            "POST",
            "/api/conversation/process",
            json={"text": "call Fontanero", "language": "en"},
        )
        assert status == 200, answer
        speech = answer["response"]["speech"]["plain"]["speech"]
        assert speech == "Calling Fontanero", answer

        # The logbook (its own API): the call Assist placed is one entry,
        # the call's line; the entities it changed (the call-result event,
        # last result, last call, the saved call's result) are left out by
        # the demo's logbook configuration (they used to add 4 more).
        async def ours() -> list[tuple[str | None, str]]:
            _, entries = await hass.request(session, "GET", "/api/logbook")
            return [
                (entry.get("entity_id"), entry.get("message") or entry.get("state"))
                for entry in entries
                if entry.get("domain") == DOMAIN
                or any(
                    word in entry.get("entity_id", "") for word in (DOMAIN, "fontanero")
                )
            ]

        async with asyncio.timeout(30):  # the recorder commits every second
            while not await ours():
                await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # anything written with it is in too
        assert await ours() == [
            (None, "call to +34611222333 (Aviso) accepted, call id SIM00000002")
        ]

        # The README's dashboard card: a new dashboard, the saved call's
        # button with its result beside it. Lovelace keeps it, and every
        # entity it names exists (with the result of the call just placed).
        async with hass.websocket(session) as ws:
            await ws.send_json(
                {
                    "id": 1,
                    "type": "lovelace/dashboards/create",
                    "url_path": "infocaller-demo",
                    "title": "Infocaller",
                    "mode": "storage",
                }
            )
            assert (await ws.receive_json())["success"]
            config = {"views": [{"title": "Infocaller", "cards": [DASHBOARD_CARD]}]}
            await ws.send_json(
                {
                    "id": 2,
                    "type": "lovelace/config/save",
                    "url_path": "infocaller-demo",
                    "config": config,
                }
            )
            assert (await ws.receive_json())["success"]
            await ws.send_json(
                {"id": 3, "type": "lovelace/config", "url_path": "infocaller-demo"}
            )
            assert (await ws.receive_json())["result"] == config
        for row in DASHBOARD_CARD["entities"]:
            status, state = await hass.request(
                session, "GET", f"/api/states/{row['entity']}"
            )
            assert status == 200, (row, state)
        assert state["state"] == "accepted", state
        async with session.get(f"{simulator}/_simulator/requests") as response:
            received = await response.json()
        # The setup's credential check, then the call Assist placed.
        assert [
            item["fields"]["callRequest"]["callData"]["numtelefono"]
            for item in received
        ] == ["0", "+34611222333"]

        # Call progress, as the banner says: turn it on, paste what Home
        # Assistant shows into the simulator's page, and wait for an answer.
        base = "/api/config/config_entries/options/flow"
        _, flow = await hass.request(session, "POST", base, json={"handler": entry_id})
        _, flow = await hass.request(
            session,
            "POST",
            f"{base}/{flow['flow_id']}",
            json={"next_step_id": "call_progress"},
        )
        _, flow = await hass.request(
            session, "POST", f"{base}/{flow['flow_id']}", json={"call_progress": True}
        )
        assert flow["step_id"] == "call_progress_urls", flow
        # What the user sees: the step's translated text, URLs filled in,
        # selected and copied as a whole (a URL used to end a sentence, and
        # its full stop went along: digits=1.).
        shown = _rendered(flow, "en")
        _, result = await hass.request(
            session, "POST", f"{base}/{flow['flow_id']}", json={}
        )
        assert result["type"] == "create_entry", result
        async with session.post(
            f"{simulator}/_simulator/", data={"all": shown}
        ) as response:
            assert "Saved." in await response.text()
        webhook = flow["description_placeholders"]["answered_url"].split("?")[0]
        async with asyncio.timeout(30):  # the line reloads with its webhook
            while True:
                async with session.get(webhook) as answer:
                    if answer.status == 400:
                        break
                await asyncio.sleep(0.2)
        status, body = await hass.request(
            session,
            "POST",
            "/api/services/infocaller/issue_call?return_response",
            json={
                "phone": "611222335",
                "rule_group": "Aviso",
                "wait_for": "answered",
                "timeout": 30,
            },
        )
        assert status == 200, body
        assert body["service_response"]["answered"] is True, body
        # Numbers ending in 2 answer and press 1: the call ends with the keys.
        status, body = await hass.request(
            session,
            "POST",
            "/api/services/infocaller/issue_call?return_response",
            json={
                "phone": "611222332",
                "rule_group": "Aviso",
                "wait_for": "acknowledged",
                "timeout": 30,
            },
        )
        assert status == 200, body
        assert body["service_response"]["digits"] == "1", body

        # The same step in Spanish, as a user with Home Assistant in Spanish
        # reads and copies it: pasted alone (the English URLs cleared
        # first), every URL is found and the keys a person presses arrive.
        async with session.post(f"{simulator}/_simulator/", data={"all": ""}):
            pass
        spanish = _rendered(flow, "es")
        assert "pega cada URL en su evento" in spanish
        async with session.post(
            f"{simulator}/_simulator/", data={"all": spanish}
        ) as response:
            page = await response.text()
        assert "Saved." in page
        for name in (
            "answered_url",
            "forward_answered_url",
            "forward_failed_url",
            "ended_url",
            "query_url",
        ):
            url = flow["description_placeholders"][name]
            assert f'value="{html.escape(url)}"' in page, (name, page)
        status, body = await hass.request(
            session,
            "POST",
            "/api/services/infocaller/issue_call?return_response",
            json={
                "phone": "611222342",
                "rule_group": "Aviso",
                "wait_for": "acknowledged",
                "timeout": 30,
            },
        )
        assert status == 200, body
        assert body["service_response"]["digits"] == "1", body


def _ignore_sigint() -> None:
    """Start as `nohup` or `&` from a script would: SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _demo_configuration() -> str:
    """The demo's own configuration.yaml, as scripts/develop installs it.

    Without the frontend's package (not in every test venv), the
    integrations the frontend would bring that the test uses.
    """
    text = (ROOT / "config" / "configuration.yaml").read_text()
    if importlib.util.find_spec("hass_frontend") is None:
        text = text.replace(
            "frontend:\n", "onboarding:\nrepairs:\nwebsocket_api:\nlovelace:\n"
        )
    return text


def _develop_env(config: Path, port: int, simulator_port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "VENV": sys.prefix,
        "DEVELOP_NO_SETUP": "1",
        "DEVELOP_CONFIG": str(config),
        "DEVELOP_PORT": str(port),
        "SIMULATOR_PORT": str(simulator_port),
    }


@pytest.mark.parametrize(
    "how",
    [
        # A terminal's Ctrl-C: SIGINT to the whole foreground process group.
        "terminal",
        # Started in the background (SIGINT ignored), then `kill -INT <pid>`.
        "ignored",
    ],
)
async def test_develop_starts_and_stops_both(tmp_path: Path, how: str) -> None:
    """Both come up, the banner once started; SIGINT stops both, cleanly.

    The terminal variant runs the demo's own configuration: no repair of
    its own, the blueprint installed, Assist and call progress at work.
    """
    config = tmp_path / "config"
    config.mkdir()
    # The ignored variant: a lean configuration (starts faster).
    (config / "configuration.yaml").write_text(
        _demo_configuration() if how == "terminal" else MINIMAL
    )
    port, simulator_port = _free_port(), _free_port()
    env = _develop_env(config, port, simulator_port)
    log = tmp_path / "develop.log"
    hass_log = config / "develop-home-assistant.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(ROOT / "scripts" / "develop"),
            stdout=out,
            stderr=out,
            env=env,
            start_new_session=True,
            preexec_fn=_ignore_sigint if how == "ignored" else None,
        )
    try:
        async with asyncio.timeout(180), aiohttp.ClientSession() as session:
            while not (
                await _up(
                    session, f"http://127.0.0.1:{simulator_port}/_simulator/requests"
                )
                and await _up(session, f"http://127.0.0.1:{port}/api/")
            ):
                assert process.returncode is None, log.read_text()
                await asyncio.sleep(0.5)
        # Signal once start-up is over (and the banner came), as a person at
        # a terminal would.
        async with asyncio.timeout(120):
            while "Home Assistant is ready" not in log.read_text():
                assert process.returncode is None, log.read_text()[-3000:]
                await asyncio.sleep(0.5)
        output = log.read_text()
        # The banner comes once Home Assistant has said it started (it used
        # to come while it was still starting, buried by its start-up lines).
        assert "Home Assistant initialized in" in hass_log.read_text()
        assert output.count("Home Assistant is ready") == 1
        assert output.count("Line password:   demo1234") == 1
        assert "34910000000" in output
        assert f"http://127.0.0.1:{simulator_port}" in output
        assert "the same call (same number, same rule group) placed again" in output
        assert "within 60 s is refused as a duplicate" in output
        assert f"Home Assistant's log: {hass_log}" in output
        # Other integrations' start-up lines stay in the log file.
        assert "Home Assistant initialized" not in output
        assert "homeassistant.bootstrap" not in output
        assert "Traceback" not in output
        assert (config / "custom_components" / "infocaller").resolve() == (
            ROOT / "custom_components" / "infocaller"
        )
        # Assist's sentences are there from the first start, in both languages,
        # and the blueprint (importing it by its link needs the internet).
        for language in ("en", "es"):
            installed = config / "custom_sentences" / language / "infocaller.yaml"
            shipped = (
                ROOT / "examples" / "custom_sentences" / language / "infocaller.yaml"
            )
            assert installed.read_text() == shipped.read_text()
        shipped_blueprints = sorted(
            (ROOT / "blueprints" / "automation" / "infocaller").glob("*.yaml")
        )
        assert shipped_blueprints
        for blueprint in shipped_blueprints:
            installed = config / "blueprints" / "automation" / "infocaller"
            assert (installed / blueprint.name).read_text() == blueprint.read_text()

        if how == "terminal":
            await _assist_calls_a_saved_call(port, simulator_port, tmp_path)
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        async with asyncio.timeout(90):
            await process.wait()
        output = log.read_text()
        assert process.returncode == 0, output[-3000:]
        assert "stopped Home Assistant and the simulator" in output
        assert "did not stop" not in output
        assert "Home Assistant stopped" not in output
        # Home Assistant went through its shutdown: only its stop stage writes
        # the restore state this soon (a second signal used to kill it first).
        assert (config / ".storage" / "core.restore_state").exists(), output[-3000:]
        async with aiohttp.ClientSession() as session:
            assert not await _up(
                session, f"http://127.0.0.1:{simulator_port}/_simulator/requests"
            )
            assert not await _up(session, f"http://127.0.0.1:{port}/api/")
    finally:
        await _stop(process)


async def test_develop_fails_loudly_when_home_assistant_crashes(
    tmp_path: Path,
) -> None:
    """Home Assistant dies at start-up: non-zero exit, said, simulator stopped.

    It used to exit 0 without a word.
    """
    config = tmp_path / "config"
    config.mkdir()
    (config / "configuration.yaml").write_text(MINIMAL)
    # A venv whose Python runs the simulator but whose Home Assistant
    # crashes as it starts.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    # Its log: other integrations' errors first (ffmpeg, turbojpeg), then
    # the crash, printed without a record.
    noise = (
        "2026-12-07 18:00:02.000 ERROR (MainThread) [homeassistant.setup] "
        "Error during setup of component ffmpeg\n"
        "Traceback (most recent call last):\n"
        "ImportError: libturbojpeg.so.0: cannot open shared object file\n"
    )
    python.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "homeassistant" ]; then\n'
        f"  sleep 1; printf '%s' '{noise}' >&2\n"
        "  echo 'Traceback (most recent call last): boom' >&2\n"
        "  echo '  File \"bootstrap.py\", line 1' >&2\n"
        "  echo 'RuntimeError: the real cause' >&2; exit 3\n"
        "fi\n"
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    port, simulator_port = _free_port(), _free_port()
    env = {**_develop_env(config, port, simulator_port), "VENV": str(venv)}
    process = await asyncio.create_subprocess_exec(
        str(ROOT / "scripts" / "develop"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(60):
            output = (await process.communicate())[0].decode()
        assert process.returncode == 3, output
        assert "Home Assistant stopped during start-up (exit code 3)" in output
        assert "Traceback (most recent call last): boom" in output
        # What explains the crash, not the others' noise (it showed the
        # last 30 lines of the log).
        assert "RuntimeError: the real cause" in output
        assert "libturbojpeg" not in output
        assert "ffmpeg" not in output
        assert "stopped Home Assistant and the simulator" in output
        assert "Home Assistant is ready" not in output
        async with aiohttp.ClientSession() as session:
            assert not await _up(
                session, f"http://127.0.0.1:{simulator_port}/_simulator/requests"
            )
    finally:
        await _stop(process)


async def test_develop_says_why_the_simulator_stopped(tmp_path: Path) -> None:
    """The simulator's port is taken: non-zero exit, and the cause shown.

    It said "the simulator stopped (exit code 1); see <log>" and nothing
    of the OSError.
    """
    config = tmp_path / "config"
    config.mkdir()
    (config / "configuration.yaml").write_text(MINIMAL)
    # Home Assistant only pretends to run here: the simulator is the point.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "homeassistant" ]; then exec sleep 60; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    port, simulator_port = _free_port(), _free_port()
    env = {**_develop_env(config, port, simulator_port), "VENV": str(venv)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", simulator_port))
        taken.listen()
        process = await asyncio.create_subprocess_exec(
            str(ROOT / "scripts" / "develop"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(60):
                output = (await process.communicate())[0].decode()
            assert process.returncode != 0, output
            assert "the simulator stopped (exit code 1)" in output
            assert "address already in use" in output
            assert "OSError" in output
            assert "stopped Home Assistant and the simulator" in output
        finally:
            await _stop(process)
