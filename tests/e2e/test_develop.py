"""scripts/develop starts the simulator and Home Assistant, and Ctrl-C stops both."""

from __future__ import annotations

import asyncio
import contextlib
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
http:
  server_host: 127.0.0.1
  server_port: !env_var DEVELOP_PORT 8123
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


def _ignore_sigint() -> None:
    """Start as `nohup` or `&` from a script would: SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
    """Both come up (demo credentials printed); SIGINT stops both, cleanly."""
    config = tmp_path / "config"
    config.mkdir()
    # A lean configuration: the frontend's package is not in the test venv.
    (config / "configuration.yaml").write_text(MINIMAL)
    port, simulator_port = _free_port(), _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "VENV": sys.prefix,
        "DEVELOP_NO_SETUP": "1",
        "DEVELOP_CONFIG": str(config),
        "DEVELOP_PORT": str(port),
        "SIMULATOR_PORT": str(simulator_port),
    }
    log = tmp_path / "develop.log"
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
        # Signal once start-up is over (and the banner came again), as a
        # person at a terminal would.
        async with asyncio.timeout(120):
            while not all(
                text in log.read_text()
                for text in ("Home Assistant initialized", "Home Assistant is ready")
            ):
                assert process.returncode is None, log.read_text()[-3000:]
                await asyncio.sleep(0.5)
        output = log.read_text()
        # The banner comes again once Home Assistant answers on its port.
        assert "Home Assistant is starting" in output
        assert "Home Assistant is ready" in output
        assert output.count("Line password:   demo1234") == 2
        assert "34910000000" in output
        assert "demo1234" in output
        assert f"http://127.0.0.1:{simulator_port}" in output
        assert (config / "custom_components" / "infocaller").resolve() == (
            ROOT / "custom_components" / "infocaller"
        )
        # Assist's sentences are there from the first start, in both languages.
        for language in ("en", "es"):
            installed = config / "custom_sentences" / language / "infocaller.yaml"
            shipped = (
                ROOT / "examples" / "custom_sentences" / language / "infocaller.yaml"
            )
            assert installed.read_text() == shipped.read_text()

        if how == "terminal":
            await _assist_calls_a_saved_call(port, simulator_port, tmp_path)
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        async with asyncio.timeout(90):
            await process.wait()
        output = log.read_text()
        assert "stopped Home Assistant and the simulator" in output
        assert "did not stop" not in output
        # Home Assistant went through its shutdown: only its stop stage writes
        # the restore state this soon (a second signal used to kill it first).
        assert (config / ".storage" / "core.restore_state").exists(), output[-3000:]
        async with aiohttp.ClientSession() as session:
            assert not await _up(
                session, f"http://127.0.0.1:{simulator_port}/_simulator/requests"
            )
            assert not await _up(session, f"http://127.0.0.1:{port}/api/")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
