"""The English and Spanish texts are complete, equal in shape and in use."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path
import re
import string

import pytest

from custom_components.infocaller.api import RESULT_CODES, RESULT_KEYS, UNKNOWN_CODE_KEY
from custom_components.infocaller.const import ALL_RESULT_KEYS

ROOT = Path(__file__).parents[1] / "custom_components" / "infocaller"
LANGUAGES = ("en", "es")


def _load(language: str) -> dict:
    return json.loads((ROOT / "translations" / f"{language}.json").read_text())


def _leaves(tree: object, path: str = "") -> dict[str, str]:
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for key, value in tree.items():
            out.update(_leaves(value, f"{path}/{key}"))
        return out
    return {path: str(tree)}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_same_keys_and_placeholders() -> None:
    """Spanish has exactly the English keys, each with the same placeholders."""
    en, es = _leaves(_load("en")), _leaves(_load("es"))
    assert en.keys() == es.keys()
    for key, text in en.items():
        assert text.strip(), key
        assert es[key].strip(), key
        assert _placeholders(text) == _placeholders(es[key]), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_result_key_has_a_state_name(language: str) -> None:
    """Each result key is a translated sensor state and event type."""
    entity = _load(language)["entity"]
    assert set(entity["sensor"]["last_result"]["state"]) == set(ALL_RESULT_KEYS)
    assert set(
        entity["event"]["call_result"]["state_attributes"]["event_type"]["state"]
    ) == set(ALL_RESULT_KEYS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_refusal_has_a_message_with_its_code(language: str) -> None:
    """result_<key> exists for every refusal, and its text shows the code."""
    exceptions = _load(language)["exceptions"]
    keys = [code.key for code in RESULT_CODES.values() if code.code != 0]
    for key in [*keys, UNKNOWN_CODE_KEY]:
        assert "{code}" in exceptions[f"result_{key}"]["message"]


def test_every_translation_key_used_in_code_exists() -> None:
    """Each translation_key="..." and form error in the code is translated."""
    en = _load("en")
    used: set[str] = set()
    for file in ROOT.glob("*.py"):
        source = file.read_text()
        used |= set(re.findall(r'translation_key="([a-z_]+)"', source))
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "CallValidationError"
            ):
                key = node.args[1]
                if isinstance(key, ast.Constant):
                    used.add(key.value)
    used.discard("request_format")  # a selector, checked below
    entity_keys = {key for platform in en["entity"].values() for key in platform}
    known = set(en["exceptions"]) | entity_keys | set(en["device"]) | set(en["issues"])
    assert used <= known, used - known
    assert entity_keys <= used  # and no entity text is left unused
    assert set(en["selector"]["request_format"]["options"]) == {"json", "xml"}
    # Keys picked from tables: one message per failure reason.
    from custom_components.infocaller.errors import (
        NOT_SENT_KEYS,
        OUTCOME_UNKNOWN_KEYS,
    )

    tables = {*NOT_SENT_KEYS.values(), *OUTCOME_UNKNOWN_KEYS.values()}
    for key in tables:
        assert key in en["exceptions"], key
    # And no exception text is left that nothing raises: each is named in
    # the code, or built there as result_<key> (errors.refusal_error) or
    # schedule_<problem> (validation.wall_time_problem).
    named = {
        node.value
        for file in ROOT.glob("*.py")
        for node in ast.walk(ast.parse(file.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    built = {f"result_{key}" for key in RESULT_KEYS} | {
        f"schedule_{problem}" for problem in ("nonexistent", "ambiguous")
    }
    unused = set(en["exceptions"]) - named - built
    assert not unused, unused
    # The same for the saved-call form's errors.
    form_errors = set(en["config_subentries"]["saved_call"]["error"])
    assert not form_errors - named, form_errors - named


def test_services_yaml_fields_are_translated() -> None:
    """Every action field has a name and description in both languages."""
    import yaml

    services = yaml.safe_load((ROOT / "services.yaml").read_text())
    for language in LANGUAGES:
        translated = _load(language)["services"]
        for service, spec in services.items():
            assert set(spec["fields"]) == set(translated[service]["fields"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_progress_urls_stand_alone_on_their_lines(language: str) -> None:
    """Each call-progress URL is a line of its own, nothing touching it.

    A URL at the end of a sentence ("...`{query_url}`.") was copied with the
    full stop, and Infocaller then sent ``digits=1.``.
    """
    text = _load(language)["options"]["step"]["call_progress_urls"]["description"]
    names = _placeholders(text)
    assert {name for name in names if name.endswith("_url")} == {
        "answered_url",
        "forward_answered_url",
        "forward_failed_url",
        "ended_url",
        "query_url",
    }
    lines = text.split("\n")
    for name in names:
        assert lines.count(f"{{{name}}}") == 1, (name, text)
        assert text.count(f"{{{name}}}") == 1, (name, text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_line_title_is_not_preceded_by_infocaller(language: str) -> None:
    """A line's title already says Infocaller ("Infocaller 34910000000").

    Repair titles read "La línea de Infocaller Infocaller 3491..." and
    "Infocaller line Infocaller 3491...".
    """
    doubled = re.compile(r"Infocaller\W+(line\W+)?Infocaller", re.IGNORECASE)
    rendered = {
        path: text.format_map(
            dict.fromkeys(_placeholders(text), "x")
            | {"title": "Infocaller 34910000000"}
        )
        for path, text in _leaves(_load(language)).items()
        if "{title}" in text
    }
    assert rendered
    assert {path: text for path, text in rendered.items() if doubled.search(text)} == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_messages_name_options_by_their_label(language: str) -> None:
    """An error names an option as the form shows it, not by its key."""
    tree = _load(language)
    # Keys that are also action fields are what a YAML action writes.
    fields = {
        field for service in tree["services"].values() for field in service["fields"]
    }
    option_keys = set(tree["options"]["step"]["defaults"]["data"]) - fields
    assert "max_calls_per_number" in option_keys
    texts = _leaves({k: v for k, v in tree.items() if k != "options"})
    assert [
        (path, key)
        for path, text in texts.items()
        for key in option_keys
        if key in text
    ] == []


#: What a reader in Spain notices (issue 21): calques, "línea" for the
#: called phone, "por defecto" beside "predeterminado", and the simple past
#: for what has just happened (Spain says "ha rechazado").
NOT_AS_IN_SPAIN = re.compile(
    r"Ventana de repetición|Como mucho|Cómo la llamas|vacío usa|por defecto"
    r"|la línea comunica|llamada guardada llamada|contestada o no"
    # Issue 21's second reading: the address is "la dirección" (Déjala),
    # "por duplicada" and "sin mayúsculas" are calques, common nouns take
    # no capitals, and Home Assistant's menu says Configuración.
    r"|Déjalo como está|por duplicada|sin mayúsculas|(?-i:Atención al Cliente|Ajustes)"
    r"|\b(rechazó|pudo|falló|superó|alcanzó|recibió|aceptó|respondió|envió|tuvo"
    r"|cortó|llegó|hizo|llamó|contestó|fue)\b",
    re.IGNORECASE,
)


def test_line_means_the_infocaller_line() -> None:
    """A busy phone is the number called, not "the line" (the Infocaller line)."""
    busy = {"en": re.compile(r"line is busy"), "es": re.compile(r"línea comunica")}
    for language in LANGUAGES:
        texts = _leaves(_load(language))
        assert [
            path for path, text in texts.items() if busy[language].search(text)
        ] == []


def test_spanish_as_people_in_spain_write_it() -> None:
    """The Spanish texts (translations and spoken replies) avoid those faults."""
    from custom_components.infocaller.intent import SPEECH
    from custom_components.infocaller.logbook import PROGRESS_TEXTS, TEXTS

    texts = _leaves(_load("es")) | {
        f"intent/{key}": text for key, text in SPEECH["es"].items()
    }
    texts |= {f"logbook/{key}": text for key, text in TEXTS["es"].items()}
    texts |= {f"progress/{key}": text for key, text in PROGRESS_TEXTS["es"].items()}
    assert {
        path: match.group(0)
        for path, text in texts.items()
        if (match := NOT_AS_IN_SPAIN.search(text))
    } == {}


def _spanish_texts() -> dict[str, str]:
    """Every Spanish text a user reads: translations, voice replies, logbook."""
    from custom_components.infocaller.intent import SPEECH
    from custom_components.infocaller.logbook import PROGRESS_TEXTS, TEXTS

    texts = _leaves(_load("es")) | {
        f"intent/{key}": text for key, text in SPEECH["es"].items()
    }
    texts |= {f"logbook/{key}": text for key, text in TEXTS["es"].items()}
    return texts | {
        f"progress/{key}": text for key, text in PROGRESS_TEXTS["es"].items()
    }


def test_the_call_id_is_written_one_way_in_spanish() -> None:
    """Spanish writes the call id one way: "ID de llamada" (HA: "ID de la entidad").

    It was written "ID de llamada", "id de llamada" and "id".
    """
    texts = _spanish_texts()
    assert {path: text for path, text in texts.items() if "ID de llamada" in text}
    assert {
        path: text
        for path, text in texts.items()
        if re.search(r"\b(id|Id)\b", text) or re.search(r"\bID\b(?! de llamada)", text)
    } == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_messages_name_fields_and_actions_by_their_label(language: str) -> None:
    """A field is named by its key with its label; an action by its name.

    Errors said "el campo config_entry_id", "el campo rule_group", "el campo
    {field}" and "mientras call_until_answered estaba en curso".
    """
    tree = _load(language)
    labels = {
        field: spec["name"]
        for service in tree["services"].values()
        for field, spec in service["fields"].items()
    }
    messages = {key: value["message"] for key, value in tree["exceptions"].items()}
    # missing_field names a field it is given ({field}): a known leftover.
    assert [key for key, text in messages.items() if "{field}" in text] == [
        "missing_field"
    ]
    assert [
        (key, action)
        for key, text in messages.items()
        for action in tree["services"]
        if action in text
    ] == []
    word = {"en": "field", "es": "campo"}[language]
    unlabelled = []
    for key, text in messages.items():
        for field, label in labels.items():
            if field == label.lower():
                continue  # "el campo variables" is both
            named = rf"The {field} {word}" if language == "en" else rf"{word} {field}\b"
            found = re.finditer(rf"{named}(?! \((?i:{re.escape(label)})\))", text)
            unlabelled += [(key, match.group(0)) for match in found]
    # English names the obvious ones by key only ("The phone field").
    if language == "en":
        unlabelled = [
            item
            for item in unlabelled
            if "config_entry_id" in item[1] or "rule_group field is required" in item[1]
        ]
    assert unlabelled == []


def _frontend_strings(language: str) -> dict[str, str]:
    """The frontend's own texts in ``language`` (its main and config parts)."""
    spec = importlib.util.find_spec("hass_frontend")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the frontend's package is not installed")
    root = Path(next(iter(spec.submodule_search_locations))) / "static" / "translations"
    strings: dict[str, str] = {}
    for folder in (root, root / "config"):
        for file in folder.glob(f"{language}-*.json"):
            if re.fullmatch(rf"{language}-[0-9a-f]+\.json", file.name):
                strings |= json.loads(file.read_text())
    assert strings, root
    return strings


