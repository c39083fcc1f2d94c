"""The suite fails on Home Assistant's reports about this integration.

``conftest.fail_on_frame_reports`` inspects every test's log; these tests
prove that it recognises what Home Assistant logs, so a deprecation that is
only logged (like "... will stop working in Home Assistant 2026.12.0")
cannot hide behind a passing test again.
"""

from __future__ import annotations

import logging
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers.frame import ReportBehavior, report_usage
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.infocaller.api import CallResult, CredentialCheck
from custom_components.infocaller.const import DOMAIN

from .conftest import ROOT_DIR, frame_reports


@pytest.mark.usefixtures("setup_integration")
async def test_a_frame_report_about_this_integration_is_caught(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The report Home Assistant logs for a deprecated pattern is found."""
    report_usage(
        "has an update listener and should use it for scheduling a reload",
        core_behavior=ReportBehavior.LOG,
        breaks_in_ha_version="2026.12.0",
        integration_domain=DOMAIN,
    )
    reports = frame_reports(caplog.get_records("call"))
    assert len(reports) == 1
    assert f"custom integration '{DOMAIN}'" in reports[0]
    assert "2026.12.0" in reports[0]
    caplog.clear()  # this test's report is on purpose; the guard would fail it


def test_the_guard_ignores_other_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Ordinary warnings and other integrations' blocking calls do not count.

    (Synchronous: in async tests the reports about other code are not even
    logged, see ``conftest.blocking_call_detection``; this checks the
    recognition itself.)
    """
    logger = logging.getLogger("custom_components.infocaller")
    logger.warning("Could not reach Infocaller: refused")
    logging.getLogger("homeassistant.util.loop").warning(
        "Detected blocking call to open inside the event loop by integration 'other'"
    )
    assert frame_reports(caplog.get_records("call")) == []
    logging.getLogger("homeassistant.util.loop").warning(
        "Detected blocking call to open inside the event loop by custom integration "
        "'infocaller' at custom_components/infocaller/validation.py, line 1"
    )
    assert len(frame_reports(caplog.get_records("call"))) == 1
    caplog.clear()


async def test_a_blocking_call_in_this_integration_is_caught(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Blocking-call detection is on in the loop, as at a real start.

    Code whose frame is in this integration's folder lists a directory
    inside the event loop (``listdir`` is one of the checks Home Assistant
    skips under pytest unless told otherwise); the report is logged and
    recognised.
    """
    code = compile(
        "import os\nos.listdir('/')\n",
        str(ROOT_DIR / "custom_components" / DOMAIN / "blocking_example.py"),
        "exec",
    )
    exec(code, {})  # noqa: S102 - a fixed snippet, to give it that frame
    reports = frame_reports(caplog.get_records("call"))
    assert len(reports) == 1
    assert f"custom integration '{DOMAIN}'" in reports[0]
    assert "listdir" in reports[0]
    caplog.clear()  # this test's report is on purpose; the guard would fail it


async def test_reauth_and_reconfigure_report_nothing(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The flows that reload the entry do it the way Home Assistant 2026.12 wants.

    With ``async_update_reload_and_abort`` and an update listener, Home
    Assistant 2026.x logs a report (the guard fails the test); this flow
    lets the entry's listener reload it instead, exactly once.
    """
    with patch(
        "custom_components.infocaller.config_flow.InfocallerClient.check_credentials"
    ) as check:
        check.return_value = CredentialCheck(
            valid=True, result=CallResult(result=4, result_text="")
        )
        result = await setup_integration.start_reconfigure_flow(hass)
        with patch.object(
            hass.config_entries, "async_schedule_reload"
        ) as schedule_reload:
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"],
                {
                    "idinfocaller": setup_integration.data["idinfocaller"],
                    "password": "new",
                },
            )
            await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert setup_integration.data["password"] == "new"
    schedule_reload.assert_called_once_with(setup_integration.entry_id)
    assert frame_reports(caplog.get_records("call")) == []
