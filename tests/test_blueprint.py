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

from custom_components.infocaller.const import DOMAIN

ROOT = Path(__file__).parents[1]
FOLDER = ROOT / "blueprints" / "automation"
PATH = "infocaller/call_until_answered.yaml"


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


def test_blueprint_texts_are_english_only() -> None:
    """Blueprints are not translated: one language, no stray Spanish sentence."""
    import re

    blueprint = yaml_util.load_yaml_dict(FOLDER / PATH)["blueprint"]
    texts = [blueprint["name"], blueprint["description"]]
    for field in blueprint["input"].values():
        texts += [field["name"], field.get("description", "")]
    spanish = re.compile(
        r"\b(llama|llamar|personas|hasta que|una|conteste|de|la|el|los|las)\b",
        re.IGNORECASE,
    )
    assert [text for text in texts if spanish.search(text)] == []