#: A menu path written in a text: "Configuración > Sistema > Red".
MENU_PATH = re.compile(
    r"[A-ZÁÉÍÓÚ][a-záéíóúñ]*(?: (?:[a-záéíóúñ]+|&))*"
    r"(?: > [A-ZÁÉÍÓÚ][a-záéíóúñ]*(?: (?:[a-záéíóúñ]+|&))*)+"
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_menu_paths_use_the_frontends_names(language: str) -> None:
    """Each step of a menu path is what Home Assistant's menu shows.

    The Spanish texts said "Ajustes > ..."; the Spanish menu says
    "Configuración" (Home Assistant 2025.4 and 2026.10 alike).
    """
    frontend = _frontend_strings(language)
    menu = {frontend["panel.config"], "Infocaller"} | {
        text
        for key, text in frontend.items()
        if re.fullmatch(r"ui\.panel\.config\.dashboard\.\w+\.main", key)
        or key == "ui.panel.config.network.caption"
    }
    paths = {
        path: match.group(0)
        for path, text in _leaves(_load(language)).items()
        for match in MENU_PATH.finditer(text)
    }
    assert paths
    assert {
        path: steps
        for path, steps in paths.items()
        if not set(steps.split(" > ")) <= menu
    } == {}


def test_the_readme_names_the_logbook_as_the_spanish_menu_does() -> None:
    """*Actividad* (2026.10), *Registro* (2025.4): never *Diario*.

    The Spanish paragraph called it *Diario*, a name the Spanish menu of
    neither version uses; the installed frontend says which one it shows.
    """
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    spanish = readme[readme.index("*En español:*") :].split("\n\n")[0]
    assert "*Actividad*" in spanish
    assert "*Registro*" in spanish
    assert "Diario" not in spanish
    assert _frontend_strings("es")["panel.logbook"] in ("Actividad", "Registro")


def test_no_state_icon_repeats_the_default() -> None:
    """A state's icon is listed only when it differs from the entity's default."""
    icons = json.loads((ROOT / "icons.json").read_text())
    repeated = [
        (key, state)
        for platform in icons["entity"].values()
        for key, entity in platform.items()
        for state, icon in entity.get("state", {}).items()
        if icon == entity.get("default")
    ]
    assert not repeated, repeated
