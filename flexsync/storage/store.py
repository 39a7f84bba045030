"""The flexsync store: every path of the layout and every open and commit of its files.

Callers never join store paths or open store files themselves; they ask a :class:`Store`.
That is the seam through which another backend (an object store) goes under every caller.

::

    STORE_ROOT/
      staging/<key>/<stream>.zarr          one stream's ingest output on its DEVICE clock
      staging/<key>/clock/                 the clock fit: clock_models.parquet, sync_events.parquet,
                                           sync_report.png, sync_report.json
      recordings/<key>/                    one published recording, committed as ONE unit:
        recording.zarr                       the aligned recording (root attr status="complete")
        tables/<table>.parquet               recordings, streams, dropped_frames, channel_quality,
                                             clock_models, sync_events (one partition each)
        report/sync_report.png, .json        the sync report of the clock fit it was built from
        report/overlay.png, .mp4             the mocap skeleton drawn on every view (flexsync.ingest.overlay)
      samples/<key>/                       one recording's repetition samples, one unit:
        samples.zarr, tables/samples.parquet
      training/                            dataset-wide products: sample_index.parquet, splits.parquet,
                                           score_ranges.json, videoqa.parquet, videoqa.jsonl, fkg/<t>.parquet
      export/<name>/                       exports (the FLEX / CoRe folder layout under export/flex)
      .work/                               writes in progress and crash debris (readers never look here)

A unit (a published recording, a recording's samples) is written whole into ``.work/`` and then
put in place by one directory swap (``renameat2(RENAME_EXCHANGE)``): readers see the previous unit
or the new one, never a mix of a new Zarr with old tables. A backend without rename would write
the unit under a fresh version prefix and make it current by writing one commit record last;
:meth:`Store.unit` is the one place where that choice lives: ``Store("s3://bucket/prefix")`` opens
:class:`flexsync.storage.remote_store.RemoteStore`, which does exactly that. Staged streams are
reproduced in a unit with hard links (:meth:`UnitWriter.link_tree`), which on an object store
become server-side copies.

Every listing skips names starting with ``.`` and names that are not valid recording keys.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
import zarr

from flexsync.errors import MissingInputError
from flexsync.raw.layout import RECORDING_KEY_PATTERN, check_recording_key
from flexsync.storage.atomic import atomic_directory, atomic_file, link_or_copy_tree
from flexsync.storage.tables import (
    PARQUET_COMPRESSION,
    PARQUET_COMPRESSION_LEVEL,
    TableWriteResult,
    read_partitions,
    write_table,
)
from flexsync.storage.urls import is_url
from flexsync.storage.zarr_io import open_group_for_write, open_group_readonly, read_recording

__all__ = [
    "CLOCK_FILES",
    "OVERLAY_MP4",
    "OVERLAY_PNG",
    "RECORDING_TABLES",
    "SAMPLES_TABLE",
    "SLUG_PATTERN",
    "SYNC_REPORT_JSON",
    "SYNC_REPORT_PNG",
    "TRAINING_FILES",
    "Store",
    "UnitWriter",
    "check_slug",
    "is_hidden",
    "register_url_store",
]

STAGING_DIR = "staging"
RECORDINGS_DIR = "recordings"
SAMPLES_DIR = "samples"
TRAINING_DIR = "training"
EXPORT_DIR = "export"
WORK_DIR = ".work"

RECORDING_ZARR = "recording.zarr"
SAMPLES_ZARR = "samples.zarr"
UNIT_TABLES_DIR = "tables"
UNIT_REPORT_DIR = "report"
CLOCK_DIR = "clock"

SYNC_REPORT_PNG = "sync_report.png"
SYNC_REPORT_JSON = "sync_report.json"
OVERLAY_PNG = "overlay.png"
OVERLAY_MP4 = "overlay.mp4"
REPORT_FILES = (SYNC_REPORT_PNG, SYNC_REPORT_JSON, OVERLAY_PNG, OVERLAY_MP4)
SAMPLES_TABLE = "samples"
# Tables of a published recording, in the order they are written; the clock tables come from staging.
RECORDING_TABLES = ("recordings", "streams", "dropped_frames", "channel_quality", "clock_models", "sync_events")
CLOCK_TABLES = ("clock_models", "sync_events")
CLOCK_FILES = (*(f"{t}.parquet" for t in CLOCK_TABLES), SYNC_REPORT_PNG, SYNC_REPORT_JSON)
TRAINING_FILES = (
    "sample_index.parquet",
    "splits.parquet",
    "score_ranges.json",
    "videoqa.parquet",
    "videoqa.jsonl",
)

UnitKind = Literal["recordings", "samples"]

# Stream, table and export names become folder and file names: same rule as recording keys.
SLUG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def check_slug(name: str, what: str) -> str:
    """Return ``name`` if it is safe as a stream, table or export name, else raise ValueError saying why."""
    if not isinstance(name, str) or not SLUG_PATTERN.match(name):
        raise ValueError(
            f"invalid {what} name {name!r}: use letters, digits, '_' and '-' only "
            "(at most 64 characters, not starting with '_' or '-')"
        )
    return name


def is_hidden(name: str) -> bool:
    """True for work-in-progress or crash debris names, which readers must ignore."""
    return name.startswith(".")


def _parquet_bytes_settings() -> dict[str, Any]:
    return {"compression": PARQUET_COMPRESSION, "compression_level": PARQUET_COMPRESSION_LEVEL, "statistics": True}


@dataclass(frozen=True)
class UnitWriter:
    """The members of one unit being written; nothing is visible until the unit commits."""

    key: str
    folder: Path
    zarr_name: str

    @property
    def zarr_path(self) -> Path:
        """Where the unit's Zarr group is built (``recording.zarr`` or ``samples.zarr``)."""
        return self.folder / self.zarr_name

    def open_zarr(self, attrs: dict[str, Any] | None = None) -> zarr.Group:
        """Create the unit's (empty) Zarr group and return it for writing."""
        return open_group_for_write(self.zarr_path, attrs)

    def group(self, member: str, *, create: bool = False) -> zarr.Group:
        """A subgroup of the unit's Zarr group at ``member`` (created empty with ``create``), for writing."""
        return zarr.open_group(self.zarr_path / member, mode="w" if create else "r+", zarr_format=3)

    def link_tree(self, source: Path, member: str) -> Path:
        """Reproduce a staged tree inside the unit's Zarr group at ``member`` (hard links where possible)."""
        target = self.zarr_path / member
        link_or_copy_tree(source, target)
        return target

    def write_table(self, table: str, df: pl.DataFrame) -> TableWriteResult:
        """Validate ``df`` against ``table``'s schema (rows of this key only) and add it to the unit."""
        folder = self.folder / UNIT_TABLES_DIR
        folder.mkdir(exist_ok=True)
        return write_table(df, check_slug(table, "table"), folder / f"{table}.parquet", key=self.key, atomic=False)

    def write_file(self, member: str, data: bytes) -> Path:
        """Write ``data`` into the unit at ``member`` (a relative path such as ``report/overlay.png``)."""
        target = self.folder / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def copy_file(self, source: Path, member: str) -> Path:
        """Copy a file into the unit at ``member`` (a relative path such as ``report/sync_report.png``)."""
        target = self.folder / member
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return target


