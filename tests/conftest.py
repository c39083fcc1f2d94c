"""Shared fixtures for the Infocaller tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
import inspect
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest.mock import AsyncMock, MagicMock, patch
from zoneinfo import ZoneInfo

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.const import CONF_PASSWORD, MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.storage import Store
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.test_util.aiohttp import (
    AiohttpClientMocker,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.infocaller.api import (
    DEFAULT_TIMEOUT,
    CallResult,
    CredentialCheck,
    RequestFormat,
    Stage,
)
from custom_components.infocaller.api.exceptions import InfocallerTimeoutError
from custom_components.infocaller.api.report import ProgressReport
from custom_components.infocaller.const import (
    CONF_ENDPOINT,
    CONF_IDINFOCALLER,
    DOMAIN,
    Source,
)

from .loop_protection import loop_protection

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion
    from syrupy.location import PyTestLocation

ROOT_DIR = Path(__file__).parents[1]
LINE = "34910000000"
PASSWORD = "Secr3t-line-pass"
ENDPOINT = "https://apicall.example.test"
# md5("34910000000" + "Secr3t-line-pass")
FIRMA = __import__("hashlib").md5(f"{LINE}{PASSWORD}".encode()).hexdigest()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/infocaller in every test."""


@pytest.fixture
async def hass(
    hass: HomeAssistant, tmp_path_factory: pytest.TempPathFactory
) -> HomeAssistant:
    """Home Assistant with a configuration folder (and ``.storage``) of the test's own.

    The harness's folder is inside the installed test package, shared by
    every test and every run: the journals written beside the stores
    (real files, outside ``hass_storage``) and copied sentences leaked from
    one test into the next there. Every test that uses ``hass`` gets this.
    """
    config = tmp_path_factory.mktemp("config")
    (config / ".storage").mkdir()
    hass.config.config_dir = str(config)
    return hass


#: What Home Assistant logs when an integration does something it deprecates
#: or forbids (helpers/frame.py, block_async_io.py): "Detected that custom
#: integration 'infocaller' ..." and "Detected blocking call ...".
FRAME_REPORT_MARKERS = (
    f"Detected that custom integration '{DOMAIN}'",
    "Detected blocking call",
    "Detected code that",
)


@pytest.fixture(autouse=True)
def fail_on_home_assistant_reports(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Generator[None]:
    """Fail any test in whose log Home Assistant reports this integration.

    Frame reports ("... will stop working in Home Assistant 2026.12") and
    blocking calls in the event loop are only logged, and pytest hides the
    log of a passing test; this makes them failures. For the tests that run
    in the event loop, Home Assistant's blocking-call detection is turned on
    as a real start does (the test harness leaves most of it off); reports
    about other code (the tests' own file reads) are not logged.
    """
    with ExitStack() as stack:
        if inspect.iscoroutinefunction(request.function):
            stack.enter_context(loop_protection(only_about=DOMAIN))
        yield
    reports = [
        message
        for record in caplog.get_records("call")
        if any(
            marker in (message := record.getMessage())
            for marker in FRAME_REPORT_MARKERS
        )
        and (
            "Detected blocking call" not in message
            or f"custom integration '{DOMAIN}'" in message
        )
    ]
    if reports:
        pytest.fail("Home Assistant reported this integration:\n" + "\n".join(reports))


async def place_two_calls(
    hass: HomeAssistant, mock_infocaller: MagicMock, freezer: Any
) -> None:
    """An accepted call, then (a minute later) one refused for the balance."""
    from custom_components.infocaller.api import InfocallerRejectedError

    await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": "+34611222333", "rule_group": "Aviso"},
        blocking=True,
    )
    freezer.tick(60)
    mock_infocaller.issue_call.side_effect = InfocallerRejectedError(
        CallResult(result=11, result_text="Saldo insuficiente")
    )
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "issue_call",
            {"phone": "+34611222334", "rule_group": "Aviso"},
            blocking=True,
        )
    mock_infocaller.issue_call.side_effect = None


def connector_error() -> aiohttp.ClientConnectorError:
    """The error aiohttp raises when nothing accepts the connection."""
    return aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey(
            "apicall.example.test", 443, True, True, None, None, None
        ),
        OSError(111, "Connection refused"),
    )


