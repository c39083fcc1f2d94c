"""The blueprint: Home Assistant loads it, and an automation from it works."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.components.blueprint import models
from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_mock_service,
)

from custom_components.infocaller.const import DOMAIN, EVENT_INCOMING_CALL

ROOT = Path(__file__).parents[1]
FOLDER = ROOT / "blueprints" / "automation"
PATH = "infocaller/call_until_answered.yaml"
INCOMING = "infocaller/incoming_call.yaml"


@pytest.fixture(autouse=True)
def our_blueprint_folder() -> Generator[None]:
    """Load ``infocaller/...`` blueprints from the repository (as imported)."""
    original = models.DomainBlueprints._load_blueprint

    def load(self: models.DomainBlueprints, path: str) -> models.Blueprint:
        if not path.startswith("infocaller/"):
            return original(self, path)
        return models.Blueprint(
            yaml_util.load_yaml_dict(FOLDER / path),
            expected_domain=self.domain,
            path=path,
            schema=self._blueprint_schema,
        )

    with patch.object(models.DomainBlueprints, "_load_blueprint", load):
        yield


@pytest.mark.parametrize("path", [PATH, INCOMING])
def test_the_readme_links_each_blueprint(path: str) -> None:
    """The README's import badge points at the blueprint's source URL."""
    from urllib.parse import quote

    source_url = yaml_util.load_yaml_dict(FOLDER / path)["blueprint"]["source_url"]
    assert source_url.endswith(f"blueprints/automation/{path}")
    readme = (ROOT / "README.md").read_text()
    assert (
        "https://my.home-assistant.io/create-link/?redirect=blueprint_import"
        f"&blueprint_url={quote(source_url, safe='')}"
    ) in readme
    assert f"](blueprints/automation/{path})" in readme


def test_blueprint_schema() -> None:
    """Home Assistant's blueprint schema accepts the file."""
    from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA

    blueprint = models.Blueprint(
        yaml_util.load_yaml_dict(FOLDER / PATH),
        expected_domain="automation",
        schema=BLUEPRINT_SCHEMA,
    )
    assert blueprint.domain == "automation"
    assert set(blueprint.inputs) == {
        "when",
        "line",
        "people",
        "rule_group",
        "variables",
        "wait",
        "rounds",
        "stop_on",
        "answered_actions",
        "nobody_actions",
    }
    # The source URL is where the README's import link points.
    from urllib.parse import quote

    readme = (ROOT / "README.md").read_text()
    source_url = blueprint.metadata["source_url"]
    assert source_url.endswith(f"blueprints/automation/{PATH}")
    assert (
        "https://my.home-assistant.io/create-link/?redirect=blueprint_import"
        f"&blueprint_url={quote(source_url, safe='')}"
    ) in readme


