"""A :class:`Store` whose root is an object-store URL (``Store("s3://bucket/prefix")`` opens one).

Same API, same layout, same bytes as a local store. Every write goes, as today, through the local
atomic commit into a working copy (:mod:`flexsync.storage.working_copy`, under ``FLEXSYNC_CACHE``);
the committed unit is then published to the object store as a new immutable version made current
by one commit record written last (:mod:`flexsync.storage.remote_units`). Every read first makes
the working copy hold the committed version of what it asks for (only that member: a table
partition is fetched without its recording's frames), so zarr, polars and the loaders' row reader
read local files. ``open_recording`` and ``open_samples`` read straight from the object store
instead when the working copy does not hold the group (no download: zarr fetches the chunks a
slice needs).

Units: ``recordings/<key>``, ``samples/<key>``, ``staging/<key>/<stream>.zarr``,
``staging/<key>/clock``, each training file (``training/<name>``, ``training/fkg/<table>.parquet``)
and ``export/<name>``. A Store object reads each unit's commit record once (a consistent snapshot
for a loader); its own publishes update it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import zarr

from flexsync import config
from flexsync.raw.layout import RECORDING_KEY_PATTERN, check_recording_key
from flexsync.storage.atomic import atomic_directory
from flexsync.storage.store import (
    CLOCK_DIR,
    CLOCK_FILES,
    RECORDING_ZARR,
    RECORDINGS_DIR,
    REPORT_FILES,
    SAMPLES_DIR,
    SAMPLES_ZARR,
    STAGING_DIR,
    UNIT_REPORT_DIR,
    UNIT_TABLES_DIR,
    Store,
    UnitKind,
    UnitWriter,
    register_url_store,
)
from flexsync.storage.urls import parse_root_url
from flexsync.storage.zarr_io import open_group_readonly, read_recording

__all__ = ["RemoteStore"]

T = TypeVar("T")

_INSTALL_HINT = "object-store roots need the s3 extra: pip install 'flexsync[s3]'"


def _reopen(url: str, cache: str, max_cache_bytes: int) -> RemoteStore:
    return RemoteStore(url, cache=Path(cache), max_cache_bytes=max_cache_bytes)


class RemoteStore(Store):
    """One object-store root, read and written through a bounded local working copy."""

    def __init__(self, root: str, *, cache: Path | None = None, max_cache_bytes: int | None = None) -> None:
        try:
            from flexsync.storage.object_store import ObjectClient
            from flexsync.storage.remote_units import RemoteUnits
            from flexsync.storage.working_copy import WorkingCopy
        except ImportError as error:  # obstore missing
            raise ImportError(f"{_INSTALL_HINT} ({error})") from error
        self.url = parse_root_url(root)
        self.cache = Path(cache) if cache is not None else config.cache_root()
        self.max_cache_bytes = config.cache_max_bytes() if max_cache_bytes is None else int(max_cache_bytes)
        self.root = self.cache / "stores" / self.url.cache_name()
        self.client = ObjectClient(self.url)
        self.units = RemoteUnits(self.client)
        self.copy = WorkingCopy(self.root, max_bytes=self.max_cache_bytes)
        self._commits: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Store({str(self.url)!r})"

    @property
    def location(self) -> str:
        """The root URL (``root`` is the local working copy)."""
        return str(self.url)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemoteStore) and other.url == self.url

    def __hash__(self) -> int:
        return hash(str(self.url))

    def __reduce__(self) -> tuple[Any, ...]:  # to worker processes: the URL and the working copy, no handles
        return _reopen, (str(self.url), str(self.cache), self.max_cache_bytes)

    # -- commit records and the working copy --------------------------------------------------------

    def _rel(self, path: Path) -> str:
        return Path(path).relative_to(self.root).as_posix()

    def commit_of(self, unit: str) -> Any:
        """The unit's commit record (read once per Store object), or None when nothing is committed."""
        if unit not in self._commits:
            self._commits[unit] = self.units.read_commit(unit)
        return self._commits[unit]

    def _ensure(self, unit: str, member: str = "") -> None:
        commit = self.commit_of(unit)
        marker = self.copy.marker(unit)
        if marker is not None and (commit is None or commit.version != marker.version):
            # The working copy holds another committed version: another process published since.
            commit = self._commits[unit] = self.units.read_commit(unit)
        self.copy.ensure(self.units, unit, commit, member)

    def _known(self) -> dict[str, str]:
        """sha256 -> key of every file this object has seen committed (sources for server-side copies)."""
        return {f.sha256: c.key(f.path) for c in self._commits.values() if c is not None for f in c.files}

    def _push(self, unit: str) -> None:
        """Publish the local unit (the caller holds its lock and has just committed it locally)."""
        current = self.units.read_commit(unit)
        commit = self.units.publish(unit, self.copy.local(unit), current=current, known=self._known())
        self._commits[unit] = commit
        self.copy.record(unit, commit, ("",))

    @contextmanager
    def _publishing(self, unit: str, local: AbstractContextManager[T]) -> Iterator[T]:
        """Run ``local`` (a local atomic commit around the caller's block), then publish the unit.

        The lock is taken after the caller's block, so the block may read other units (or this one's
        committed version) freely; it covers the local commit and the upload.
        """
        value = local.__enter__()
        try:
            yield value
        except BaseException:
            if not local.__exit__(*sys.exc_info()):
                raise
            return
        with self.copy.lock(unit):
            self.copy.forget(unit)
            local.__exit__(None, None, None)
            self._push(unit)
        self.copy.evict(keep=unit)  # outside the lock: eviction takes other units' locks

    @contextmanager
    def _publishing_now(self, unit: str) -> Iterator[None]:
        """Hold the unit's lock around a local write done inside the block, then publish it."""
        with self.copy.lock(unit):
            self.copy.forget(unit)
            yield
            self._push(unit)
        self.copy.evict(keep=unit)

    # -- checks ---------------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """The working copy and the object store can both be written (one probe object, deleted again)."""
        super().check_writable()
        probe = f".work/probe-{os.getpid()}-{id(self)}"
        try:
            self.client.put(probe, b"")
            self.client.delete([probe])
        except OSError as exc:
            raise PermissionError(f"store {self.url} cannot be written: {exc}") from exc

    # -- staging ----------------------------------------------------------------------------------------

    def write_staged_stream(self, key: str, stream: str) -> AbstractContextManager[Path]:
        unit = self._rel(self._staging_stream(key, stream))
        return self._publishing(unit, super().write_staged_stream(key, stream))

    def staged_stream_path(self, key: str, stream: str) -> Path:
        self._ensure(self._rel(self._staging_stream(key, stream)))
        return super().staged_stream_path(key, stream)

    def remove_staged_stream(self, key: str, stream: str) -> None:
        unit = self._rel(self._staging_stream(key, stream))
        with self.copy.lock(unit):
            self.units.remove(unit)
            self._commits[unit] = None
            self.copy.forget(unit)
            super().remove_staged_stream(key, stream)

    def write_clock_fit(self, key: str, tables: dict[str, pl.DataFrame], files: dict[str, bytes]) -> None:
        with self._publishing_now(self._rel(self._clock_dir(key))):
            super().write_clock_fit(key, tables, files)

    def clock_fit_file(self, key: str, name: str) -> Path:
        if name in CLOCK_FILES:
            self._ensure(f"{STAGING_DIR}/{check_recording_key(key)}/{CLOCK_DIR}", name)
        return super().clock_fit_file(key, name)

    # -- published units ----------------------------------------------------------------------------------

    def unit(self, kind: UnitKind, key: str) -> AbstractContextManager[UnitWriter]:
        return self._publishing(f"{kind}/{check_recording_key(key)}", super().unit(kind, key))

    def _list_units(self, kind: UnitKind, member: str) -> list[str]:
        names = [n for n in self.units.list_units(kind) if RECORDING_KEY_PATTERN.match(n)]
        self.client.map(self.commit_of, [f"{kind}/{n}" for n in names if f"{kind}/{n}" not in self._commits])
        return sorted(n for n in names if (c := self.commit_of(f"{kind}/{n}")) is not None and c.has_member(member))

    def recording_path(self, key: str) -> Path:
        self._ensure(f"{RECORDINGS_DIR}/{check_recording_key(key)}", RECORDING_ZARR)
        return super().recording_path(key)

    def open_recording(self, key: str) -> zarr.Group:
        from flexsync.storage.remote_reader import open_remote_recording

        unit = f"{RECORDINGS_DIR}/{check_recording_key(key)}"
        commit = self.commit_of(unit)
        if self.copy.is_current(unit, commit, RECORDING_ZARR):
            return read_recording(self.copy.local(unit) / RECORDING_ZARR, recording=key)
        return open_remote_recording(self.client, commit, RECORDING_ZARR, key=key)

    def report_file(self, key: str, name: str) -> Path:
        if name in REPORT_FILES:
            self._ensure(f"{RECORDINGS_DIR}/{check_recording_key(key)}", f"{UNIT_REPORT_DIR}/{name}")
        return super().report_file(key, name)

    def samples_path(self, key: str) -> Path:
        self._ensure(f"{SAMPLES_DIR}/{check_recording_key(key)}", SAMPLES_ZARR)
        return super().samples_path(key)

    def open_samples(self, key: str) -> zarr.Group:
        from flexsync.storage.remote_reader import open_remote_group

        unit = f"{SAMPLES_DIR}/{check_recording_key(key)}"
        commit = self.commit_of(unit)
        if self.copy.is_current(unit, commit, SAMPLES_ZARR):
            return open_group_readonly(self.copy.local(unit) / SAMPLES_ZARR)
        return open_remote_group(self.client, commit, SAMPLES_ZARR, unit=unit)

    def table_partition(self, table: str, key: str) -> Path:
        path = super().table_partition(table, key)
        unit = f"{self._table_kind(table)}/{key}"
        self._ensure(unit, f"{UNIT_TABLES_DIR}/{table}.parquet")
        return path

    def table_glob(self, table: str) -> str:
        for key in self.table_keys(table):
            self.table_partition(table, key)
        return super().table_glob(table)

    # -- dataset-wide products ------------------------------------------------------------------------------

    def training_path(self, name: str) -> Path:
        path = super().training_path(name)
        self._ensure(self._rel(path))
        return path

    def fkg_table_path(self, table: str) -> Path:
        path = super().fkg_table_path(table)
        self._ensure(self._rel(path))
        return path

    def write_parquet(self, path: Path, df: pl.DataFrame) -> Path:
        self._check_inside(path)
        with self._publishing_now(self._rel(path)):
            return super().write_parquet(path, df)

    def write_text(self, path: Path, text: str) -> Path:
        self._check_inside(path)
        with self._publishing_now(self._rel(path)):
            return super().write_text(path, text)

    def export_dir(self, name: str = "flex") -> Path:
        path = super().export_dir(name)
        self._ensure(self._rel(path))
        return path

    def write_export(self, name: str = "flex") -> AbstractContextManager[Path]:
        final = Store.export_dir(self, name)  # not fetched: it is about to be replaced whole
        local = atomic_directory(final, work_dir=self._work(), prefix="export-")
        return self._publishing(self._rel(final), local)


register_url_store(RemoteStore)
