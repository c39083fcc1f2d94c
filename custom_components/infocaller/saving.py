"""Saving a line's state to disk, and reading back whatever is there.

A line keeps its state in three files in ``.storage``, each a
``SavedState``: its records (``records.py``) and its guard (``guard.py``),
both ``JournaledState``, and its call progress (``progress_state.py``).
All are read at every set-up, a reload like a restart: what needs to
outlive a crash is appended to a journal (the guard's entry before a
request leaves, awaited; an accepted call's record right after it is
recorded, not awaited), and the rest is written within
``RECORDS_SAVE_DELAY`` seconds.

A file this version cannot use (unreadable JSON, a newer major version,
values of the wrong kind) never stops the line from loading: it is moved
aside (renamed, not deleted), a repair issue says what was lost, and the
line starts empty. Older minor versions are migrated; extra fields and
``null`` values are tolerated by the readers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
import errno
import glob
import json
import os
from pathlib import Path
import threading
from typing import Any

from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady, HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER, RECORDS_SAVE_DELAY

STORAGE_VERSION = 1

type Migrate = Callable[[int, dict[str, Any]], dict[str, Any]]


class UnreadableStateError(Exception):
    """A stored state this version cannot use."""


def saved_object(value: object) -> Mapping[str, Any]:
    """Return a saved JSON object; raise ``UnreadableStateError`` if it is not one."""
    if not isinstance(value, Mapping):
        raise UnreadableStateError(f"an object expected, not {type(value).__name__}")
    return value


class LineStore(Store[dict[str, Any]]):
    """A line's store: migrates its older minor versions, refuses newer majors."""

    def __init__(
        self,
        hass: HomeAssistant,
        key: str,
        *,
        minor_version: int = 1,
        migrate: Migrate | None = None,
        written: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> None:
        """Store under ``key``; ``migrate(old_minor, data)`` upgrades old data.

        ``written(data)`` is awaited after each write of ``data``.
        """
        super().__init__(hass, STORAGE_VERSION, key, minor_version=minor_version)
        self._migrate = migrate
        self._written = written
        #: Writes under way (data taken, file not yet written or ``written``
        #: not yet told): the unload waits for them.
        self._writing: set[asyncio.Future[None]] = set()

    async def _async_write_data(self, *args: Any) -> None:
        """Write (as Home Assistant does), then tell ``written``.

        Hooked here, not after ``async_save``: ``Store`` logs a failed write
        and returns as if it had written, and ``written`` empties a journal,
        which only a file that really holds its entries may do. This method
        raises when the write fails, so ``written`` is told of good writes
        only (``tests/test_attack4_storage.py``).
        """
        done: asyncio.Future[None] = self.hass.loop.create_future()
        self._writing.add(done)
        try:
            await super()._async_write_data(*args)
            if self._written is not None and isinstance(
                data := args[-1].get("data"), dict
            ):
                await self._written(data)
        finally:
            self._writing.discard(done)
            done.set_result(None)

    async def async_wait_writes(self) -> None:
        """Return once every write under way is written (and told)."""
        while self._writing:
            await asyncio.wait(set(self._writing))

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: Any
    ) -> dict[str, Any]:
        """Upgrade an older minor version; take a newer one as it is."""
        if old_major_version != STORAGE_VERSION:
            # (Home Assistant's Store may refuse a newer major version first.)
            raise UnreadableStateError(f"version {old_major_version}")
        if not isinstance(old_data, dict):
            raise UnreadableStateError("not an object")
        if self._migrate is not None and old_minor_version < self.minor_version:
            return self._migrate(old_minor_version, old_data)
        # A newer minor version of the same major: extra fields are ignored.
        return old_data


class DelayedSave:
    """Write a store now, or ``RECORDS_SAVE_DELAY`` seconds after a change.

    ``async_save_now`` writes before returning (atomically: a temporary
    file renamed into place, in the executor; no fsync, so it survives the
    process being killed but not necessarily a power cut before the
    operating system flushed it). A scheduled save is written once and
    takes everything changed since; later changes do not push it back
    (``Store.async_delay_save`` alone would, so a steady stream of calls
    would never be written). ``async_unload`` writes what is unsaved and
    stops all writing: a reloaded line has a new store that reads the file.
    Home Assistant writes a pending save when it stops.
    """

    def __init__(self, store: LineStore, data: Callable[[], dict[str, Any]]) -> None:
        """Save what ``data`` returns at the time of writing."""
        self._store = store
        self._data = data
        self._pending = False
        self.closed = False

    @callback
    def async_schedule(self) -> None:
        """Note a change: the store is written within the delay."""
        if not self._pending and not self.closed:
            self._pending = True
            self._store.async_delay_save(self._data_to_save, RECORDS_SAVE_DELAY)

    @callback
    def _data_to_save(self) -> dict[str, Any]:
        self._pending = False
        return self._data()

    async def async_save_now(self) -> None:
        """Write the state now (and with it any scheduled save)."""
        if not self.closed:
            await self._store.async_save(self._data_to_save())

    async def async_unload(self) -> None:
        """Write unsaved changes now; nothing is written after this.

        A write already under way (its data taken) is waited for, or it
        could land after a reloaded line's store wrote the same file.
        """
        await self._store.async_wait_writes()
        if self._pending:
            await self.async_save_now()
        self.closed = True


