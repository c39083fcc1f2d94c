"""Config flow for the Infocaller integration."""

from __future__ import annotations

from collections.abc import Mapping
import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit
import zoneinfo

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import (
    CONF_NAME,
    CONF_PASSWORD,
    CONF_TIME_ZONE,
    CONF_WEBHOOK_ID,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    ObjectSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .api import (
    DEFAULT_ENDPOINT,
    InfocallerClient,
    InfocallerConnectionError,
    InfocallerOutcomeUnknownError,
    ProgressUrl,
    RequestFormat,
    progress_urls,
)
from .const import (
    ATTR_MAX_WAIT,
    ATTR_MESSAGE_VARIABLE,
    ATTR_PHONE,
    ATTR_RETRIES,
    ATTR_RULE_GROUP,
    ATTR_VARIABLES,
    CONF_CALL_PROGRESS,
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    CONF_MAX_CALLS_PER_DAY,
    CONF_MAX_CALLS_PER_NUMBER,
    CONF_MAX_WAIT,
    CONF_REPEAT_WINDOW,
    CONF_REQUEST_FORMAT,
    CONF_RETRIES,
    DEFAULT_MAX_CALLS_PER_DAY,
    DEFAULT_MAX_CALLS_PER_NUMBER,
    DEFAULT_MAX_WAIT,
    DEFAULT_REPEAT_WINDOW,
    DEFAULT_REQUEST_FORMAT,
    DEFAULT_RETRIES,
    DEFAULT_TIME_ZONE,
    DOMAIN,
    LOGGER,
    MAX_CALLS_PER_DAY_LIMIT,
    MAX_CALLS_PER_NUMBER_LIMIT,
    MAX_WAIT_LIMIT,
    REPEAT_WINDOW_LIMIT,
    RETRIES_LIMIT,
)
from .digits_budget import guessing_issue_id
from .saved_call import SUBENTRY_SAVED_CALL, fold_name, title_variable
from .schema import vol
from .validation import (
    CallValidationError,
    async_validate_call,
    normalize_line_id,
    validate_variable_name,
)
from .webhook import ProgressWebhookDraft, webhook_url

PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
TEXT_SELECTOR = TextSelector(TextSelectorConfig(autocomplete="off"))
URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
SECTION_ADVANCED = "advanced"
CONF_NEW_URLS = "new_urls"
MAX_WAIT_SELECTOR = NumberSelector(
    NumberSelectorConfig(
        min=0,
        max=MAX_WAIT_LIMIT,
        step=1,
        mode=NumberSelectorMode.BOX,
        unit_of_measurement="min",
    )
)
RETRIES_SELECTOR = NumberSelector(
    NumberSelectorConfig(min=0, max=RETRIES_LIMIT, step=1, mode=NumberSelectorMode.BOX)
)


def _box(maximum: int, unit: str | None = None) -> NumberSelector:
    """Return a whole-number box from 0 (off) to ``maximum``."""
    config = NumberSelectorConfig(
        min=0, max=maximum, step=1, mode=NumberSelectorMode.BOX
    )
    if unit:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _flatten(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Lift the fields of the "advanced" section to the top level."""
    data = {k: v for k, v in user_input.items() if k != SECTION_ADVANCED}
    data.update(user_input.get(SECTION_ADVANCED, {}))
    return data


def _endpoint_ok(endpoint: str) -> bool:
    """Allow https, and plain http only to this machine (local testing)."""
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
    except ValueError:
        return False
    if not host:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: Set by ``scripts/develop`` to its simulator's address: the demo's setup
#: then says where the API is when the default address cannot be reached.
DEMO_SIMULATOR_ENV = "INFOCALLER_DEMO_SIMULATOR"


def _demo_simulator(endpoint: str) -> str | None:
    """Return the demo simulator's address if this is the demo, else None.

    Only when the setup kept the default API address (the *Advanced*
    section forgotten) and the address the demo set is one we accept.
    """
    if endpoint.rstrip("/") != DEFAULT_ENDPOINT:
        return None
    simulator = os.environ.get(DEMO_SIMULATOR_ENV, "").strip().rstrip("/")
    return simulator if simulator and _endpoint_ok(simulator) else None


async def _async_validate(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Check the line with the credential probe (it cannot ring anyone).

    Returns the form errors and the normalised data.
    """
    line_id = normalize_line_id(str(data.get(CONF_IDINFOCALLER, "")))
    if line_id is None:
        return {CONF_IDINFOCALLER: "invalid_idinfocaller"}, {}
    endpoint = str(data.get(CONF_ENDPOINT) or DEFAULT_ENDPOINT).strip().rstrip("/")
    if not _endpoint_ok(endpoint):
        return {CONF_ENDPOINT: "invalid_endpoint"}, {}
    client = InfocallerClient(
        async_get_clientsession(hass),
        line_id,
        data[CONF_PASSWORD],
        endpoint=endpoint,
    )
    try:
        check = await client.check_credentials()
    except (InfocallerConnectionError, InfocallerOutcomeUnknownError):
        return {"base": "cannot_connect"}, {}
    except Exception:  # noqa: BLE001 - shown to the user as "unknown"
        LOGGER.exception("Unexpected error while checking the Infocaller line")
        return {"base": "unknown"}, {}
    if not check.valid:
        return {CONF_PASSWORD: "invalid_auth"}, {}
    normalized = {CONF_IDINFOCALLER: line_id, CONF_PASSWORD: data[CONF_PASSWORD]}
    if endpoint != DEFAULT_ENDPOINT:
        normalized[CONF_ENDPOINT] = endpoint
    return {}, normalized


class InfocallerConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add an Infocaller line."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> InfocallerOptionsFlow:
        """Return the options flow."""
        return InfocallerOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the subentry types: saved calls."""
        return {SUBENTRY_SAVED_CALL: SavedCallFlow}

    def _schema(
        self, defaults: Mapping[str, Any], *, line: bool, advanced: bool = False
    ) -> vol.Schema:
        """Return the form; the endpoint sits in a collapsed "advanced" section.

        The section is open when the endpoint is not the default one, or
        when ``advanced`` asks for it.
        """
        fields: dict[Any, Any] = {}
        if line:
            fields[
                vol.Required(
                    CONF_IDINFOCALLER,
                    default=defaults.get(CONF_IDINFOCALLER, vol.UNDEFINED),
                )
            ] = TEXT_SELECTOR
        fields[vol.Required(CONF_PASSWORD)] = PASSWORD_SELECTOR
        if line:
            endpoint = defaults.get(CONF_ENDPOINT, DEFAULT_ENDPOINT)
            fields[vol.Optional(SECTION_ADVANCED)] = section(
                vol.Schema(
                    {vol.Required(CONF_ENDPOINT, default=endpoint): URL_SELECTOR}
                ),
                {"collapsed": endpoint == DEFAULT_ENDPOINT and not advanced},
            )
        return vol.Schema(fields)

    @callback
    def _async_update_entry(
        self,
        entry: ConfigEntry,
        *,
        data: Mapping[str, Any] | None = None,
        data_updates: Mapping[str, Any] | None = None,
    ) -> ConfigFlowResult:
        """Save new credentials and reload the line, as current core does.

        A loaded line has an update listener, which reloads it when its data
        changed (``async_update_reload_and_abort`` would reload it a second
        time, which Home Assistant refuses). A line that is not loaded has
        no listener, so the flow reloads it. The first branch is what core's
        ``async_update_and_abort`` does, written out because the oldest
        Home Assistant this integration supports lacks it.
        """
        new_data = {**(data or entry.data), **(data_updates or {})}
        if entry.update_listeners:
            self.hass.config_entries.async_update_entry(entry, data=new_data)
            return self.async_abort(
                reason="reauth_successful"
                if self.source == SOURCE_REAUTH
                else "reconfigure_successful"
            )
        return self.async_update_reload_and_abort(entry, data=new_data)

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the line id and password (the endpoint is in a section)."""
        errors: dict[str, str] = {}
        defaults = _flatten(user_input or {})
        placeholders: dict[str, str] = {}
        if user_input is not None:
            errors, data = await _async_validate(self.hass, defaults)
            if not errors:
                await self.async_set_unique_id(data[CONF_IDINFOCALLER])
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=f"Infocaller {data[CONF_IDINFOCALLER]}", data=data
                )
            endpoint = str(defaults.get(CONF_ENDPOINT) or DEFAULT_ENDPOINT)
            if errors.get("base") == "cannot_connect" and (
                simulator := _demo_simulator(endpoint)
            ):
                # The demo, with its Advanced section forgotten: offer the
                # simulator's address, the section open.
                errors["base"] = "cannot_connect_demo"
                placeholders["simulator"] = simulator
                defaults[CONF_ENDPOINT] = simulator
        return self.async_show_form(
            step_id="user",
            data_schema=self._schema(
                defaults, line=True, advanced="simulator" in placeholders
            ),
            errors=errors,
            description_placeholders=placeholders or None,
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Infocaller refused the credentials: ask for the password again."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Check the new password with the probe."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors, data = await _async_validate(
                self.hass, {**entry.data, CONF_PASSWORD: user_input[CONF_PASSWORD]}
            )
            if not errors:
                return self._async_update_entry(
                    entry, data_updates={CONF_PASSWORD: data[CONF_PASSWORD]}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self._schema({}, line=False),
            description_placeholders={"line": entry.data[CONF_IDINFOCALLER]},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the line id, password or endpoint."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors, data = await _async_validate(self.hass, _flatten(user_input))
            if not errors:
                await self.async_set_unique_id(data[CONF_IDINFOCALLER])
                self._abort_if_unique_id_mismatch(reason="wrong_line")
                return self._async_update_entry(entry, data=data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self._schema(
                _flatten(user_input) if user_input else entry.data, line=True
            ),
            errors=errors,
        )


class InfocallerOptionsFlow(OptionsFlow):
    """Call defaults (wire format, time zone) and call progress (webhook).

    The entry's update listener takes new defaults into use without a
    reload; turning call progress on or off, or new URLs, reload the line.
    """

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._new_options: dict[str, Any] = {}
        self._urls: dict[ProgressUrl, str] = {}
        #: The webhook (and cloudhook) prepared for URLs not saved yet.
        self._draft = ProgressWebhookDraft()

    @callback
    def async_remove(self) -> None:
        """Delete a cloudhook made for URLs that were never saved."""
        super().async_remove()
        self._draft.async_abandon(self.hass)

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose what to change."""
        return self.async_show_menu(
            step_id="init", menu_options=["defaults", "call_progress"]
        )

    async def async_step_call_progress(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Turn call progress on or off, or make new URLs."""
        options = self.config_entry.options
        errors: dict[str, str] = {}
        if user_input is not None:
            if not user_input[CONF_CALL_PROGRESS]:
                return self.async_create_entry(
                    data={**options, CONF_CALL_PROGRESS: False}
                )
            new = await self._draft.async_prepare(
                self.hass, options, new_urls=bool(user_input.get(CONF_NEW_URLS))
            )
            if (url := webhook_url(self.hass, new)) is None:
                errors["base"] = "no_public_url"
            else:
                self._new_options = new
                self._urls = progress_urls(url)
                return await self.async_step_call_progress_urls()
        fields: dict[Any, Any] = {
            vol.Required(
                CONF_CALL_PROGRESS, default=bool(options.get(CONF_CALL_PROGRESS))
            ): BooleanSelector()
        }
        if options.get(CONF_WEBHOOK_ID):
            fields[vol.Required(CONF_NEW_URLS, default=False)] = BooleanSelector()
        return self.async_show_form(
            step_id="call_progress", data_schema=vol.Schema(fields), errors=errors
        )

    async def async_step_call_progress_urls(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the URLs to paste into Infocaller; save on submit."""
        if user_input is not None:
            await self._draft.async_saved(
                self.hass, self.config_entry.options, self._new_options
            )
            if self._new_options.get(CONF_WEBHOOK_ID) != self.config_entry.options.get(
                CONF_WEBHOOK_ID
            ):
                # New URLs: whoever was guessing PINs through the old ones can't.
                ir.async_delete_issue(
                    self.hass, DOMAIN, guessing_issue_id(self.config_entry.entry_id)
                )
            return self.async_create_entry(data=self._new_options)
        return self.async_show_form(
            step_id="call_progress_urls",
            data_schema=vol.Schema({}),
            description_placeholders={
                f"{name.value}_url": url for name, url in self._urls.items()
            },
        )

    async def async_step_defaults(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and save the call defaults."""
        if user_input is not None:
            # The selectors already hold each value to its range and list.
            return self.async_create_entry(
                data={
                    **self.config_entry.options,
                    CONF_MAX_WAIT: int(user_input[CONF_MAX_WAIT]),
                    CONF_RETRIES: int(user_input[CONF_RETRIES]),
                    CONF_REQUEST_FORMAT: user_input[CONF_REQUEST_FORMAT],
                    CONF_TIME_ZONE: user_input[CONF_TIME_ZONE],
                    CONF_REPEAT_WINDOW: int(user_input[CONF_REPEAT_WINDOW]),
                    CONF_MAX_CALLS_PER_NUMBER: int(
                        user_input[CONF_MAX_CALLS_PER_NUMBER]
                    ),
                    CONF_MAX_CALLS_PER_DAY: int(user_input[CONF_MAX_CALLS_PER_DAY]),
                }
            )
        zones = await self.hass.async_add_executor_job(zoneinfo.available_timezones)
        current = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_MAX_WAIT, default=current.get(CONF_MAX_WAIT, DEFAULT_MAX_WAIT)
                ): MAX_WAIT_SELECTOR,
                vol.Required(
                    CONF_RETRIES, default=current.get(CONF_RETRIES, DEFAULT_RETRIES)
                ): RETRIES_SELECTOR,
                vol.Required(
                    CONF_REQUEST_FORMAT,
                    default=current.get(CONF_REQUEST_FORMAT, DEFAULT_REQUEST_FORMAT),
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=[fmt.value for fmt in RequestFormat],
                        translation_key=CONF_REQUEST_FORMAT,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
                vol.Required(
                    CONF_TIME_ZONE,
                    default=current.get(CONF_TIME_ZONE, DEFAULT_TIME_ZONE),
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=sorted(zones), mode=SelectSelectorMode.DROPDOWN
                    )
                ),
                vol.Required(
                    CONF_REPEAT_WINDOW,
                    default=current.get(CONF_REPEAT_WINDOW, DEFAULT_REPEAT_WINDOW),
                ): _box(REPEAT_WINDOW_LIMIT, "s"),
                vol.Required(
                    CONF_MAX_CALLS_PER_NUMBER,
                    default=current.get(
                        CONF_MAX_CALLS_PER_NUMBER, DEFAULT_MAX_CALLS_PER_NUMBER
                    ),
                ): _box(MAX_CALLS_PER_NUMBER_LIMIT),
                vol.Required(
                    CONF_MAX_CALLS_PER_DAY,
                    default=current.get(
                        CONF_MAX_CALLS_PER_DAY, DEFAULT_MAX_CALLS_PER_DAY
                    ),
                ): _box(MAX_CALLS_PER_DAY_LIMIT),
            }
        )
        return self.async_show_form(step_id="defaults", data_schema=schema)


SAVED_CALL_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME): TEXT_SELECTOR,
        vol.Required(ATTR_PHONE): TextSelector(
            TextSelectorConfig(type=TextSelectorType.TEL)
        ),
        vol.Required(ATTR_RULE_GROUP): TEXT_SELECTOR,
        vol.Optional(ATTR_VARIABLES): ObjectSelector(),
        vol.Optional(ATTR_MAX_WAIT): MAX_WAIT_SELECTOR,
        vol.Optional(ATTR_RETRIES): RETRIES_SELECTOR,
        vol.Optional(ATTR_MESSAGE_VARIABLE): TEXT_SELECTOR,
    }
)