@pytest.mark.parametrize(
    ("answered_by", "expected"),
    [({"phone": "+34611000002"}, "someone"), (None, "nobody")],
)
async def test_automation_from_the_blueprint(
    hass: HomeAssistant, answered_by: Any, expected: str
) -> None:
    """The trigger starts the chain with the inputs; the right branch runs."""
    chains = async_mock_service(
        hass,
        DOMAIN,
        "call_until_answered",
        response={"answered_by": answered_by, "attempts": []},
        supports_response=SupportsResponse.OPTIONAL,
    )
    outcomes = async_capture_events(hass, "outcome")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": PATH,
                    "input": {
                        "when": [{"trigger": "event", "event_type": "alarm"}],
                        "line": "entry1",
                        "people": ["+34611000001", "Vecino"],
                        "rule_group": "Alarma",
                        "wait": 45,
                        "answered_actions": [
                            {"event": "outcome", "event_data": {"who": "someone"}}
                        ],
                        "nobody_actions": [
                            {"event": "outcome", "event_data": {"who": "nobody"}}
                        ],
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    hass.bus.async_fire("alarm")
    await hass.async_block_till_done()
    (call,) = chains
    assert dict(call.data) == {
        "config_entry_id": "entry1",
        "targets": ["+34611000001", "Vecino"],
        "rule_group": "Alarma",
        "variables": {},
        "wait": 45,
        "rounds": 1,
        "stop_on": "answered",
    }
    assert [event.data["who"] for event in outcomes] == [expected]


@pytest.mark.parametrize("path", [PATH, INCOMING])
def test_blueprint_texts_are_english_only(path: str) -> None:
    """Blueprints are not translated: one language, no stray Spanish sentence."""
    import re

    blueprint = yaml_util.load_yaml_dict(FOLDER / path)["blueprint"]
    texts = [blueprint["name"], blueprint["description"]]
    for field in blueprint["input"].values():
        texts += [field["name"], field.get("description", "")]
    spanish = re.compile(
        r"\b(llama|llamar|personas|hasta que|una|conteste|de|la|el|los|las)\b",
        re.IGNORECASE,
    )
    assert [text for text in texts if spanish.search(text)] == []


# -- The incoming-call blueprint ------------------------------------------


def test_incoming_call_blueprint_schema() -> None:
    """Home Assistant's blueprint schema accepts the incoming-call blueprint."""
    from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA

    blueprint = models.Blueprint(
        yaml_util.load_yaml_dict(FOLDER / INCOMING),
        expected_domain="automation",
        schema=BLUEPRINT_SCHEMA,
    )
    assert blueprint.domain == "automation"
    assert set(blueprint.inputs) == {
        "line",
        "numbers",
        "pin",
        "actions",
        "persistent_notification",
        "notify_action",
    }
    assert blueprint.metadata["source_url"].endswith(
        f"blueprints/automation/{INCOMING}"
    )
    # The same minimum version as the integration's oldest supported one.
    assert blueprint.metadata["homeassistant"]["min_version"] == "2025.4.0"


def _incoming(
    stage: str,
    caller: str | None,
    *,
    entry: str = "entry1",
    digits: str | None = None,
    saved_call: str | None = None,
) -> dict[str, Any]:
    """The contract's data of ``infocaller_incoming_call`` (every key)."""
    return {
        "config_entry_id": entry,
        "stage": stage,
        "caller": caller,
        "called": "34910000000",
        "call_id": "7001",
        "uuid": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "digits": digits,
        "talk_seconds": None,
        "saved_call": saved_call,
        "saved_call_id": "sub1" if saved_call else None,
        "time": "2026-12-07T21:00:00+00:00",
    }


async def _incoming_automation(hass: HomeAssistant, **inputs: Any) -> list[Any]:
    """Set up an automation from the blueprint; return the "opened" events."""
    opened = async_capture_events(hass, "opened")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": INCOMING,
                    "input": {
                        "line": "entry1",
                        "numbers": ["+34 611 22 23 33", "Vecino"],
                        "actions": [
                            {
                                "event": "opened",
                                "event_data": {"message": "{{ message }}"},
                            }
                        ],
                        **inputs,
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get("automation.automation_0") is not None
    return opened


async def _fire(hass: HomeAssistant, data: dict[str, Any]) -> None:
    hass.bus.async_fire(EVENT_INCOMING_CALL, data)
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("data", "runs"),
    [
        # The allowed number, as the integration reports it.
        (_incoming("answered", "+34611222333"), True),
        # The same number in other formats.
        (_incoming("answered", "0034611222333"), True),
        (_incoming("answered", "34611222333"), True),
        (_incoming("answered", "611222333"), True),
        # Another number, a hidden one, and the same last digits too short.
        (_incoming("answered", "+34611222334"), False),
        (_incoming("answered", None), False),
        (_incoming("answered", "22333"), False),
        # A saved call named in the list (by its name, any case).
        (_incoming("answered", "+34699000001", saved_call="vecino"), True),
        (_incoming("answered", "+34699000001", saved_call="Fontanero"), False),
        # Another line, and stages other than the answer.
        (_incoming("answered", "+34611222333", entry="entry2"), False),
        (_incoming("ended", "+34611222333"), False),
        (_incoming("digits", "+34611222333", digits="1"), False),
    ],
)
async def test_incoming_call_without_pin(
    hass: HomeAssistant, data: dict[str, Any], runs: bool
) -> None:
    """Without a PIN: the answer of a call from an allowed number runs the actions."""
    opened = await _incoming_automation(hass)
    await _fire(hass, data)
    assert len(opened) == (1 if runs else 0)
    if runs:
        who = data["caller"]
        if data["saved_call"]:
            who = f"{data['saved_call']} ({who})"
        assert opened[0].data["message"] == f"{who} called 34910000000."


@pytest.mark.parametrize(
    ("data", "runs"),
    [
        (_incoming("digits", "+34611222333", digits="4321"), True),
        # The key that ends the entry is not part of the PIN.
        (_incoming("digits", "+34611222333", digits="4321#"), True),
        (_incoming("digits", "0034 611 222 333", digits="4321"), True),
        # A wrong PIN, a longer one, one typed by someone else.
        (_incoming("digits", "+34611222333", digits="4322"), False),
        (_incoming("digits", "+34611222333", digits="43210"), False),
        (_incoming("digits", "+34611222333", digits="#4321"), False),
        (_incoming("digits", "+34699000001", digits="4321"), False),
        # The answer alone is not enough with a PIN, nor a bare acknowledgement.
        (_incoming("answered", "+34611222333"), False),
        (_incoming("acknowledged", "+34611222333"), False),
    ],
)
async def test_incoming_call_with_pin(
    hass: HomeAssistant, data: dict[str, Any], runs: bool
) -> None:
    """With a PIN: only its digits, from an allowed number, run the actions."""
    opened = await _incoming_automation(hass, pin="4321")
    await _fire(hass, data)
    assert len(opened) == (1 if runs else 0)


async def test_incoming_call_pin_with_a_leading_zero(hass: HomeAssistant) -> None:
    """A PIN is text: "0042" is not "42" (Home Assistant reads numbers in templates)."""
    opened = await _incoming_automation(hass, pin="0042")
    await _fire(hass, _incoming("digits", "+34611222333", digits="42"))
    assert opened == []
    await _fire(hass, _incoming("digits", "+34611222333", digits="0042"))
    assert len(opened) == 1


async def test_incoming_call_notifications(hass: HomeAssistant) -> None:
    """The notification says who called, in Home Assistant and by a notify action."""
    created = async_mock_service(hass, "persistent_notification", "create")
    sent = async_mock_service(hass, "notify", "mobile_app_phone")
    opened = await _incoming_automation(
        hass, persistent_notification=True, notify_action=" notify.mobile_app_phone "
    )
    await _fire(hass, _incoming("answered", "+34611222333"))
    await _fire(hass, _incoming("answered", "+34699000001", saved_call="Vecino"))
    await _fire(hass, _incoming("answered", "+34699000002"))  # not allowed
    messages = [
        "+34611222333 called 34910000000.",
        "Vecino (+34699000001) called 34910000000.",
    ]
    assert [call.data["message"] for call in created] == messages
    assert [call.data["message"] for call in sent] == messages
    assert {call.data["title"] for call in created + sent} == {"Infocaller"}
    assert [event.data["message"] for event in opened] == messages


async def test_incoming_call_no_notification_by_default(hass: HomeAssistant) -> None:
    """Without the options, no notification is sent."""
    created = async_mock_service(hass, "persistent_notification", "create")
    opened = await _incoming_automation(hass)
    await _fire(hass, _incoming("answered", "+34611222333"))
    assert len(opened) == 1
    assert created == []


async def test_a_broken_notification_does_not_stop_the_actions(
    hass: HomeAssistant,
) -> None:
    """A notify action that does not exist: the gate still opens."""
    opened = await _incoming_automation(hass, notify_action="notify.gone")
    await _fire(hass, _incoming("answered", "+34611222333"))
    assert len(opened) == 1


def _numbers_template() -> str:
    """The blueprint's number comparison (its ``allowed`` variable)."""
    return str(yaml_util.load_yaml_dict(FOLDER / INCOMING)["variables"]["allowed"])


# Every way the allowed number may be typed, and every way a caller may be
# reported; the comparison must agree with the integration's own rule.
TYPED = ["+34 611 22 23 33", "0034611222333", "611 222 333", "(+34) 611-222-333"]
REPORTED = [
    "+34611222333",
    "34611222333",
    "0034611222333",
    "611222333",
    "+44611222333",  # another country, same last nine digits
    "+34611222334",
    "611222",
    "112",
    "+34",
]


@pytest.mark.parametrize("typed", TYPED)
async def test_incoming_call_numbers_compare_like_the_integration(
    hass: HomeAssistant, typed: str
) -> None:
    """The template agrees with ``matching.same_number`` on every pair."""
    from homeassistant.helpers.template import Template

    from custom_components.infocaller.matching import same_number

    template = Template(_numbers_template(), hass)
    e164 = "+" + "".join(c for c in typed if c.isdigit()).removeprefix("00")
    if not e164.startswith("+34"):
        e164 = "+34" + e164[1:]
    for reported in REPORTED:
        got = template.async_render(
            {
                "numbers": [typed],
                "trigger": {"event": {"data": _incoming("answered", reported)}},
            }
        )
        assert got is same_number(e164, reported), (typed, reported)
    # Short numbers (a service number) compare whole.
    for typed_short, reported, expected in [
        ("112", "112", True),
        ("112", "0112", False),
        ("112", "00112", True),
        ("00112", "+112", True),
        ("0112", "112", False),
    ]:
        got = template.async_render(
            {
                "numbers": [typed_short],
                "trigger": {"event": {"data": _incoming("answered", reported)}},
            }
        )
        assert got is expected, (typed_short, reported)
