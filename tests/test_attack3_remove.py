"""Attack 3: removing a line leaves the files that were moved aside.

README: removing the integration removes "its saved calls, devices,
entities, saved records and cloudhook". A records file moved aside as
unusable holds the line's numbers and results; after the line is removed
it stays in ``.storage`` for good (and its repair, the only pointer to it,
is deleted with the line).
"""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.const import DOMAIN


async def test_attack3_removing_the_line_removes_its_moved_aside_files(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    real_storage: Path,
) -> None:
    """A records file of the wrong shape is moved aside; then the line is removed."""
    entry_id = mock_config_entry.entry_id
    key = f"{DOMAIN}.{entry_id}"
    record = {"time": "2030-03-01T11:59:00+00:00", "phone": "+34611222333"}
    (real_storage / key).write_text(
        json.dumps(
            {
                "version": 1,
                "minor_version": 1,
                "key": key,
                "data": {"recent": [record], "last_answer": ["x"]},
            }
        )
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    assert list(real_storage.glob(f"{key}.unreadable.*"))
    await hass.config_entries.async_remove(entry_id)
    await hass.async_block_till_done()
    assert sorted(path.name for path in real_storage.glob(f"{key}*")) == []
