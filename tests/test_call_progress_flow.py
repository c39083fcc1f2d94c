"""Turning call progress on and off: the options step, URLs, cloudhooks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .conftest import WEBHOOK_ID

EXTERNAL = "https://home.example.org"
CLOUDHOOK = "https://hooks.nabu.casa/gAAAAABexample"


@contextmanager
def _cloud(**answer: Any) -> Iterator[AsyncMock]:
    """Home Assistant Cloud is connected; making a cloudhook gives ``answer``."""
    make = AsyncMock(**answer)
    with (
        patch(
            "custom_components.infocaller.webhook.cloud_available",
            return_value=True,
        ),
        patch("custom_components.infocaller.webhook.async_cloudhook_url", make),
    ):
        yield make


async def _open_step(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "call_progress"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "call_progress"
    return result


async def _turn_on(
    hass: HomeAssistant, entry: MockConfigEntry, **fields: bool
) -> dict[str, Any]:
    result = await _open_step(hass, entry)
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"call_progress": True, **fields}
    )


async def test_without_a_public_url_says_so(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """No cloud, no external URL: an error instead of a useless URL."""
    result = await _turn_on(hass, setup_integration)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_public_url"}
    assert "call_progress" not in setup_integration.options


async def test_turn_on_shows_the_urls_and_registers_the_webhook(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The external URL, one URL per event, and a webhook that works."""
    await hass.config.async_update(external_url=EXTERNAL)
    old_options = dict(setup_integration.options)
    result = await _turn_on(hass, setup_integration)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "call_progress_urls"
    urls = result["description_placeholders"]
    assert set(urls) == {
        "answered_url",
        "forward_answered_url",
        "forward_failed_url",
        "ended_url",
        "query_url",
    }
    answered = urls["answered_url"]
    assert answered.startswith(f"{EXTERNAL}/api/webhook/")
    assert "event=answered&call_id=[_IdLlamada]" in answered
    # Nothing saved until submitted.
    assert setup_integration.options == old_options
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    options = setup_integration.options
    assert options["call_progress"] is True
    webhook_id = options["webhook_id"]
    assert answered.split("/api/webhook/")[1].startswith(f"{webhook_id}?")
    assert setup_integration.runtime_data.progress.enabled
    # The webhook answers: a junk request gets 400 (only a registered
    # webhook of ours can say that; an unknown id gets Home Assistant's 200).
    client = await hass_client_no_auth()
    response = await client.get(f"/api/webhook/{webhook_id}")
    assert response.status == 400