class Journal:
    """Entries written before they matter: one JSON line each, appended.

    Next to a store's file (``<file>.journal``); written in the executor,
    where a lock keeps an append and the deletion in order. Each entry
    carries a sequence number ``s``; the store's data carries the last one
    it holds, so an entry is read back only if the file does not hold it.
    A torn last line (a crash in the middle of an append) is skipped. No
    fsync: an entry survives the process being killed, not necessarily a
    power cut in the seconds before the system writes it out.
    """

    def __init__(self, path: str) -> None:
        """Append to ``path`` (created on the first entry)."""
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd: int | None = None
        #: The sequence number of the last entry appended.
        self._last = 0
        #: Whether the last ``read`` found any bytes (torn lines included).
        self.found = False
        #: Closed (the line unloaded): the file may be a reloaded line's now.
        self._closed = False
        #: Whether the file ends with a whole line (None: not looked yet).
        self._ends_whole: bool | None = None

    def append(self, lines: bytes, seq: int) -> None:
        """Add entries, the last numbered ``seq`` (in the executor).

        Every byte is written, or ``OSError`` is raised (a short write that
        makes no progress too): then the journal is cut back to where it
        was. An entry never continues a torn line (one a crash or a failed
        cut-back left): it starts on a line of its own.
        """
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(
                    self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600
                )
            fd = self._fd
            size = os.fstat(fd).st_size
            if self._ends_whole is None:
                self._ends_whole = not size or os.pread(fd, 1, size - 1) == b"\n"
            data = memoryview(lines if self._ends_whole else b"\n" + lines)
            try:
                while data:
                    if not (written := os.write(fd, data)):
                        raise OSError(errno.EIO, "nothing written", str(self.path))
                    data = data[written:]
            except OSError:
                try:
                    os.ftruncate(fd, size)
                except OSError:
                    self._ends_whole = False
                raise
            self._ends_whole = True
            self._last = max(self._last, seq)

    def empty_upto(self, seq: int) -> None:
        """Delete the journal if the store's file holds all of it (executor)."""
        with self._lock:
            if self._last <= seq and not self._closed:
                self._close(remove=True)

    def read(self) -> list[dict[str, Any]]:
        """Return the entries (in the executor); skip torn or odd lines.

        ``found`` says whether the file held anything at all: a journal
        whose only line is torn must be emptied too, or the next entry
        would be appended to that line and lost with it. A missing file
        has no entries; any other ``OSError`` propagates.
        """
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            self.found = False
            return []
        self.found = bool(content)
        entries = []
        for line in content.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict):
                entries.append(item)
        return entries

    def close(self, remove: bool = False) -> None:
        """Close the file (in the executor); ``remove`` deletes it too.

        Once closed, ``empty_upto`` never deletes the file: a late write's
        hook must not delete a reloaded line's journal.
        """
        with self._lock:
            self._close(remove)
            self._closed = True

    def _close(self, remove: bool) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._ends_whole = None
        if remove:
            self.path.unlink(missing_ok=True)