def answer_json(code: int, idcall: str = "", text: str | None = None) -> str:
    """An Infocaller answer in JSON, as the vendor documents it."""
    from custom_components.infocaller.api import RESULT_CODES

    if text is None:
        text = RESULT_CODES[code].vendor_text if code in RESULT_CODES else "Nuevo"
    return json.dumps(
        {
            "callRequest": {
                "idcall": idcall,
                "Resultado": str(code),
                "ResultadoTexto": text,
            }
        },
        ensure_ascii=False,
    )


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A configured Infocaller line."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Infocaller {LINE}",
        unique_id=LINE,
        data={
            CONF_IDINFOCALLER: LINE,
            CONF_PASSWORD: PASSWORD,
            CONF_ENDPOINT: ENDPOINT,
        },
    )


@pytest.fixture
async def mock_setup_entry(hass: HomeAssistant) -> AsyncGenerator[AsyncMock]:
    """Keep flows from setting up the entry they create.

    Such an entry has no runtime data: it is unloaded here, with unloading
    patched too, before Home Assistant stops (which would unload it with the
    real code).
    """
    with (
        patch(
            "custom_components.infocaller.async_setup_entry", return_value=True
        ) as setup_entry,
        patch("custom_components.infocaller.async_unload_entry", return_value=True),
    ):
        yield setup_entry
        for entry in hass.config_entries.async_entries(DOMAIN):
            if entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
def mock_infocaller_class() -> Generator[MagicMock]:
    """Patch the client class the integration and its flows build.

    Core's ``mock_elgato`` pattern: tests check what the client was built
    with on this class, and set its instance's answers on ``mock_infocaller``.
    """
    with (
        patch(
            "custom_components.infocaller.account.InfocallerClient", autospec=True
        ) as client_class,
        patch(
            "custom_components.infocaller.config_flow.InfocallerClient",
            new=client_class,
        ),
    ):
        client = client_class.return_value
        client.endpoint = ENDPOINT
        client.request_format = RequestFormat.JSON
        client.time_zone = ZoneInfo("Europe/Madrid")
        client.timeout = DEFAULT_TIMEOUT
        client.issue_call.return_value = CallResult(
            result=0, result_text="Aceptada", call_id="4711"
        )
        # The credential probe: refused on its fields (4), credentials fine.
        client.check_credentials.return_value = CredentialCheck(
            valid=True, result=CallResult(result=4, result_text="Fecha/Hora no válida")
        )
        yield client_class


@pytest.fixture
def mock_infocaller(mock_infocaller_class: MagicMock) -> MagicMock:
    """The patched client: Infocaller accepts every call (id 4711) and check.

    Tests change that with ``issue_call`` / ``check_credentials``
    ``side_effect`` or ``return_value``.
    """
    client: MagicMock = mock_infocaller_class.return_value
    return client


@pytest.fixture
async def setup_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_infocaller: MagicMock
) -> MockConfigEntry:
    """Set up the integration with one line and the mocked client."""
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


PLUMBER = {
    "name": "El fontanero",
    "phone": "611 22 23 33",
    "rule_group": "Click to Call",
    "variables": {"CALLCENTER": "+34911888920"},
    "max_wait": 30,
}
MUM = {
    "name": "Mamá",
    "phone": "+34 622 333 444",
    "rule_group": "Aviso",
    "message_variable": "MENSAJE",
}
BUTTON = "button.call_el_fontanero"
NOTIFY = "notify.call_mama_with_a_message"


async def add_saved_call(
    hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, Any]
) -> Any:
    """Run the saved-call subentry flow with ``data``; return its result."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "saved_call"), context={"source": "user"}
    )
    assert result["type"] == "form"
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


@pytest.fixture
async def with_saved_calls(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> MockConfigEntry:
    """The line with two saved calls (one takes a message), and the intents."""
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, "intent", {})
    for data in (PLUMBER, MUM):
        result = await add_saved_call(hass, setup_integration, data)
        assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    return setup_integration


@pytest.fixture
def mock_answer(
    aioclient_mock: AiohttpClientMocker,
) -> Callable[..., None]:
    """Set what Infocaller answers next (replacing any earlier answer)."""

    def _answer(
        text: str | None = None, *, exc: Exception | None = None, status: int = 200
    ) -> None:
        aioclient_mock.clear_requests()
        aioclient_mock.post(ENDPOINT, text=text, exc=exc, status=status)

    return _answer


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    aioclient_mock: AiohttpClientMocker,
) -> MockConfigEntry:
    """Set up the integration with the real client on a mocked HTTP layer.

    Only tests/test_secrets.py uses it, on purpose: it inspects what the real
    client logs and raises. Every other integration test patches the client
    class (``mock_infocaller``); wire formats are tested in ``tests/api``.
    """
    aioclient_mock.post(ENDPOINT, text=answer_json(0, "4711"))
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


WEBHOOK_ID = "b3f1c2d4e5f60718293a4b5c6d7e8f90" * 2
WEBHOOK_URL = f"/api/webhook/{WEBHOOK_ID}"


@pytest.fixture
async def client(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> Any:
    """An HTTP client for Home Assistant's server, without auth (Infocaller has none)."""
    return await hass_client_no_auth()


