"""Voice: the ``InfocallerCallSavedCall`` intent places a saved call by name."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, intent, translation

from .const import DOMAIN, Source
from .guard import RateLimitedError
from .language import text_language
from .pipeline import CallPipeline
from .runtime import async_loaded_entries
from .saved_call import SavedCall, fold_name

INTENT_CALL_SAVED_CALL = "InfocallerCallSavedCall"

# Spoken answers. Intent responses are plain text, so they are picked by the
# conversation's language (``text_language``).
SPEECH = {
    "en": {
        "calling": "Calling {name}",
        "unknown": "There is no saved call named {name}",
        "ambiguous": "More than one Infocaller line has a saved call named {name}",
        "failed": "The call to {name} failed. {error}",
        "not_placed": "I did not call {name}. {error}",
    },
    "es": {
        "calling": "Llamando a {name}",
        "unknown": "No hay ninguna llamada guardada con el nombre {name}",
        "ambiguous": (
            "Hay más de una línea de Infocaller con una llamada guardada "
            "que se llama {name}"
        ),
        "failed": "La llamada a {name} ha fallado. {error}",
        "not_placed": "No he llamado a {name}. {error}",
    },
}


#: Words said around a name that are not part of it: a possessive before
#: ("llama a mi madre", "call my mum"), how to call and courtesy after
#: ("... por teléfono", "... al móvil", "..., por favor"). Folded as
#: ``fold_name`` folds (no accents).
_POSSESSIVES = frozenset(
    {"mi", "mis", "tu", "tus", "su", "sus", "nuestro", "nuestra", "my", "our"}
)
_TRAILERS = (
    ("por", "telefono"),
    ("por", "el", "telefono"),
    ("al", "telefono"),
    ("al", "movil"),
    ("por", "el", "movil"),
    ("on", "the", "phone"),
    ("por", "favor"),
    ("please",),
)


def _fold_word(word: str) -> str:
    """Fold one said word: no case, accents or punctuation ("Móvil," is "movil")."""
    return "".join(c for c in fold_name(word) if c.isalnum())


def _said_forms(name: str) -> list[list[str]]:
    """Return the name as said, then without each extra word around it.

    Each form is the list of the words as said (case and accents kept):
    "mi madre al móvil, por favor" gives "mi madre al móvil," then "mi
    madre" (trailers dropped, one after another), then "madre".
    """
    words = name.split()
    forms = [words]
    trailers = sorted(_TRAILERS, key=len, reverse=True)
    stripped = True
    while stripped:
        stripped = False
        folded = [_fold_word(word) for word in words]
        for trailer in trailers:
            if len(words) > len(trailer) and tuple(folded[-len(trailer) :]) == trailer:
                words = words[: -len(trailer)]
                stripped = True
                break
    if words != forms[0]:
        forms.append(words)
    if len(words) > 1 and _fold_word(words[0]) in _POSSESSIVES:
        forms.append(words[1:])
    return forms


def _candidates(name: str) -> list[str]:
    """Return the folded names a spoken name may mean, the name as said first.

    A saved call named "Mi madre" is found as said; "mi madre por
    teléfono" also finds "Madre" (or "La madre").
    """
    candidates: list[str] = []
    for words in _said_forms(name):
        folded = fold_name(" ".join(_fold_word(word) for word in words))
        if folded and folded not in candidates:
            candidates.append(folded)
    return candidates


def _cleaned(name: str) -> str:
    """Return the name as said without the words around it, for a reply.

    "mi madre al móvil, por favor" is answered as "madre" is looked for
    (the reply used to repeat every word after the name).
    """
    words = _said_forms(name)[-1]
    return " ".join(words).strip(" ,.;:!?¡¿") or name


def _speech(language: str, key: str, *, name: str, **values: str) -> str:
    text = SPEECH[text_language(language)][key].format(name=name, **values)
    # "a el fontanero" is said "al fontanero" (the English texts have no " a el ").
    return text.replace(" a el ", " al ").replace(" a El ", " al ")


async def _async_error_text(
    hass: HomeAssistant, language: str, err: HomeAssistantError
) -> str:
    """Return the error's translated message in the conversation's language."""
    if err.translation_domain == DOMAIN and err.translation_key:
        strings = await translation.async_get_translations(
            hass, language, "exceptions", {DOMAIN}
        )
        key = f"component.{DOMAIN}.exceptions.{err.translation_key}.message"
        if template := strings.get(key):
            return template.format(**(err.translation_placeholders or {}))
    return str(err)


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the intent; Home Assistant's intent integration calls this."""
    intent.async_register(hass, CallSavedCallIntent())


class CallSavedCallIntent(intent.IntentHandler):
    """Place one of the saved calls, named by voice or by an LLM tool call."""

    intent_type = INTENT_CALL_SAVED_CALL
    description = (
        "Places a phone call through Infocaller using one of the user's saved "
        "calls, chosen by its name (for example 'plumber' or 'mum')"
    )
    slot_schema = {"name": cv.string}  # noqa: RUF012 - the base class's attribute

    def _find(
        self, hass: HomeAssistant, name: str
    ) -> list[tuple[CallPipeline, SavedCall]]:
        saved_calls = [
            (entry.runtime_data.pipeline, saved)
            for entry in async_loaded_entries(hass)
            for saved in entry.runtime_data.saved_calls.values()
        ]
        for wanted in _candidates(name):
            if found := [
                (caller, saved)
                for caller, saved in saved_calls
                if fold_name(saved.name) == wanted
            ]:
                return found
        return []

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Find the saved call and place it."""
        slots = self.async_validate_slots(intent_obj.slots)
        name = str(slots["name"]["value"]).strip()
        language = intent_obj.language
        response = intent_obj.create_response()
        # Failures are answered, not raised: the default agent would replace a
        # raised error's text with a generic "unexpected error".
        matches = self._find(intent_obj.hass, name)
        if len(matches) != 1:
            response.async_set_error(
                intent.IntentResponseErrorCode.NO_VALID_TARGETS,
                _speech(
                    language,
                    "unknown" if not matches else "ambiguous",
                    name=_cleaned(name),
                ),
            )
            return response
        caller, saved = matches[0]
        try:
            await caller.async_call(saved.data, Source.INTENT, saved=saved)
        except HomeAssistantError as err:
            error = await _async_error_text(intent_obj.hass, language, err)
            # Refused here, before anything was sent (a duplicate, a call
            # limit): nothing failed, the call was not placed.
            refused = isinstance(err, (ServiceValidationError, RateLimitedError))
            response.async_set_error(
                intent.IntentResponseErrorCode.FAILED_TO_HANDLE,
                _speech(
                    language,
                    "not_placed" if refused else "failed",
                    name=saved.name,
                    error=error,
                ),
            )
            return response
        response.async_set_speech(_speech(language, "calling", name=saved.name))
        return response