class SavedState(ABC):
    """A line's state in a store: saved with a delay, loaded, unloaded, removed.

    The state lives in memory and is written to its store's file within
    ``RECORDS_SAVE_DELAY`` seconds of a change (``DelayedSave``), and when
    the line unloads. At load the file is read (``async_load_state``): one
    this version cannot use is moved aside, with a repair issue. Subclasses
    say what is saved (``_data_to_save``) and how it is taken back
    (``_restore``).
    """

    #: The translation key of the repair issue when the file is unusable.
    issue_key: str

    def __init__(self, hass: HomeAssistant, store: LineStore, title: str) -> None:
        """Keep the state in ``store``; ``title`` names the line in the repair."""
        self.hass = hass
        self._store = store
        self._title = title
        self._saving = DelayedSave(self._store, self._data_to_save)

    @abstractmethod
    def _data_to_save(self) -> dict[str, Any]:
        """Return the state to write to the file."""

    @abstractmethod
    def _restore(self, data: Mapping[str, Any]) -> None:
        """Take a saved state; raise, having taken nothing, if it is not one.

        Wrong-shaped data must raise ``UnreadableStateError``, ``KeyError``,
        ``TypeError`` or ``ValueError`` (the file is then moved aside); any
        other exception is a bug, and propagates.
        """

    def _restored(self, data: Mapping[str, Any]) -> bool:
        self._restore(data)
        return True

    async def _async_read(self) -> bool:
        """Restore the file's state; False if there was none it could use."""
        return bool(
            await async_load_state(
                self._store,
                self._restored,
                entry_title=self._title,
                issue_key=self.issue_key,
            )
        )

    async def async_load(self) -> bool:
        """Restore what was saved; False if there was nothing usable."""
        return await self._async_read()

    async def async_unload(self) -> None:
        """Write unsaved state now; nothing is written after this."""
        await self._saving.async_unload()

    async def async_remove(self) -> None:
        """Delete the file and its repair issue."""
        await async_remove_store(self._store)


class JournaledState(SavedState):
    """A ``SavedState`` with a journal of what must outlive a crash.

    The guard and the records are both made so: what must not wait for the
    delayed save is appended to the journal beside the file
    (``_async_append``), each entry numbered. At load the file is read,
    then the journal's entries it does not hold (``_replay``); a journal
    found with anything in it is then written into the file and deleted.
    What is saved (``_data_to_save``) carries ``seq``: the last entry it
    holds.
    """

    #: Write the file at once when there was none usable (the guard: its
    #: key must be on disk before any entry uses it).
    save_new_file = False

    def __init__(
        self,
        hass: HomeAssistant,
        store: Callable[[Callable[[dict[str, Any]], Awaitable[None]]], LineStore],
        title: str,
    ) -> None:
        """Keep the state in ``store(written)`` (``written``: its write hook).

        ``title`` is the line's name in the repair issue.
        """
        super().__init__(hass, store(self._async_written), title)
        self._journal = Journal(f"{self._store.path}.journal")
        #: The number of the last journal entry.
        self._seq = 0
        #: Journal appends under way: the unload waits for them.
        self._appending: set[asyncio.Future[None]] = set()
        #: The unload has started: nothing is appended any more (the file
        #: the unload writes holds the state).
        self._unloading = False
        #: Whether the load has taken the journal's entries: until then no
        #: write deletes the journal (Home Assistant's Store writes a file
        #: it migrates while it loads it, before the entries are taken).
        self._replayed = False

    @abstractmethod
    def _replay(self, entries: list[dict[str, Any]]) -> None:
        """Take the journal's entries the file does not hold, oldest first."""

    async def async_load(self) -> bool:
        """Restore what was saved before the last reload, restart or crash.

        The journal is read while the file is (nothing writes either while
        the line loads): one wait for the executor instead of two in a row.
        """
        journal = self.hass.async_add_executor_job(self._journal.read)
        try:
            restored = await self._async_read()
        finally:
            try:
                entries = await journal
            except OSError as err:
                # A failing disk or too many open files: retried later.
                raise not_ready(self._journal.path, err) from err
        newer: list[tuple[int, dict[str, Any]]] = []
        for entry in entries:
            with suppress(KeyError, TypeError, ValueError):
                if (seq := int(entry["s"])) > self._seq:
                    newer.append((seq, entry))
        if newer:
            newer.sort(key=lambda item: item[0])
            self._seq = newer[-1][0]
            self._replay([entry for _seq, entry in newer])
        self._replayed = True
        if self._journal.found or (not restored and self.save_new_file):
            # The file takes it all; then the journal is deleted (a torn
            # line too: the next entry must not be appended to it).
            await self._saving.async_save_now()
        return restored

    @callback
    def _async_append(self, entry: dict[str, Any], seq: int) -> asyncio.Future[None]:
        """Start appending the entry numbered ``seq`` to the journal."""
        line = json.dumps({"s": seq, **entry}, separators=(",", ":"))
        write = self.hass.async_add_executor_job(
            self._journal.append, f"{line}\n".encode(), seq
        )
        self._appending.add(write)
        write.add_done_callback(self._appending.discard)
        return write

    async def _async_written(self, data: dict[str, Any]) -> None:
        """Empty the journal once the file holds all of its entries.

        Not before the load has taken them: the entries of a journal read
        at load are not counted in ``Journal``'s last number.
        """
        if self._replayed and isinstance(seq := data.get("seq"), int):
            await self.hass.async_add_executor_job(self._journal.empty_upto, seq)

    async def async_unload(self) -> None:
        """Write unsaved state now (after the appends under way); nothing after."""
        self._unloading = True
        if self._appending:
            await asyncio.wait(set(self._appending))
        await super().async_unload()
        await self.hass.async_add_executor_job(self._journal.close)

    async def async_remove(self) -> None:
        """Delete the file, its repair issue and the journal."""
        await super().async_remove()
        await self.hass.async_add_executor_job(self._journal.close, True)