async def report_to_webhook(client: Any, **query: str) -> int:
    """Request the line's webhook as Infocaller does (GET); return the status."""
    response = await client.get(WEBHOOK_URL, params=query)
    return int(response.status)


async def issue_call(hass: HomeAssistant, phone: str, **data: Any) -> Any:
    """Call ``infocaller.issue_call`` (rule group Aviso); return its response."""
    return await hass.services.async_call(
        DOMAIN,
        "issue_call",
        {"phone": phone, "rule_group": "Aviso", **data},
        blocking=True,
        return_response=True,
    )


async def two_requests_one_timing_out(
    hass: HomeAssistant, entry: MockConfigEntry, mock_infocaller: MagicMock, phone: str
) -> None:
    """Run two requests to ``phone`` at once, one of them maybe placed.

    An id-less ANSWERED comes while both are on their way; "Alarma" then
    gets no usable answer (maybe placed) and "Cita" is accepted afterwards
    as 90003.
    """
    progress = entry.runtime_data.progress
    pipeline = entry.runtime_data.pipeline
    both_on_their_way = asyncio.Event()
    timed_out = asyncio.Event()
    on_their_way = 0

    async def two_requests(request: Any) -> CallResult:
        nonlocal on_their_way
        on_their_way += 1
        if on_their_way == 2:
            both_on_their_way.set()
        async with asyncio.timeout(5):
            await both_on_their_way.wait()
        if request.rule_group == "Alarma":
            progress.async_report(ProgressReport(stage=Stage.ANSWERED, called=phone))
            raise InfocallerTimeoutError("no answer within the timeout")
        async with asyncio.timeout(5):
            await timed_out.wait()
        return CallResult(result=0, result_text="Aceptada", call_id="90003")

    mock_infocaller.issue_call.side_effect = two_requests
    placed = hass.async_create_task(
        pipeline.async_call({"phone": phone, "rule_group": "Cita"}, Source.ACTION)
    )
    with pytest.raises(HomeAssistantError):  # may have been placed
        await pipeline.async_call(
            {"phone": phone, "rule_group": "Alarma"}, Source.ACTION
        )
    assert progress.pending  # kept: a request to the number is still on its way
    timed_out.set()
    await placed
    await hass.async_block_till_done()


@pytest.fixture
async def progress_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, mock_infocaller: MagicMock
) -> MockConfigEntry:
    """The line with call progress on (its webhook registered)."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={"call_progress": True, "webhook_id": WEBHOOK_ID},
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


PLUMBER_ID = "plumber01"
MUM_ID = "mum00002"
#: The saved calls of ``saved_calls_entry``, as the subentry flow stores them.
SAVED_CALLS = [
    ConfigSubentryData(
        data={
            "phone": "+34611222333",
            "rule_group": "Click to Call",
            "variables": {"CALLCENTER": "+34911888920"},
            "max_wait": 30,
        },
        subentry_id=PLUMBER_ID,
        subentry_type="saved_call",
        title="El fontanero",
        unique_id=None,
    ),
    ConfigSubentryData(
        data={
            "phone": "+34622333444",
            "rule_group": "Aviso",
            "variables": {},
            "message_variable": "MENSAJE",
        },
        subentry_id=MUM_ID,
        subentry_type="saved_call",
        title="Mamá",
        unique_id=None,
    ),
]


@pytest.fixture
def saved_calls_entry() -> MockConfigEntry:
    """A line with call progress on and two saved calls (fixed ids)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Infocaller {LINE}",
        unique_id=LINE,
        entry_id="01JLINE0000000000000000000",
        data={
            CONF_IDINFOCALLER: LINE,
            CONF_PASSWORD: PASSWORD,
            CONF_ENDPOINT: ENDPOINT,
        },
        options={"call_progress": True, "webhook_id": WEBHOOK_ID},
        subentries_data=SAVED_CALLS,
    )


