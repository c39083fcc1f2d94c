"""quality_scale.yaml lists every rule of the Home Assistant under test."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1] / "custom_components" / "infocaller"


def _core_rules() -> set[str]:
    """The rules core integrations assess (hassfest admits no other rule)."""
    spec = importlib.util.find_spec("homeassistant")
    assert spec is not None
    assert spec.origin is not None
    components = Path(spec.origin).parent / "components"
    rule_sets = [
        set((yaml.safe_load(path.read_text()) or {}).get("rules", {}))
        for path in components.glob("*/quality_scale.yaml")
    ]
    assert len(rule_sets) > 50
    return set.union(*rule_sets)


def test_every_current_rule_is_assessed() -> None:
    """Each rule is done, or exempt/todo with a reason; none is missing."""
    rules = yaml.safe_load((ROOT / "quality_scale.yaml").read_text())["rules"]
    core = _core_rules()
    assert {"config-flow", "strict-typing", "inject-websession"} <= core
    assert core - set(rules) == set(), "rules missing from quality_scale.yaml"
    for name, value in rules.items():
        if value == "done":
            continue
        assert value["status"] in ("exempt", "todo"), name
        assert len(value["comment"].strip()) > 20, name