async def async_load_state[T](
    store: Store[dict[str, Any]],
    restore: Callable[[Mapping[str, Any]], T],
    *,
    entry_title: str,
    issue_key: str,
) -> T | None:
    """Return ``restore(saved data)``, or None if there is none it can use.

    Content it cannot use is moved aside and a repair issue (translation
    key ``issue_key``) tells what was lost; the line loads all the same.
    A file that could not be read at all (an ``OSError``: a failing disk,
    too many open files, no permission) is left as it is:
    ``ConfigEntryNotReady`` is raised, and Home Assistant sets the line up
    again later.
    """
    hass = store.hass
    started = dt_util.utcnow()
    try:
        try:
            data = await store.async_load()
        except HomeAssistantError as err:
            # Home Assistant's load_json wraps every OSError so.
            if isinstance(err.__cause__, OSError):
                raise not_ready(Path(store.path), err.__cause__) from err
            raise
        if data is not None:
            return restore(saved_object(data))
    except ConfigEntryNotReady:
        raise
    except (
        # What an unusable file produces: Home Assistant's Store refusing it,
        # and wrong-shaped data (restores check shapes, or fail with these).
        # Anything else is a bug: it propagates, and the file stays.
        HomeAssistantError,
        UnreadableStateError,
        KeyError,
        TypeError,
        ValueError,
    ) as err:
        aside = f"{store.path}.unreadable.{started.strftime('%Y%m%dT%H%M%S')}"
        with suppress(FileNotFoundError):
            await hass.async_add_executor_job(os.replace, store.path, aside)
        LOGGER.error(
            "Could not read %s (%s: %s); it was moved to %s",
            store.key,
            type(err).__name__,
            err,
            aside,
        )
        _async_lost(hass, store, issue_key, entry_title, aside)
        return None
    # An unreadable JSON file: Home Assistant moved it aside just now.
    for issue in list(ir.async_get(hass).issues.values()):
        if (
            issue.domain == HOMEASSISTANT_DOMAIN
            and issue.issue_id.startswith(f"storage_corruption_{store.key}_")
            and issue.created >= started
        ):
            aside = (issue.translation_placeholders or {}).get("corrupt_path", "")
            _async_lost(hass, store, issue_key, entry_title, aside)
    return None


@callback
def _async_lost(
    hass: HomeAssistant,
    store: Store[dict[str, Any]],
    issue_key: str,
    entry_title: str,
    aside: str,
) -> None:
    """Raise the repair issue that says a store's content was lost."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        lost_issue_id(store.key),
        is_fixable=False,
        is_persistent=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=issue_key,
        translation_placeholders={"title": entry_title, "path": aside},
    )


def not_ready(path: Path, err: OSError) -> ConfigEntryNotReady:
    """Return the error that has a line set up later: ``path`` unreadable now."""
    return ConfigEntryNotReady(
        translation_domain=DOMAIN,
        translation_key="storage_not_readable",
        translation_placeholders={"file": path.name, "error": str(err)},
    )


def lost_issue_id(store_key: str) -> str:
    """Return the id of the repair issue about a store's lost content."""
    return f"unreadable_{store_key}"


async def async_remove_store(store: Store[dict[str, Any]]) -> None:
    """Delete a store's file, the files it had moved aside, and its repairs.

    Moved aside: by ``async_load_state`` (``.unreadable.*``) or by Home
    Assistant (``.corrupt.*``, whose repair points at the file).
    """
    hass = store.hass
    ir.async_delete_issue(hass, DOMAIN, lost_issue_id(store.key))
    for issue in list(ir.async_get(hass).issues.values()):
        if issue.domain == HOMEASSISTANT_DOMAIN and issue.issue_id.startswith(
            f"storage_corruption_{store.key}_"
        ):
            ir.async_delete_issue(hass, HOMEASSISTANT_DOMAIN, issue.issue_id)
    await store.async_remove()
    await hass.async_add_executor_job(_remove_aside, Path(store.path))


def _remove_aside(path: Path) -> None:
    """Delete the files ``path`` was moved to (in the executor)."""
    name = glob.escape(path.name)
    for pattern in (f"{name}.unreadable.*", f"{name}.corrupt.*"):
        for aside in path.parent.glob(pattern):
            aside.unlink(missing_ok=True)
