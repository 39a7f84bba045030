"""Export the samples to the FLEX / CoRe folder layout, so the published FLEX code trains on them unchanged.

The FLEX code (a CoRe fork) reads a fixed tree of JPEG folders, CSV side files and two MATLAB
split lists; it cannot read Zarr. This module writes that tree from a store's samples groups, its sample
index and a split (the store's ``splits.parquet`` when it holds the requested protocol and seed,
else :func:`flexsync.splits.make_splits`). Layout (docs/export-flex.md)::

    OUT/                                    default: the store's export "flex" (Store.export_dir)
      Split_4/split_4_train_list.mat        consolidated_train_list: N x 3 float64 [class, index, score]
      Split_4/split_4_test_list.mat         consolidated_test_list
      A01/001/View-1/img_00001.JPG ..       103 frames per view; View-k = k-th view of the side
      Skeleton/A01/001/skeleton_points.csv  header head_x,head_y,head_z,...; 103 rows x 63 (metres)
      EMG/A01/001/EMG.csv                   no header; cleaned EMG rows (uV), class-dependent columns
      EMG/columns.json                      channel name of every EMG.csv column, per action
      score_ranges.json                     {"A01": [min, max], ..., "1": [min, max], ...}
      samples.csv                           sample_id -> side, class, folder index, score, views

EMG columns: FLEX's ``load_EMG`` takes the left/right signal from columns that depend on the
class (1,2,4,5,14,16: 0 and 2; 3,6,15,20: 1 and 3; 7,17,18,19: 0 and 1; 8-13: mean of 0,1 and
of 2,3). The first four columns are ordered per class so that these picks are the action's
main muscles (FKG ``main_muscles``; m1 = primary): see :data:`EMG_HEAD_LAYOUTS`. The other 12
channels follow in their recorded order.

cross_view puts every sample on both sides with different views, but FLEX has one folder per
(class, index) and always reads View-1/View-2: test rows therefore get their own folders at
index + :func:`cross_view_index_offset` (e.g. 1001 for sample 1 when the largest index is < 1000).

The whole tree is built in a temporary folder and swapped in atomically; the same inputs
give byte-identical files (JPEG via PIL at a fixed quality, CSV with fixed precision, MAT files
with a fixed header text instead of scipy's creation date).
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import scipy.io
from PIL import Image

from flexsync.errors import InputFileError
from flexsync.fkg.catalogue import FitnessKnowledgeGraph, default_fkg
from flexsync.skeleton import JOINT_NAMES
from flexsync.splits import DEFAULT_VIEWS, PROTOCOLS, make_splits
from flexsync.storage.atomic import atomic_directory
from flexsync.storage.store import Store

__all__ = [
    "EMG_COLUMNS_FILE",
    "EMG_HEAD_LAYOUTS",
    "EMG_TEMPLATE",
    "EXPORT_NAME",
    "FRAME_TEMPLATE",
    "MANIFEST_FILE",
    "SCORE_RANGES_FILE",
    "SKELETON_TEMPLATE",
    "SPLIT_FILES",
    "SPLIT_VARIABLES",
    "ExportResult",
    "cross_view_index_offset",
    "emg_column_order",
    "export_flex",
    "skeleton_header",
]

logger = logging.getLogger(__name__)

EXPORT_NAME = "flex"  # Store.export_dir(EXPORT_NAME) is the default output folder
SPLIT_FILES = {"train": "Split_4/split_4_train_list.mat", "test": "Split_4/split_4_test_list.mat"}
SPLIT_VARIABLES = {"train": "consolidated_train_list", "test": "consolidated_test_list"}
FRAME_TEMPLATE = "A{class_idx:02d}/{index:03d}/View-{view}/img_{frame:05d}.JPG"
SKELETON_TEMPLATE = "Skeleton/A{class_idx:02d}/{index:03d}/skeleton_points.csv"
EMG_TEMPLATE = "EMG/A{class_idx:02d}/{index:03d}/EMG.csv"
EMG_COLUMNS_FILE = "EMG/columns.json"
SCORE_RANGES_FILE = "score_ranges.json"
MANIFEST_FILE = "samples.csv"

# First four EMG.csv columns per FLEX class, as (main-muscle rank, side): rank 0 is the primary
# main muscle. Chosen so FLEX's per-class column picks land on the main muscles (module docstring).
_PAIRED = ((0, "L"), (1, "L"), (0, "R"), (1, "R"))  # picks 0 / 2 -> primary L / R
_SECOND = ((1, "L"), (0, "L"), (1, "R"), (0, "R"))  # picks 1 / 3 -> primary L / R
_SINGLE = ((0, "L"), (0, "R"), (1, "L"), (1, "R"))  # picks 0 / 1 -> primary L / R
_AVERAGE = _PAIRED  # mean(0, 1) / mean(2, 3) -> both main muscles, L / R
EMG_HEAD_LAYOUTS: dict[int, tuple[tuple[int, str], ...]] = {
    **dict.fromkeys((1, 2, 4, 5, 14, 16), _PAIRED),
    **dict.fromkeys((3, 6, 15, 20), _SECOND),
    **dict.fromkeys((7, 17, 18, 19), _SINGLE),
    **dict.fromkeys((8, 9, 10, 11, 12, 13), _AVERAGE),
}
_INDEX_COLUMNS = (
    "sample_id",
    "recording",
    "rep_index",
    "subject",
    "skill",
    "action",
    "class_idx",
    "action_sample_index",
    "expert_score",
    "score_min",
    "score_max",
)
_MAT_HEADER = b"MATLAB 5.0 MAT-file, Platform: flexsync FLEX export (no creation date: deterministic bytes)"
_SKELETON_DECIMALS = 6  # metres: 1 um
_EMG_DECIMALS = 4  # uV


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_flex` committed (for asset metadata and the report)."""

    out: Path
    protocol: str
    seed: int
    n_train: int
    n_test: int
    n_folders: int
    n_files: int
    n_bytes: int
    train_views: tuple[str, ...]
    test_views: tuple[str, ...]
    n_pose_filled: int


