"""Tests for diagnostics: secrets and phone numbers are redacted."""

from __future__ import annotations

import json

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.infocaller.const import DOMAIN
from custom_components.infocaller.diagnostics import (
    async_get_config_entry_diagnostics,
)

from .conftest import FIRMA, LINE, PASSWORD


async def test_diagnostics(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Configuration and last results, with password, signature and numbers hidden."""
    freezer.move_to("2030-03-01 12:00:00+00:00")
    result = await hass.config_entries.subentries.async_init(
        (setup_integration.entry_id, "saved_call"), context={"source": "user"}
    )
    await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "name": "Vecino",
            "phone": "+34633444555",
            "rule_group": "Alarma",
            "message_variable": "MENSAJE",
            "variables": {"CALLCENTER": "+34911888920", "NOTA": "llave bajo maceta"},
        },
    )
    await hass.async_block_till_done()
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "Aviso"},
        blocking=True,
    )
    diagnostics = await async_get_config_entry_diagnostics(hass, setup_integration)
    assert diagnostics == snapshot
    text = json.dumps(diagnostics)
    assert diagnostics["saved_calls"][0]["name"] == "Vecino"
    assert diagnostics["saved_calls"][0]["variables"] == {
        "CALLCENTER": "**REDACTED**",
        "NOTA": "**REDACTED**",
    }
    for secret in (
        PASSWORD,
        FIRMA,
        LINE,
        "611222333",
        "633444555",
        "911888920",
        "llave bajo maceta",
    ):
        assert secret not in text


async def test_diagnostics_with_call_progress(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The webhook id, cloudhook and followed calls' numbers are hidden."""
    from .conftest import WEBHOOK_ID

    freezer.move_to("2030-03-01 12:00:00+00:00")
    hass.config_entries.async_update_entry(
        progress_integration,
        options={
            **progress_integration.options,
            "cloudhook_url": f"https://hooks.nabu.casa/{WEBHOOK_ID}",
        },
    )
    await hass.async_block_till_done()
    entry = hass.config_entries.async_get_entry(progress_integration.entry_id)
    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "Aviso"},
        blocking=True,
    )
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics == snapshot
    text = json.dumps(diagnostics)
    assert WEBHOOK_ID not in text
    assert "611222333" not in text
    assert diagnostics["call_progress"]["followed_calls"] == 1


async def test_diagnostics_hide_the_keys_a_person_pressed(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """``digits`` may be a PIN: redacted wherever it appears (item 13)."""
    from custom_components.infocaller.api import Stage
    from custom_components.infocaller.api.report import ProgressReport

    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "Aviso"},
        blocking=True,
    )
    progress = progress_integration.runtime_data.progress
    progress.async_report(
        ProgressReport(stage=Stage.DIGITS, call_id="4711", digits="*80417#")
    )
    assert progress.tracked["4711"].digits == "*80417#"
    diagnostics = await async_get_config_entry_diagnostics(hass, progress_integration)
    assert "80417" not in json.dumps(diagnostics)
    records = diagnostics["records"]
    assert records["recent"][-1]["digits"] == "**REDACTED**"
    assert records["last_progress"]["digits"] == "**REDACTED**"