@pytest.fixture
async def init_platform(
    request: pytest.FixtureRequest,
    hass: HomeAssistant,
    saved_calls_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    freezer: Any,
) -> AsyncGenerator[MockConfigEntry]:
    """Set up the line of ``saved_calls_entry`` with one platform only.

    The platform is the test's parameter (``indirect``), as core's
    integrations test theirs; an accepted call and a refused one were
    placed (``place_two_calls``) when the test starts.
    """
    freezer.move_to("2030-03-01 12:00:00+00:00")
    with patch("custom_components.infocaller.PLATFORMS", [request.param]):
        saved_calls_entry.add_to_hass(hass)
        await hass.config_entries.async_setup(saved_calls_entry.entry_id)
        await hass.async_block_till_done()
        await place_two_calls(hass, mock_infocaller, freezer)
        await hass.async_block_till_done()
        yield saved_calls_entry


class LegSnapshotExtension(HomeAssistantSnapshotExtension):
    """Snapshots kept apart for each Home Assistant version the tests run on.

    A registry entry (``snapshot_platform``) has fields that differ between
    the oldest and the newest Home Assistant the integration supports.
    """

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """Return ``__platform_snapshots__/ha<major>.<minor>`` by the test module.

        Not under ``__snapshots__``: each leg would take the other's files
        for unused snapshots.
        """
        return str(
            Path(test_location.filepath).parent
            / "__platform_snapshots__"
            / f"ha{MAJOR_VERSION}.{MINOR_VERSION}"
        )


@pytest.fixture
def platform_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """The snapshot of a platform's entities, one set per Home Assistant version."""
    return snapshot.use_extension(LegSnapshotExtension)


@pytest.fixture
async def saved_calls_integration(
    hass: HomeAssistant, saved_calls_entry: MockConfigEntry, mock_infocaller: MagicMock
) -> MockConfigEntry:
    """Set up the line of ``saved_calls_entry`` (call progress, two saved calls)."""
    saved_calls_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(saved_calls_entry.entry_id)
    await hass.async_block_till_done()
    return saved_calls_entry


@pytest.fixture
def call_ids(mock_infocaller: MagicMock) -> list[str]:
    """Infocaller gives each accepted call a new id: C1, C2, ..."""
    issued: list[str] = []

    async def issue(request: Any) -> CallResult:
        issued.append(f"C{len(issued) + 1}")
        return CallResult(result=0, result_text="Aceptada", call_id=issued[-1])

    mock_infocaller.issue_call.side_effect = issue
    return issued


#: Home Assistant's own file access, before the tests' fixtures mock it.
_REAL_STORE = {
    name: Store.__dict__[name]
    for name in ("_async_load", "_async_write_data", "async_remove")
}