def export_flex(
    store: Store,
    *,
    protocol: str = "vanilla",
    seed: int = 0,
    out: Path | str | None = None,
    views: Sequence[str] = DEFAULT_VIEWS,
    jpeg_quality: int = 95,
    fkg: FitnessKnowledgeGraph | None = None,
) -> ExportResult:
    """Write the FLEX / CoRe layout of one split of the samples in ``store``.

    Parameters
    ----------
    store : Store
        Store with the samples groups and the sample index.
    protocol, seed
        The split: rows of the store's ``splits.parquet`` with this protocol and seed if any, else
        computed by :func:`flexsync.splits.make_splits` with default options.
    out : path, optional
        Export folder; default the store's ``flex`` export (``store.export_dir("flex")``).
        Replaced whole, atomically.
    views : sequence of str
        Views to export; each side writes, in this order, those of its split views that are
        listed here, as View-1, View-2, ... (the FLEX loader reads View-1 and View-2).
    jpeg_quality : int
        PIL JPEG quality (1-95); default 95.
    fkg : FitnessKnowledgeGraph, optional
        Source of each action's main muscles for the EMG column order; default :func:`default_fkg`.

    Returns
    -------
    ExportResult

    Raises
    ------
    MissingInputError
        No sample index, or a sample's Zarr group is missing.
    InputFileError
        A sample group lacks a view, a joint order other than FLEX's, or EMG main-muscle channels.
    ValueError
        Bad options, or a class index outside FLEX's 1-20.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown split protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    if not 1 <= jpeg_quality <= 95:
        raise ValueError(f"jpeg_quality must be in 1..95 (PIL's useful range), got {jpeg_quality}")
    views = tuple(views)
    index = _read_sample_index(store)
    rows = _export_rows(index, _load_split(store, index, protocol, seed), views)
    side_views = {side: _side_views(rows, side) for side in ("train", "test")}
    if out is None:
        out, writing = store.export_dir(EXPORT_NAME), store.write_export(EXPORT_NAME)
    else:
        out = Path(out)
        writing = atomic_directory(out)
    fkg = default_fkg() if fkg is None else fkg

    with writing as tmp:
        for side in ("train", "test"):
            _write_split_mat(tmp, side, rows.filter(pl.col("side") == side))
        emg_columns, n_filled = _write_samples(tmp, store, rows, fkg, jpeg_quality)
        _write_json(tmp / EMG_COLUMNS_FILE, emg_columns)
        _write_json(tmp / SCORE_RANGES_FILE, _score_ranges(index))
        _write_manifest(tmp / MANIFEST_FILE, rows)
        n_files, n_bytes = _tree_size(tmp)

    if n_filled:
        logger.warning(
            "FLEX export: filled %d invalid joint-frames by interpolation in time (FLEX cannot read NaN); "
            "see the samples' pose_valid masks",
            n_filled,
        )
    result = ExportResult(
        out=out,
        protocol=protocol,
        seed=seed,
        n_train=rows.filter(pl.col("side") == "train").height,
        n_test=rows.filter(pl.col("side") == "test").height,
        n_folders=rows.height,
        n_files=n_files,
        n_bytes=n_bytes,
        train_views=side_views["train"],
        test_views=side_views["test"],
        n_pose_filled=n_filled,
    )
    logger.info(
        "FLEX export %s seed %d: %d train + %d test rows, %d files, %d bytes in %s",
        protocol,
        seed,
        result.n_train,
        result.n_test,
        n_files,
        n_bytes,
        out,
    )
    return result


def cross_view_index_offset(max_index: int) -> int:
    """Offset added to a sample's index for its test-side folder when it is on both sides (cross_view).

    The next power of ten above every index: 1000 when indices run up to 999.
    """
    return 10 ** len(str(max(int(max_index), 1)))


def skeleton_header() -> list[str]:
    """The 63 column names of skeleton_points.csv: ``head_x, head_y, head_z, neck_x, ...``."""
    return [f"{joint}_{axis}" for joint in JOINT_NAMES for axis in "xyz"]


def emg_column_order(class_idx: int, channel_names: Sequence[str], main_muscles: Sequence[str]) -> list[int]:
    """Indices into ``channel_names`` giving EMG.csv's column order for FLEX class ``class_idx``.

    The first four columns follow :data:`EMG_HEAD_LAYOUTS` (main muscles ``<m>_L`` / ``<m>_R``),
    the remaining channels keep their order.

    Raises
    ------
    ValueError
        ``class_idx`` outside 1-20, or a main-muscle channel missing from ``channel_names``.
    """
    if class_idx not in EMG_HEAD_LAYOUTS:
        raise ValueError(f"class index {class_idx} has no FLEX EMG column layout; FLEX classes are 1-20")
    if len(main_muscles) != 2:
        raise ValueError(f"expected 2 main muscles, got {list(main_muscles)}")
    names = list(channel_names)
    head = []
    for rank, side in EMG_HEAD_LAYOUTS[class_idx]:
        channel = f"{main_muscles[rank]}_{side}"
        if channel not in names:
            raise ValueError(f"main-muscle channel {channel!r} not among the EMG channels {names}")
        head.append(names.index(channel))
    return head + [i for i in range(len(names)) if i not in head]


# ---------------------------------------------------------------- inputs


def _read_sample_index(store: Store) -> pl.DataFrame:
    path = store.training_path("sample_index.parquet")
    index = store.read_parquet(path, what="sample_index")
    missing = [c for c in _INDEX_COLUMNS if c not in index.columns]
    if missing:
        raise InputFileError(f"sample index lacks columns {missing}", path=path)
    return index.select(_INDEX_COLUMNS).sort("sample_id")


def _load_split(store: Store, index: pl.DataFrame, protocol: str, seed: int) -> pl.DataFrame:
    path = store.training_path("splits.parquet")
    if path.is_file():
        stored = store.read_parquet(path, what="splits").filter(
            (pl.col("protocol") == protocol) & (pl.col("seed") == seed)
        )
        if stored.height:
            logger.info("FLEX export: split %s seed %d from %s", protocol, seed, path)
            return stored
    logger.info("FLEX export: split %s seed %d not stored; computing it", protocol, seed)
    return make_splits(index, protocol=protocol, seed=seed)


def _export_rows(index: pl.DataFrame, split: pl.DataFrame, views: tuple[str, ...]) -> pl.DataFrame:
    """One row per folder to write: sample, side, class, folder index, score, views of that side."""
    unknown = sorted(set(split.get_column("sample_id").to_list()) - set(index.get_column("sample_id").to_list()))
    if unknown:
        raise ValueError(f"split names {len(unknown)} samples missing from the sample index, e.g. {unknown[:5]}")
    bad_class = index.filter(~pl.col("class_idx").is_in(list(EMG_HEAD_LAYOUTS))).get_column("class_idx").unique()
    if bad_class.len():
        raise ValueError(f"class indices {sorted(bad_class.to_list())} are outside FLEX's 1-20")
    rows = split.select("sample_id", "side", "views").join(index, on="sample_id", how="left")
    kept = [[v for v in views if v in row_views] for row_views in rows.get_column("views").to_list()]
    rows = rows.with_columns(pl.Series("views", kept, dtype=pl.List(pl.String)))
    if rows.filter(pl.col("views").list.len() == 0).height:
        raise ValueError(f"no split view is among the export views {list(views)}")
    on_both = pl.col("sample_id").is_duplicated()
    offset = cross_view_index_offset(int(index.get_column("action_sample_index").max()))
    folder = pl.when(on_both & (pl.col("side") == "test")).then(pl.col("action_sample_index") + offset)
    rows = rows.with_columns(folder.otherwise(pl.col("action_sample_index")).cast(pl.Int64).alias("folder_index"))
    return rows.sort("side", "class_idx", "folder_index")


def _side_views(rows: pl.DataFrame, side: str) -> tuple[str, ...]:
    sets = {tuple(v) for v in rows.filter(pl.col("side") == side).get_column("views").to_list()}
    if len(sets) > 1:
        raise ValueError(f"{side} rows of the split use different view sets {sorted(sets)}; expected one")
    chosen = next(iter(sets), ())
    if sets and len(chosen) < 2:
        logger.warning("FLEX export: %s side has views %s; the FLEX loader reads View-1 and View-2", side, chosen)
    return chosen


# ---------------------------------------------------------------- writers


def _write_split_mat(root: Path, side: str, rows: pl.DataFrame) -> None:
    table = np.column_stack(
        [
            rows.get_column("class_idx").cast(pl.Float64).to_numpy(),
            rows.get_column("folder_index").cast(pl.Float64).to_numpy(),
            rows.get_column("expert_score").cast(pl.Float64).to_numpy(),
        ]
    ).reshape(-1, 3)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {SPLIT_VARIABLES[side]: table}, format="5", do_compression=False)
    data = bytearray(buffer.getvalue())
    data[:116] = _MAT_HEADER.ljust(116, b" ")  # scipy writes time.asctime() here
    path = root / SPLIT_FILES[side]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))


def _write_samples(
    root: Path, store: Store, rows: pl.DataFrame, fkg: FitnessKnowledgeGraph, jpeg_quality: int
) -> tuple[dict[str, list[str]], int]:
    """Write frames, skeleton and EMG of every row, one sample group at a time."""
    emg_columns: dict[str, list[str]] = {}
    n_filled = 0
    for (recording,), group_rows in rows.sort("recording", "sample_id", "side").group_by(
        "recording", maintain_order=True
    ):
        sample = _SampleGroup(store, str(recording))
        for row in group_rows.iter_rows(named=True):
            r = sample.row_of(row["sample_id"])
            where = {"class_idx": row["class_idx"], "index": row["folder_index"]}
            for k, view in enumerate(row["views"], start=1):
                _write_frames(root, where, k, sample.frames(view, r), jpeg_quality)
            pose, filled = sample.pose_filled(r)
            n_filled += filled
            _write_skeleton(root / SKELETON_TEMPLATE.format(**where), pose)
            action = row["action"]
            order = emg_column_order(row["class_idx"], sample.emg_channel_names, fkg.action(action).main_muscles)
            names = [sample.emg_channel_names[i] for i in order]
            if emg_columns.setdefault(action, names) != names:
                raise InputFileError(
                    f"EMG channels {names} differ from other recordings of action {action} ({emg_columns[action]})",
                    path=sample.path,
                    recording=sample.recording,
                )
            _write_emg(root / EMG_TEMPLATE.format(**where), sample.emg(r)[:, order])
    return dict(sorted(emg_columns.items())), n_filled


def _write_frames(root: Path, where: Mapping[str, int], view_number: int, frames: np.ndarray, quality: int) -> None:
    folder = root / Path(FRAME_TEMPLATE.format(**where, view=view_number, frame=1)).parent
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames, start=1):
        Image.fromarray(frame, mode="RGB").save(folder / f"img_{i:05d}.JPG", format="JPEG", quality=quality)


def _write_skeleton(path: Path, pose: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = pose.reshape(pose.shape[0], -1).astype(np.float64)
    frame = pl.DataFrame(flat, schema=skeleton_header(), orient="row")
    frame.write_csv(path, float_precision=_SKELETON_DECIMALS, line_terminator="\n")


def _write_emg(path: Path, emg: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(emg.astype(np.float64), schema=[f"c{i}" for i in range(emg.shape[1])], orient="row")
    frame.write_csv(path, include_header=False, float_precision=_EMG_DECIMALS, line_terminator="\n")


def _score_ranges(index: pl.DataFrame) -> dict[str, list[float]]:
    ranges = (
        index.group_by("action", "class_idx")
        .agg(pl.col("score_min").min(), pl.col("score_max").max())
        .sort("class_idx", "action")
    )
    out: dict[str, list[float]] = {}
    for action, _, lo, hi in ranges.iter_rows():
        out[action] = [float(lo), float(hi)]
    for _, class_idx, lo, hi in ranges.iter_rows():
        out[str(class_idx)] = [float(lo), float(hi)]
    return out


def _write_manifest(path: Path, rows: pl.DataFrame) -> None:
    rows.select(
        "sample_id",
        "recording",
        "rep_index",
        "side",
        "class_idx",
        "action",
        pl.col("folder_index").alias("sample_index"),
        "expert_score",
        pl.col("views").list.join("|"),
    ).write_csv(path, line_terminator="\n")


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _tree_size(root: Path) -> tuple[int, int]:
    n_files = n_bytes = 0
    for folder, _, files in os.walk(root):
        for name in files:
            n_files += 1
            n_bytes += (Path(folder) / name).stat().st_size
    return n_files, n_bytes


# ---------------------------------------------------------------- sample groups


class _SampleGroup:
    """One recording's samples group, opened read-only, with the checks the FLEX layout relies on."""

    def __init__(self, store: Store, recording: str) -> None:
        self.recording = recording
        self.path = store.samples_path(recording)
        self.group = store.open_samples(recording)
        attrs = self.group.attrs
        if attrs.get("flexsync_samples") != 1 or attrs.get("status") != "complete":
            raise InputFileError(
                f"not a complete samples group (flexsync_samples={attrs.get('flexsync_samples')!r}, "
                f"status={attrs.get('status')!r}); rebuild the samples of this recording",
                path=self.path,
                recording=recording,
            )
        if list(attrs.get("joint_names", [])) != list(JOINT_NAMES):
            raise InputFileError(
                f"joint order {attrs.get('joint_names')} is not FLEX's 21-joint order {list(JOINT_NAMES)}",
                path=self.path,
                recording=recording,
            )
        self.sample_ids: list[str] = list(attrs["sample_ids"])
        self.views: list[str] = list(attrs["views"])
        self.emg_channel_names: list[str] = list(attrs["emg_channel_names"])
        self._emg_offsets = np.asarray(self.group["emg_offsets"][:], dtype=np.int64)

    def row_of(self, sample_id: str) -> int:
        try:
            return self.sample_ids.index(sample_id)
        except ValueError:
            raise InputFileError(
                f"sample {sample_id} is in the sample index but not in this group's sample_ids",
                path=self.path,
                recording=self.recording,
            ) from None

    def frames(self, view: str, r: int) -> np.ndarray:
        """(T, H, W, 3) uint8 frames of sample row ``r`` in ``view``."""
        if view not in self.views:
            raise InputFileError(
                f"view {view} is not in this recording's samples (views {self.views}); "
                "export without it: export_flex(..., views=...)",
                path=self.path,
                recording=self.recording,
                stream=view,
            )
        return np.asarray(self.group[f"video/{view}"][r])

    def pose_filled(self, r: int) -> tuple[np.ndarray, int]:
        """(T, 21, 3) pose in metres with invalid joint-frames filled, and how many were filled.

        A gap is filled by linear interpolation in time between the joint's valid frames (held
        at the edges); a joint never valid in the sample is set to 0. NaN would poison FLEX's
        skeleton normalisation, so the CSV never holds one.
        """
        pose = np.asarray(self.group["pose"][r], dtype=np.float64)
        valid = np.asarray(self.group["pose_valid"][r], dtype=bool) & np.isfinite(pose).all(axis=-1)
        n_bad = int((~valid).sum())
        if n_bad == 0:
            return pose, 0
        t = np.arange(pose.shape[0], dtype=np.float64)
        for j in range(pose.shape[1]):
            ok = valid[:, j]
            if not ok.any():
                pose[:, j] = 0.0
                continue
            for axis in range(3):
                pose[~ok, j, axis] = np.interp(t[~ok], t[ok], pose[ok, j, axis])
        logger.debug(
            "recording %s, sample row %d: filled %d invalid joint-frames of the skeleton", self.recording, r, n_bad
        )
        return pose, n_bad

    def emg(self, r: int) -> np.ndarray:
        """(n, 16) cleaned EMG rows of sample row ``r`` (uV)."""
        lo, hi = int(self._emg_offsets[r]), int(self._emg_offsets[r + 1])
        return np.asarray(self.group["emg"][lo:hi])
