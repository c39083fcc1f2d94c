"""Attack on issue 22: the gate blueprint and numbers in odd formats."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest

from .test_blueprint import (  # noqa: F401 (autouse fixture)
    _fire,
    _incoming,
    _incoming_automation,
    our_blueprint_folder,
)


@pytest.mark.parametrize(
    "allowed",
    [
        # Copied from a contacts app or a web page: non-breaking spaces,
        # a non-breaking hyphen. The device trigger's *From number* takes
        # the spaces (``\s``) and refuses the hyphen out loud; the blueprint
        # silently reads either entry as a saved call's name, and the
        # allowed number never opens.
        "+34\u00a0611\u00a0222\u00a0333",
        "+34 611\u2011222\u2011333",
    ],
)
async def test_an_allowed_number_copied_with_odd_spaces_still_opens(
    hass: HomeAssistant, allowed: str
) -> None:
    """An allowed number written with the spaces people paste is a number."""
    opened = await _incoming_automation(hass, numbers=[allowed])
    await _fire(hass, _incoming("answered", "+34611222333"))
    assert len(opened) == 1
