"""scripts/develop starts the simulator and Home Assistant, and Ctrl-C stops both."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
import signal
import socket
import sys

import aiohttp
import pytest

pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.timeout(300)]

ROOT = Path(__file__).parents[2]
MINIMAL = """\
homeassistant:
  name: develop test
  time_zone: Europe/Madrid
http:
  server_host: 127.0.0.1
  server_port: !env_var DEVELOP_PORT 8123
api:
logger:
  default: warning
  logs:
    homeassistant.bootstrap: info
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _up(session: aiohttp.ClientSession, url: str) -> bool:
    with contextlib.suppress(aiohttp.ClientError):
        async with session.get(url) as response:
            return response.status < 500
    return False


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
