"""Attack 3: a short write of the guard's journal entry counts as written.

``Journal.append`` ignores what ``os.write`` returns. On a regular file a
write can be short (the disk fills up part way, a signal): the entry is
torn, the request leaves all the same, and after a crash the torn line is
skipped: the identical call rings again. The bytes not written are also
never retried, so the next entry is appended to the torn line and is lost
with it.
"""

from __future__ import annotations

import os
from typing import Any
from unittest.mock import MagicMock, patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.api import CallRequest
from custom_components.infocaller.guard import CallGuard

from .conftest import issue_call

PHONE = "+34611222333"


async def test_attack3_a_short_journal_write_is_not_taken_as_written(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    mock_infocaller: MagicMock,
    hass_storage: dict[str, Any],
) -> None:
    """The disk takes half the entry: nothing is sent, or the entry is whole."""
    real_write = os.write

    def short_write(fd: int, data: bytes) -> int:
        return real_write(fd, data[: len(data) // 2])

    refused: HomeAssistantError | None = None
    with patch("custom_components.infocaller.saving.os.write", short_write):
        try:
            await issue_call(hass, PHONE)
        except HomeAssistantError as err:
            refused = err
        await hass.async_block_till_done(wait_background_tasks=True)
    if refused is not None:
        # Refusing to send is right: the entry is not on disk.
        assert refused.translation_key == "guard_not_written"
        mock_infocaller.issue_call.assert_not_awaited()
        return
    # It was sent: a crash now, and a restart from what is on disk.
    guard = CallGuard(hass, setup_integration.entry_id)
    await guard.async_load()
    with pytest.raises(ServiceValidationError) as err:
        guard.async_check(CallRequest(phone=PHONE, rule_group="Aviso"))
    assert err.value.translation_key == "duplicate_call"