class SavedCallFlow(ConfigSubentryFlow):
    """Add or edit a saved call: a button, a notify target, a voice command."""

    async def _async_validate(
        self, user_input: dict[str, Any], current_id: str | None
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """Apply the action's rules; return form errors and the data to keep."""
        entry = self._get_entry()
        name = str(user_input.get(CONF_NAME, "")).strip()
        if not name:
            return {CONF_NAME: "missing_field"}, {}
        if any(
            fold_name(subentry.title) == fold_name(name)
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_SAVED_CALL
            and subentry.subentry_id != current_id
        ):
            return {CONF_NAME: "name_in_use"}, {}
        try:
            call = await async_validate_call(
                self.hass,
                user_input,
                line_id=entry.data[CONF_IDINFOCALLER],
                default_max_wait=DEFAULT_MAX_WAIT,
                default_retries=DEFAULT_RETRIES,
            )
            message_variable = str(user_input.get(ATTR_MESSAGE_VARIABLE) or "").strip()
            if message_variable:
                validate_variable_name(
                    title_variable(message_variable), ATTR_MESSAGE_VARIABLE
                )
        except CallValidationError as err:
            key = (
                "invalid_message_variable"
                if err.field == ATTR_MESSAGE_VARIABLE
                else err.key
            )
            return {err.field: key}, {}
        data: dict[str, Any] = {
            ATTR_PHONE: call.phone,
            ATTR_RULE_GROUP: call.rule_group,
            ATTR_VARIABLES: dict(call.variables),
        }
        for field in (ATTR_MAX_WAIT, ATTR_RETRIES):
            if user_input.get(field) is not None:
                data[field] = int(user_input[field])
        if message_variable:
            data[ATTR_MESSAGE_VARIABLE] = message_variable
        return {}, {CONF_NAME: name, **data}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a saved call."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors, data = await self._async_validate(user_input, None)
            if not errors:
                return self.async_create_entry(title=data.pop(CONF_NAME), data=data)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                SAVED_CALL_SCHEMA, user_input or {}
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a saved call; its entities follow in place (no reload)."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors, data = await self._async_validate(user_input, subentry.subentry_id)
            if not errors:
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=data.pop(CONF_NAME),
                    data=data,
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                SAVED_CALL_SCHEMA,
                user_input or {CONF_NAME: subentry.title, **subentry.data},
            ),
            errors=errors,
        )
