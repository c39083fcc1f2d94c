"""The logbook exclusion of the demo and the README, in each language's ids.

Home Assistant writes entity ids from the entity names in its system
language: ``sensor.infocaller_34910000000_last_result`` in English,
``sensor.infocaller_34910000000_ultimo_resultado`` in Spanish. The globs
that keep one Activity entry per call must match both, and only this
integration's entities as far as a glob can tell (they used to be English
only, and ``sensor.*_last_result`` hid other integrations' sensors).
"""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entityfilter import (
    INCLUDE_EXCLUDE_BASE_FILTER_SCHEMA,
    convert_include_exclude_filter,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from .conftest import MUM, PLUMBER, add_saved_call

ROOT = Path(__file__).parents[1]

#: Other integrations' entities with look-alike names: never hidden.
OTHERS = (
    "sensor.washing_machine_last_result",
    "sensor.lavadora_ultimo_resultado",
    "sensor.fritz_box_last_call",
    "sensor.router_ultima_llamada",
    "sensor.router_estado_de_la_ultima_llamada",
    "event.doorbell_call_result",
    "sensor.backup_last_result",
)


def _demo_logbook() -> dict[str, Any]:
    """The ``logbook:`` section of the demo's configuration.yaml."""
    text = (ROOT / "config" / "configuration.yaml").read_text()
    match = re.search(r"^logbook:\n(?:[ #].*\n)+", text, re.MULTILINE)
    assert match, "no logbook: section in config/configuration.yaml"
    return dict(yaml.safe_load(match.group(0))["logbook"])


def _readme_logbook() -> dict[str, Any]:
    """The ``logbook:`` snippet of the README."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"```yaml\n(logbook:\n.*?)```", text, re.DOTALL)
    assert match, "no logbook: snippet in README.md"
    return dict(yaml.safe_load(match.group(1))["logbook"])


async def _our_entity_ids(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    language: str,
) -> list[str]:
    """Set the line and two saved calls up in ``language``; their entity ids."""
    hass.config.language = language
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for data in (PLUMBER, MUM):
        assert (await add_saved_call(hass, entry, data))["type"] == "create_entry"
    await hass.async_block_till_done()
    return [
        registry_entry.entity_id
        for registry_entry in er.async_entries_for_config_entry(
            entity_registry, entry.entry_id
        )
    ]


@pytest.mark.parametrize("source", [_demo_logbook, _readme_logbook])
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            {
                "sensor.infocaller_34910000000_last_result",
                "sensor.infocaller_34910000000_last_call",
                "sensor.infocaller_34910000000_last_call_status",
                "sensor.call_el_fontanero_last_result",
                "sensor.call_mama_last_result",
            },
        ),
        (
            "es",
            {
                "sensor.infocaller_34910000000_ultimo_resultado",
                "sensor.infocaller_34910000000_ultima_llamada",
                "sensor.infocaller_34910000000_estado_de_la_ultima_llamada",
                "sensor.llamar_al_fontanero_ultimo_resultado",
                "sensor.llamar_a_mama_ultimo_resultado",
            },
        ),
    ],
)
@pytest.mark.usefixtures("mock_infocaller")
async def test_logbook_globs_hide_our_repeating_entities_in_each_language(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    language: str,
    expected: set[str],
    source: Any,
) -> None:
    """Every sensor and event entity of ours is hidden; the rest stay.

    The buttons, the notify entities (a person's own action) and the line
    problem (news) keep their entries (the call counters the logbook leaves
    out by itself: they have a state class).
    """
    ours = await _our_entity_ids(hass, mock_config_entry, entity_registry, language)
    assert expected <= set(ours), ours
    shown = convert_include_exclude_filter(INCLUDE_EXCLUDE_BASE_FILTER_SCHEMA(source()))
    hidden = {entity_id for entity_id in ours if not shown(entity_id)}
    assert expected <= hidden
    assert hidden == {
        entity_id
        for entity_id in ours
        if entity_id.split(".")[0] in ("sensor", "event")
    }
    for other in OTHERS:
        assert shown(other), other
