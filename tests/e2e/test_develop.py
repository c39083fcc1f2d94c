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


async def test_develop_starts_and_stops_both(tmp_path: Path) -> None:
    """Both come up (demo credentials printed); SIGINT stops both."""
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
        output = log.read_text()
        assert "34910000000" in output
        assert "demo1234" in output
        assert f"http://127.0.0.1:{simulator_port}" in output
        assert (config / "custom_components" / "infocaller").resolve() == (
            ROOT / "custom_components" / "infocaller"
        )

        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(90):
            await process.wait()
        assert "stopped Home Assistant and the simulator" in log.read_text()
        async with aiohttp.ClientSession() as session:
            assert not await _up(
                session, f"http://127.0.0.1:{simulator_port}/_simulator/requests"
            )
            assert not await _up(session, f"http://127.0.0.1:{port}/api/")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