@pytest.fixture
def real_storage(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> Iterator[Path]:
    """The test's real .storage folder; the line's files are removed afterwards.

    Stores read and write real files there (``hass_storage`` is not used).
    """
    folder = Path(hass.config.path(".storage"))
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for name, real in _REAL_STORE.items():
            stack.enter_context(patch.object(Store, name, real))
        yield folder
    for path in folder.glob(f"{DOMAIN}.{mock_config_entry.entry_id}*"):
        path.unlink()


# Device triggers and conditions: the line of ``saved_calls_entry``, its
# devices, and automations that say which of them ran.

#: The time the ``line`` fixture sets the clock to.
LINE_NOW = "2030-03-01 12:00:00+00:00"


@dataclass(frozen=True, slots=True)
class LineDevices:
    """The device ids of the line and of its two saved calls."""

    line: str
    plumber: str
    mum: str


@pytest.fixture
async def line(
    hass: HomeAssistant,
    saved_calls_entry: MockConfigEntry,
    mock_infocaller: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> MockConfigEntry:
    """The line with call progress on and two saved calls, set up at ``LINE_NOW``."""
    freezer.move_to(LINE_NOW)
    saved_calls_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(saved_calls_entry.entry_id)
    await hass.async_block_till_done()
    return saved_calls_entry


def device_id(hass: HomeAssistant, identifier: str) -> str:
    """The id of the line's device with ``identifier`` (its own, or a saved call's)."""
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    (device,) = [
        device
        for device in dr.async_entries_for_config_entry(
            dr.async_get(hass), entry.entry_id
        )
        if (DOMAIN, identifier) in device.identifiers
    ]
    return device.id


@pytest.fixture
def devices(hass: HomeAssistant, line: MockConfigEntry) -> LineDevices:
    """The devices of ``line``: its own, the plumber's and mum's."""
    return LineDevices(
        line=device_id(hass, LINE),
        plumber=device_id(hass, f"{LINE}_{PLUMBER_ID}"),
        mum=device_id(hass, f"{LINE}_{MUM_ID}"),
    )


def automation_trigger(
    device_id: str, trigger_type: str, **extra: str
) -> dict[str, Any]:
    """A device trigger of ours, as an automation writes it."""
    return {
        "trigger": "device",
        "domain": DOMAIN,
        "device_id": device_id,
        "type": trigger_type,
        **extra,
    }


def automation_condition(device_id: str, condition_type: str) -> dict[str, Any]:
    """A device condition of ours, as an automation writes it."""
    return {
        "condition": "device",
        "domain": DOMAIN,
        "device_id": device_id,
        "type": condition_type,
    }


#: The event that runs the automations of conditions (``setup_automations``).
CHECK_EVENT = "check"


async def setup_automations(
    hass: HomeAssistant, automations: dict[str, dict[str, Any]]
) -> None:
    """Set up one automation per alias; each calls ``test.automation``.

    An automation of a device trigger runs on it; one of a device condition
    runs on the event ``CHECK_EVENT`` when the condition holds. The action
    is given the alias and the event's stage and digits (``ran``).
    """
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "alias": alias,
                    **(
                        {"triggers": [trigger_or_condition]}
                        if "trigger" in trigger_or_condition
                        else {
                            "triggers": [
                                {"trigger": "event", "event_type": CHECK_EVENT}
                            ],
                            "conditions": [trigger_or_condition],
                        }
                    ),
                    "actions": [
                        {
                            "action": "test.automation",
                            "data": {
                                "alias": alias,
                                "stage": "{{ trigger.event.data.get('stage') }}",
                                "digits": "{{ trigger.event.data.get('digits') }}",
                            },
                        }
                    ],
                }
                for alias, trigger_or_condition in automations.items()
            ]
        },
    )
    await hass.async_block_till_done()
    for alias in automations:
        state = hass.states.get(f"automation.{alias}")
        assert state is not None, alias
        assert state.state == "on", alias


def ran(service_calls: list[ServiceCall]) -> list[str]:
    """The aliases of the automations that ran, in order."""
    return [call.data["alias"] for call in service_calls if call.domain == "test"]


async def press_plumber(
    hass: HomeAssistant, mock_infocaller: MagicMock, call_id: str
) -> None:
    """Press the plumber's button; Infocaller accepts with ``call_id``."""
    mock_infocaller.issue_call.return_value = CallResult(
        result=0, result_text="Aceptada", call_id=call_id
    )
    await hass.services.async_call(
        "button", "press", {"entity_id": BUTTON}, blocking=True
    )
    await hass.async_block_till_done()


async def report_accepted(client: Any, **query: str) -> None:
    """Infocaller requests one of the pasted URLs; the webhook takes it."""
    assert await report_to_webhook(client, **query) == 200


def incoming_call_event(entry_id: str, stage: str, **data: Any) -> dict[str, Any]:
    """An ``infocaller_incoming_call`` event's data (all the contract's keys).

    By default mum (her saved call's number) calls the line.
    """
    return {
        "config_entry_id": entry_id,
        "stage": stage,
        "caller": "+34622333444",
        "called": LINE,
        "call_id": "900001",
        "uuid": None,
        "digits": None,
        "talk_seconds": None,
        "saved_call": "Mamá",
        "saved_call_id": MUM_ID,
        "saved_calls": ["Mamá"],
        "saved_call_ids": [MUM_ID],
        "time": dt_util.utcnow().isoformat(),
    } | data
