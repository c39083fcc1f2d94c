"""Fixtures of the end-to-end tests: the simulator and a Home Assistant folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from infocaller_simulator import Simulator
import pytest

from .test_end_to_end import CONFIGURATION, ROOT, HomeAssistantProcess, _free_port


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """The local Infocaller."""
    sim = Simulator()
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def home_assistant(tmp_path: Path) -> AsyncIterator[HomeAssistantProcess]:
    """A configuration folder with the integration; the process is stopped at the end."""
    config = tmp_path / "config"
    (config / "custom_components").mkdir(parents=True)
    (config / "custom_components" / "infocaller").symlink_to(
        ROOT / "custom_components" / "infocaller"
    )
    port = _free_port()
    (config / "configuration.yaml").write_text(CONFIGURATION.format(port=port))
    hass = HomeAssistantProcess(config=config, port=port, log=tmp_path / "hass.log")
    try:
        yield hass
    finally:
        await hass.stop()