async def test_reopening_shows_the_same_urls(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """On again without new URLs: the same webhook id."""
    await hass.config.async_update(external_url=EXTERNAL)
    result = await _turn_on(hass, progress_integration, new_urls=False)
    assert WEBHOOK_ID in result["description_placeholders"]["ended_url"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert progress_integration.options["webhook_id"] == WEBHOOK_ID


async def test_new_urls_replace_the_old_ones(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A leaked URL: new ones work, the old one does nothing any more."""
    await hass.config.async_update(external_url=EXTERNAL)
    client = await hass_client_no_auth()
    assert (await client.get(f"/api/webhook/{WEBHOOK_ID}")).status == 400
    result = await _turn_on(hass, progress_integration, new_urls=True)
    assert WEBHOOK_ID not in result["description_placeholders"]["ended_url"]
    await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    new_id = progress_integration.options["webhook_id"]
    assert new_id != WEBHOOK_ID
    assert (await client.get(f"/api/webhook/{WEBHOOK_ID}")).status == 200
    assert (await client.get(f"/api/webhook/{new_id}")).status == 400


async def test_turn_off_unregisters(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Off: the webhook is gone; the call defaults are kept."""
    hass.config_entries.async_update_entry(
        progress_integration, options={**progress_integration.options, "max_wait": 9}
    )
    await hass.async_block_till_done()
    result = await _open_step(hass, progress_integration)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"call_progress": False, "new_urls": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert progress_integration.options["call_progress"] is False
    assert progress_integration.options["max_wait"] == 9
    assert not progress_integration.runtime_data.progress.enabled
    client = await hass_client_no_auth()
    assert (await client.get(f"/api/webhook/{WEBHOOK_ID}")).status == 200


async def test_defaults_keep_call_progress(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """Saving the call defaults does not drop call progress (no reload)."""
    runtime = progress_integration.runtime_data
    result = await hass.config_entries.options.async_init(progress_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "defaults"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "max_wait": 1,
            "retries": 0,
            "request_format": "json",
            "time_zone": "Europe/Madrid",
        },
    )
    await hass.async_block_till_done()
    assert progress_integration.options["webhook_id"] == WEBHOOK_ID
    assert progress_integration.runtime_data is runtime


async def test_cloudhook_when_cloud_is_active(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """With Home Assistant Cloud, the URL to paste is the cloudhook."""
    with _cloud(return_value=CLOUDHOOK) as create:
        result = await _turn_on(hass, setup_integration)
    assert result["description_placeholders"]["answered_url"].startswith(
        f"{CLOUDHOOK}?event=answered&"
    )
    await hass.config_entries.options.async_configure(result["flow_id"], {})
    webhook_id = setup_integration.options["webhook_id"]
    create.assert_awaited_once_with(hass, webhook_id)
    assert setup_integration.options["cloudhook_url"] == CLOUDHOOK


async def test_closing_the_urls_dialog_deletes_its_cloudhook(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """URLs shown but never saved leave no cloudhook behind; saved ones stay."""
    from homeassistant.components import cloud

    hass.config.components.add("cloud")
    options = dict(setup_integration.options)
    with (
        _cloud(return_value=CLOUDHOOK) as create,
        patch.object(cloud, "async_delete_cloudhook", AsyncMock()) as delete,
    ):
        result = await _turn_on(hass, setup_integration)
        assert result["step_id"] == "call_progress_urls"
        (_, shown_id), _ = create.await_args
        hass.config_entries.options.async_abort(result["flow_id"])
        await hass.async_block_till_done(wait_background_tasks=True)
        delete.assert_awaited_once_with(hass, shown_id)
        assert setup_integration.options == options

        result = await _turn_on(hass, setup_integration)
        await hass.config_entries.options.async_configure(result["flow_id"], {})
        await hass.async_block_till_done(wait_background_tasks=True)
    assert delete.await_count == 1
    assert setup_integration.options["cloudhook_url"] == CLOUDHOOK
    assert setup_integration.options["webhook_id"] != shown_id


async def test_cloud_failure_falls_back_to_the_external_url(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Cloud logged in but not connected: the external URL, with a warning."""
    await hass.config.async_update(external_url=EXTERNAL)
    with _cloud(side_effect=HomeAssistantError("not connected")):
        result = await _turn_on(hass, setup_integration)
    assert result["description_placeholders"]["ended_url"].startswith(EXTERNAL)


async def test_removing_the_line_deletes_its_cloudhook(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """The cloudhook goes with the entry (and with new URLs)."""
    from homeassistant.components import cloud

    hass.config_entries.async_update_entry(
        progress_integration,
        options={**progress_integration.options, "cloudhook_url": CLOUDHOOK},
    )
    await hass.async_block_till_done()
    hass.config.components.add("cloud")
    with patch.object(cloud, "async_delete_cloudhook", AsyncMock()) as delete:
        await hass.config_entries.async_remove(progress_integration.entry_id)
    delete.assert_awaited_once_with(hass, WEBHOOK_ID)


async def test_new_urls_delete_the_old_cloudhook(
    hass: HomeAssistant, progress_integration: MockConfigEntry
) -> None:
    """A regenerated cloudhook replaces (and deletes) the old one."""
    from homeassistant.components import cloud

    hass.config_entries.async_update_entry(
        progress_integration,
        options={**progress_integration.options, "cloudhook_url": CLOUDHOOK},
    )
    await hass.async_block_till_done()
    hass.config.components.add("cloud")
    with (
        _cloud(return_value=CLOUDHOOK + "new"),
        patch.object(cloud, "async_delete_cloudhook", AsyncMock()) as delete,
    ):
        result = await _turn_on(hass, progress_integration, new_urls=True)
        await hass.config_entries.options.async_configure(result["flow_id"], {})
    delete.assert_awaited_once_with(hass, WEBHOOK_ID)
    assert progress_integration.options["cloudhook_url"] == CLOUDHOOK + "new"


async def test_cloud_helpers(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Cloud is optional: absent means no cloudhook; an outage is a warning."""
    from homeassistant.components import cloud

    from custom_components.infocaller.webhook import (
        async_delete_cloudhook,
        cloud_available,
    )

    assert not cloud_available(hass)
    hass.config.components.add("cloud")
    with (
        patch.object(cloud, "async_active_subscription", return_value=True),
        patch.object(cloud, "async_is_connected", return_value=True),
    ):
        assert cloud_available(hass)
    with patch.object(
        cloud, "async_delete_cloudhook", AsyncMock(side_effect=cloud.CloudNotAvailable)
    ):
        await async_delete_cloudhook(
            hass, {"webhook_id": WEBHOOK_ID, "cloudhook_url": CLOUDHOOK}
        )
    assert "old cloudhook could not be deleted" in caplog.text
    assert WEBHOOK_ID not in caplog.text


@pytest.mark.usefixtures("mock_infocaller")
async def test_progress_on_at_start_registers_the_webhook(
    hass: HomeAssistant,
    progress_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A line set up with call progress on answers on its webhook; unload stops it."""
    client = await hass_client_no_auth()
    assert (await client.get(f"/api/webhook/{WEBHOOK_ID}")).status == 400
    await hass.config_entries.async_unload(progress_integration.entry_id)
    assert (await client.get(f"/api/webhook/{WEBHOOK_ID}")).status == 200