# The Store subclass for object-store URL roots (flexsync.storage.remote_store registers it; the
# package imports that module, so it is registered wherever Store can be imported).
_url_store: type[Store] | None = None


def register_url_store(cls: type[Store]) -> None:
    """Make ``Store("s3://bucket/prefix")`` (any URL of flexsync.storage.urls) open a ``cls``."""
    global _url_store
    _url_store = cls


class Store:
    """One store root and the layout above (what the Dagster resource hands out).

    A root that is an object-store URL (``s3://bucket/prefix``, see docs/object-stores.md) opens
    the registered subclass, with the same API: :class:`flexsync.storage.remote_store.RemoteStore`.
    """

    def __new__(cls, root: Path | str | None = None, *args: Any, **kwargs: Any) -> Store:
        if cls is Store and is_url(root):
            if _url_store is None:
                raise RuntimeError(f"no object-store backend registered for {root!r}: import flexsync.storage")
            return super().__new__(_url_store)
        return super().__new__(cls)

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    @property
    def location(self) -> str:
        """Where the store is, for people: its folder, or its URL on an object store."""
        return str(self.root)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Store) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    # -- checks ---------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise PermissionError (naming the folder) unless the store root can be created and written."""
        work = self.root / WORK_DIR
        try:
            work.mkdir(parents=True, exist_ok=True)
            probe = work / f".probe-{id(self)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise PermissionError(f"store {self.root} cannot be written: {exc.strerror or exc}") from exc

    # -- staging: per stream, on the device clock ------------------------------------------------

    def _staging_stream(self, key: str, stream: str) -> Path:
        return self.root / STAGING_DIR / check_recording_key(key) / f"{check_slug(stream, 'stream')}.zarr"

    @contextmanager
    def write_staged_stream(self, key: str, stream: str) -> Iterator[Path]:
        """Yield an empty folder for a stream's Zarr group; on success it replaces the staged stream."""
        with atomic_directory(self._staging_stream(key, stream), work_dir=self._work()) as tmp:
            yield tmp

    def staged_stream_path(self, key: str, stream: str) -> Path:
        """The staged stream's Zarr group (raises MissingInputError if it was never staged)."""
        path = self._staging_stream(key, stream)
        if not (path / "zarr.json").is_file():
            raise MissingInputError(
                "staged stream not found: materialise its stream asset first", path=path, recording=key, stream=stream
            )
        return path

    def open_staged_stream(self, key: str, stream: str) -> zarr.Group:
        return open_group_readonly(self.staged_stream_path(key, stream))

    def remove_staged_stream(self, key: str, stream: str) -> None:
        shutil.rmtree(self._staging_stream(key, stream), ignore_errors=True)

    # -- staging: the clock fit -------------------------------------------------------------------

    def _clock_dir(self, key: str) -> Path:
        return self.root / STAGING_DIR / check_recording_key(key) / CLOCK_DIR

    def write_clock_fit(self, key: str, tables: dict[str, pl.DataFrame], files: dict[str, bytes]) -> None:
        """Stage a recording's clock fit whole: its two tables (validated first) and its report files.

        Raises TableValidationError before anything is written if a table fails its schema.
        """
        if set(tables) != set(CLOCK_TABLES) or set(files) != {SYNC_REPORT_PNG, SYNC_REPORT_JSON}:
            raise ValueError(
                f"a clock fit is the tables {CLOCK_TABLES} and the files {SYNC_REPORT_PNG}, {SYNC_REPORT_JSON}"
            )
        with atomic_directory(self._clock_dir(key), work_dir=self._work()) as tmp:
            for table, df in tables.items():
                write_table(df, table, tmp / f"{table}.parquet", key=key, atomic=False)
            for name, data in files.items():
                (tmp / name).write_bytes(data)

    def clock_fit_file(self, key: str, name: str) -> Path:
        """One staged clock-fit file (``sync_report.png`` ...); raises MissingInputError if not fitted yet."""
        if name not in CLOCK_FILES:
            raise ValueError(f"unknown clock-fit file {name!r}; expected one of {', '.join(CLOCK_FILES)}")
        path = self._clock_dir(key) / name
        if not path.is_file():
            raise MissingInputError("clock fit not found: materialise clock_models first", path=path, recording=key)
        return path

    def add_clock_fit(self, unit: UnitWriter) -> None:
        """Copy the recording's staged clock fit (its tables and report) into the unit being published."""
        for table in CLOCK_TABLES:
            unit.copy_file(self.clock_fit_file(unit.key, f"{table}.parquet"), f"{UNIT_TABLES_DIR}/{table}.parquet")
        for name in (SYNC_REPORT_PNG, SYNC_REPORT_JSON):
            unit.copy_file(self.clock_fit_file(unit.key, name), f"{UNIT_REPORT_DIR}/{name}")

    def read_clock_report(self, key: str) -> dict[str, Any]:
        """The staged sync report (JSON) of the recording's last clock fit."""
        return json.loads(self.clock_fit_file(key, SYNC_REPORT_JSON).read_text(encoding="utf-8"))

    # -- published units ----------------------------------------------------------------------------

    def _work(self) -> Path:
        return self.root / WORK_DIR

    def _unit_dir(self, kind: UnitKind, key: str) -> Path:
        return self.root / kind / check_recording_key(key)

    @contextmanager
    def unit(self, kind: UnitKind, key: str) -> Iterator[UnitWriter]:
        """Build a unit in ``.work/`` and, if the block succeeds, make it current in one step.

        On any exception nothing changes: the previous unit (if any) stays as it was.
        """
        final = self._unit_dir(kind, key)
        with atomic_directory(final, work_dir=self._work(), prefix=f"{kind}-") as tmp:
            yield UnitWriter(key=key, folder=tmp, zarr_name=RECORDING_ZARR if kind == RECORDINGS_DIR else SAMPLES_ZARR)

    def publish_recording(self, key: str) -> AbstractContextManager[UnitWriter]:
        """``unit("recordings", key)``: the aligned Zarr, its tables and its report, as one unit."""
        return self.unit(RECORDINGS_DIR, key)

    def publish_samples(self, key: str) -> AbstractContextManager[UnitWriter]:
        """``unit("samples", key)``: the samples Zarr and the samples table partition, as one unit."""
        return self.unit(SAMPLES_DIR, key)

    def _list_units(self, kind: UnitKind, member: str) -> list[str]:
        folder = self.root / kind
        if not folder.is_dir():
            return []
        return sorted(
            child.name
            for child in folder.iterdir()
            if not is_hidden(child.name) and RECORDING_KEY_PATTERN.match(child.name) and (child / member).exists()
        )

    def recordings(self) -> list[str]:
        """Sorted keys of published recordings."""
        return self._list_units(RECORDINGS_DIR, RECORDING_ZARR)

    def recording_path(self, key: str) -> Path:
        """The published recording's Zarr group (whether or not it exists)."""
        return self._unit_dir(RECORDINGS_DIR, key) / RECORDING_ZARR

    def open_recording(self, key: str) -> zarr.Group:
        """The published recording, read-only; refuses a group that is not complete."""
        return read_recording(self.recording_path(key), recording=key)

    def report_file(self, key: str, name: str) -> Path:
        """A file of the published recording's report folder (sync report, overlay preview)."""
        if name not in REPORT_FILES:
            raise ValueError(f"unknown report file {name!r}; expected one of {', '.join(map(repr, REPORT_FILES))}")
        return self._unit_dir(RECORDINGS_DIR, key) / UNIT_REPORT_DIR / name

    def read_report(self, key: str) -> dict[str, Any]:
        """The published recording's sync report (JSON)."""
        return json.loads(self.report_file(key, SYNC_REPORT_JSON).read_text(encoding="utf-8"))

    def samples_keys(self) -> list[str]:
        """Sorted keys of recordings whose samples are published."""
        return self._list_units(SAMPLES_DIR, SAMPLES_ZARR)

    def samples_path(self, key: str) -> Path:
        """The published samples Zarr group of recording ``key`` (whether or not it exists)."""
        return self._unit_dir(SAMPLES_DIR, key) / SAMPLES_ZARR

    def samples_member(self, key: str) -> str:
        """``samples_path`` relative to the store root (for readers that address members from the root)."""
        return self.samples_path(key).relative_to(self.root).as_posix()

    def recording_member(self, key: str) -> str:
        """``recording_path`` relative to the store root."""
        return self.recording_path(key).relative_to(self.root).as_posix()

    def open_samples(self, key: str) -> zarr.Group:
        return open_group_readonly(self.samples_path(key))

    def _table_kind(self, table: str) -> UnitKind:
        return SAMPLES_DIR if table == SAMPLES_TABLE else RECORDINGS_DIR

    def table_partition(self, table: str, key: str) -> Path:
        """The Parquet partition of ``table`` inside recording ``key``'s unit."""
        kind = self._table_kind(check_slug(table, "table"))
        return self._unit_dir(kind, key) / UNIT_TABLES_DIR / f"{table}.parquet"

    def table_keys(self, table: str) -> list[str]:
        """Sorted keys of the units that hold a partition of ``table``."""
        return self._list_units(self._table_kind(check_slug(table, "table")), f"{UNIT_TABLES_DIR}/{table}.parquet")

    def table_glob(self, table: str) -> str:
        """A glob over every partition of ``table`` (for polars or DuckDB; debris never matches it)."""
        return str(
            self.root / self._table_kind(check_slug(table, "table")) / "*" / UNIT_TABLES_DIR / f"{table}.parquet"
        )

    def read_table(self, table: str, *, keys: list[str] | None = None, validate: bool = False) -> pl.DataFrame:
        """Every partition of ``table`` (or those of ``keys``) concatenated in recording order."""
        chosen = self.table_keys(table) if keys is None else [k for k in self.table_keys(table) if k in set(keys)]
        return read_partitions(table, [self.table_partition(table, k) for k in chosen], validate=validate)

    # -- dataset-wide training products -------------------------------------------------------------

    def training_path(self, name: str) -> Path:
        """One dataset-wide training file (``sample_index.parquet``, ``splits.parquet``, ...)."""
        if name not in TRAINING_FILES:
            raise ValueError(f"unknown training file {name!r}; expected one of {', '.join(TRAINING_FILES)}")
        return self.root / TRAINING_DIR / name

    def fkg_table_path(self, table: str) -> Path:
        """``training/fkg/<table>.parquet`` (table without its ``fkg_`` prefix: actions, key_steps, ...)."""
        return self.root / TRAINING_DIR / "fkg" / f"{check_slug(table, 'FKG table')}.parquet"

    def write_parquet(self, path: Path, df: pl.DataFrame) -> Path:
        """Write an already validated frame to a training path atomically (fixed Parquet settings)."""
        self._check_inside(path)
        with atomic_file(path, work_dir=self._work()) as tmp:
            df.write_parquet(tmp, **_parquet_bytes_settings())
        return path

    def write_text(self, path: Path, text: str) -> Path:
        """Write a text file (JSON, JSONL) of the training products atomically."""
        self._check_inside(path)
        with atomic_file(path, work_dir=self._work()) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return path

    def read_parquet(self, path: Path, *, what: str) -> pl.DataFrame:
        """Read a training table, saying which asset builds it when it is missing."""
        self._check_inside(path)
        if not path.is_file():
            raise MissingInputError(f"{path.name} not found: materialise {what} first", path=path)
        return pl.read_parquet(path)

    # -- exports ----------------------------------------------------------------------------------------

    def export_dir(self, name: str = "flex") -> Path:
        """Where export ``name`` lives (``export/flex`` for the FLEX / CoRe layout)."""
        return self.root / EXPORT_DIR / check_slug(name, "export")

    @contextmanager
    def write_export(self, name: str = "flex") -> Iterator[Path]:
        """Yield an empty folder for an export; on success it replaces the export whole."""
        with atomic_directory(self.export_dir(name), work_dir=self._work(), prefix="export-") as tmp:
            yield tmp

    def _check_inside(self, path: Path) -> None:
        try:
            Path(path).relative_to(self.root)
        except ValueError:
            raise ValueError(f"{path} is not inside the store {self.root}") from None

    # -- added for training products --------------------------------------------------------------
    # The samples table's schema lives with the training products (flexsync.samples.schemas), not in
    # the flexsync.schemas.tables registry that UnitWriter.write_table and read_table validate
    # against; these two take and give frames that the caller validates with that schema.

    def write_unit_parquet(self, unit: UnitWriter, table: str, df: pl.DataFrame) -> Path:
        """Add an already validated partition of ``table`` to ``unit`` (every row of ``unit.key``)."""
        if "recording" not in df.columns:
            raise ValueError(f"table {table!r}: a unit partition needs a 'recording' column")
        foreign = sorted(set(df.get_column("recording").to_list()) - {unit.key})
        if foreign:
            raise ValueError(f"table {table!r}: rows of recordings {foreign} do not belong in the unit of {unit.key}")
        folder = unit.folder / UNIT_TABLES_DIR
        folder.mkdir(exist_ok=True)
        path = folder / f"{check_slug(table, 'table')}.parquet"
        df.write_parquet(path, **_parquet_bytes_settings())
        return path

    def read_unit_parquets(self, table: str, *, keys: list[str] | None = None) -> pl.DataFrame | None:
        """The published partitions of ``table`` (or those of ``keys``) concatenated in recording order,
        not validated; None when there is none (the caller knows the table's empty frame)."""
        chosen = self.table_keys(table) if keys is None else [k for k in self.table_keys(table) if k in set(keys)]
        if not chosen:
            return None
        return pl.read_parquet([self.table_partition(table, k) for k in chosen])
