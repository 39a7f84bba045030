"""Export the samples to the FLEX / CoRe folder layout, so the published FLEX code trains on them unchanged.

The FLEX code (a CoRe fork) reads a fixed tree of JPEG folders, CSV side files and two MATLAB
split lists; it cannot read Zarr. This module writes that tree from a store's samples groups, its sample
index and a split (the store's ``splits.parquet`` when it holds the requested protocol and seed,
else :func:`flexsync.splits.make_splits`). Layout (docs/export-flex.md)::

    OUT/                                    default: the store's export export_name(protocol, seed) ("flex", ...)
      Split_4/split_4_train_list.mat        consolidated_train_list: N x 3 float64 [class, index, score]
      Split_4/split_4_test_list.mat         consolidated_test_list
      A01/001/View-1/img_00001.JPG ..       103 frames per view; View-k = k-th view of the side
      Skeleton/A01/001/skeleton_points.csv  header head_x,head_y,head_z,...; 103 rows x 63 (metres)
      EMG/A01/001/EMG.csv                   no header; cleaned EMG rows (uV), class-dependent columns
      EMG/columns.json                      channel name of every EMG.csv column, per action
      score_ranges.json                     the consumer's ranges: {"A01": [min, max], ..., "1": [min, max], ...}
      classes.csv                           FLEX classes 1-20: train / test rows, ranges, trainable
      export.json                           protocol, seed, views per side, index offset, classes with data
      samples.csv                           sample_id -> side, class, folder index, score, views

Scores: FLEX normalises each class's raw score with ranges hard-coded from the real FLEX data
(:func:`flexsync.exports.score_ranges.flex_score_ranges`). Before writing anything the export checks
that every raw score lies inside the range of its class in the consumer's table (FLEX's by
default, a user's own with ``score_ranges=``) and raises :class:`ScoreRangeError` naming the samples
otherwise; ``score_ranges.json`` records the ranges checked.

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
with a fixed header text instead of scipy's creation date). :func:`export_flex_protocols` writes
one tree per split protocol and encodes each sample-view once: the other trees hard-link its JPEGs.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import scipy.io
from PIL import Image

from flexsync.errors import InputFileError, MissingInputError
from flexsync.exports.score_ranges import (
    FLEX_SCORE_RANGES_FILE,
    ScoreRangeError,
    ScoreRanges,
    ScoreRangesSource,
    describe_problems,
    read_score_ranges,
    score_range_problems,
)
from flexsync.fkg.catalogue import FitnessKnowledgeGraph, default_fkg
from flexsync.skeleton import JOINT_NAMES
from flexsync.splits import DEFAULT_VIEWS, PROTOCOLS, make_splits
from flexsync.storage.atomic import atomic_directory
from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.storage.store import Store

__all__ = [
    "CLASSES_FILE",
    "EMG_COLUMNS_FILE",
    "EMG_HEAD_LAYOUTS",
    "EMG_TEMPLATE",
    "EXPORT_INFO_FILE",
    "EXPORT_NAME",
    "FLEX_CLASSES",
    "FRAME_TEMPLATE",
    "MANIFEST_FILE",
    "SCORE_RANGES_FILE",
    "SKELETON_TEMPLATE",
    "SPLIT_FILES",
    "SPLIT_VARIABLES",
    "ExportResult",
    "ScoreRangeError",
    "class_table",
    "cross_view_index_offset",
    "emg_column_order",
    "export_flex",
    "export_flex_protocols",
    "export_name",
    "fill_invalid_joints",
    "ranges_description",
    "sample_score_problems",
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
CLASSES_FILE = "classes.csv"
EXPORT_INFO_FILE = "export.json"
MANIFEST_FILE = "samples.csv"
FLEX_CLASSES = tuple(range(1, 21))  # FLEX's classes_name A01..A20

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
    classes: tuple[int, ...] = ()  # FLEX classes with at least one row
    trainable_classes: tuple[int, ...] = ()  # classes FLEX's code can train and test on (classes.csv)
    index_offset: int | None = None  # cross_view: test folder = sample index + this offset
    n_frames_linked: int = 0  # JPEGs hard-linked from a tree written earlier in the same call


def export_name(protocol: str, seed: int = 0) -> str:
    """The store export name of one split: ``flex`` for vanilla seed 0, else ``flex-<protocol>`` (``-seed<N>``)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown split protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    if (protocol, int(seed)) == ("vanilla", 0):
        return EXPORT_NAME
    return f"{EXPORT_NAME}-{protocol}" + (f"-seed{int(seed)}" if int(seed) else "")


def export_flex(
    store: Store,
    *,
    protocol: str = "vanilla",
    seed: int = 0,
    out: Path | str | None = None,
    views: Sequence[str] = DEFAULT_VIEWS,
    jpeg_quality: int = 95,
    fkg: FitnessKnowledgeGraph | None = None,
    score_ranges: ScoreRangesSource = None,
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
        Export folder; default the store's export :func:`export_name` (``export/flex`` for vanilla
        seed 0, ``export/flex-cross_view`` ...). Replaced whole, atomically.
    views : sequence of str
        Views to export; each side writes, in this order, those of its split views that are
        listed here, as View-1, View-2, ... (the FLEX loader reads View-1 and View-2).
    jpeg_quality : int
        PIL JPEG quality (1-95); default 95.
    fkg : FitnessKnowledgeGraph, optional
        Source of each action's main muscles for the EMG column order; default :func:`default_fkg`.
    score_ranges : mapping or path, optional
        The per-class ranges the consumer normalises raw scores with
        (:func:`flexsync.exports.score_ranges.read_score_ranges`); default FLEX's hard-coded table.

    Returns
    -------
    ExportResult

    Raises
    ------
    ScoreRangeError
        A raw score lies outside its class's range (the message names the samples; nothing is written).
    MissingInputError
        No sample index, or a sample's Zarr group is missing.
    InputFileError
        A sample group lacks a view, a joint order other than FLEX's, or EMG main-muscle channels.
    ValueError
        Bad options, or a class index outside FLEX's 1-20.
    """
    return export_flex_protocols(
        store,
        protocols=(protocol,),
        seed=seed,
        outs=None if out is None else {protocol: out},
        views=views,
        jpeg_quality=jpeg_quality,
        fkg=fkg,
        score_ranges=score_ranges,
    )[0]


def export_flex_protocols(
    store: Store,
    *,
    protocols: Sequence[str] = PROTOCOLS,
    seed: int = 0,
    outs: Mapping[str, Path | str] | None = None,
    views: Sequence[str] | Mapping[str, Sequence[str]] = DEFAULT_VIEWS,
    jpeg_quality: int = 95,
    fkg: FitnessKnowledgeGraph | None = None,
    score_ranges: ScoreRangesSource = None,
) -> list[ExportResult]:
    """:func:`export_flex` for several protocols of one seed, each to its own tree (default :func:`export_name`).

    Every tree is complete and independent, but a sample-view's JPEGs are encoded once: later trees
    hard-link the files of the first tree that wrote them (same bytes, no second read of the Zarr
    clip; a copy where hard links are not possible). The score check runs on every split before
    anything is written. Trees are committed one by one, in ``protocols`` order. ``views`` is one
    view list for all, or a mapping protocol -> views (protocols left out get the default).
    """
    protocols = tuple(protocols)
    if not protocols:
        raise ValueError("protocols must name at least one split protocol")
    for protocol in protocols:
        export_name(protocol, seed)  # validates the name
    if not 1 <= jpeg_quality <= 95:
        raise ValueError(f"jpeg_quality must be in 1..95 (PIL's useful range), got {jpeg_quality}")
    ranges = read_score_ranges(score_ranges)
    index = _read_sample_index(store)
    plans = []
    for protocol in protocols:
        chosen = views.get(protocol, DEFAULT_VIEWS) if isinstance(views, Mapping) else views
        rows = _export_rows(index, _load_split(store, index, protocol, seed), tuple(chosen))
        problems = score_range_problems(rows, ranges)
        if problems.height:
            raise ScoreRangeError(
                f"FLEX export {protocol} seed {seed}: {describe_problems(problems)}; FLEX would normalise them "
                "outside [0, score_range]. Pass the ranges your training code uses (score_ranges=...)",
                problems,
            )
        plans.append((protocol, rows))
    fkg = default_fkg() if fkg is None else fkg
    source = _ranges_source(score_ranges)
    frames = _FrameCache()
    reader = ZarrRowReader(store.root)  # one per call: every tree reuses its decoded small arrays
    results = []
    for protocol, rows in plans:
        target = None if outs is None else outs.get(protocol)
        results.append(
            _write_export(store, protocol, seed, rows, target, fkg, jpeg_quality, ranges, source, frames, reader)
        )
    return results


def _write_export(
    store: Store,
    protocol: str,
    seed: int,
    rows: pl.DataFrame,
    out: Path | str | None,
    fkg: FitnessKnowledgeGraph,
    jpeg_quality: int,
    ranges: ScoreRanges,
    ranges_source: str,
    frames: _FrameCache,
    reader: ZarrRowReader,
) -> ExportResult:
    side_views = {side: _side_views(rows, side) for side in ("train", "test")}
    if out is None:
        name = export_name(protocol, seed)
        out, writing = store.export_dir(name), store.write_export(name)
    else:
        out = Path(out)
        writing = atomic_directory(out)
    offset = _index_offset(rows)
    classes = class_table(rows, ranges)
    n_linked_before = frames.n_linked
    with writing as tmp:
        frames.begin(tmp)
        for side in ("train", "test"):
            _write_split_mat(tmp, side, rows.filter(pl.col("side") == side))
        emg_columns, n_filled = _write_samples(tmp, store, rows, fkg, jpeg_quality, frames, reader)
        _write_json(tmp / EMG_COLUMNS_FILE, emg_columns)
        _write_json(tmp / SCORE_RANGES_FILE, _score_ranges_json(classes))
        classes.write_csv(tmp / CLASSES_FILE, line_terminator="\n")
        _write_json(
            tmp / EXPORT_INFO_FILE,
            {
                "layout": "FLEX / CoRe (flexsync export)",
                "protocol": protocol,
                "seed": int(seed),
                "views": {side: list(side_views[side]) for side in ("train", "test")},
                "cross_view_index_offset": offset,
                "score_ranges": ranges_source,
                "classes_with_data": _classes_where(classes, pl.col("n_train") + pl.col("n_test") > 0),
                "trainable_classes": _classes_where(classes, pl.col("trainable")),
            },
        )
        _write_manifest(tmp / MANIFEST_FILE, rows)
        n_files, n_bytes = _tree_size(tmp)
    frames.committed(out)

    if n_filled:
        logger.warning(
            "FLEX export: filled %d invalid joint-frames by interpolation in time (FLEX cannot read NaN); "
            "see the samples' pose_valid masks",
            n_filled,
        )
    untrainable = classes.filter(~pl.col("trainable")).get_column("class_idx").to_list()
    if untrainable:
        logger.info(
            "FLEX export %s: classes %s have fewer than 2 train or no test rows; FLEX's code cannot train "
            "them alone (classes.csv)",
            protocol,
            untrainable,
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
        classes=tuple(_classes_where(classes, pl.col("n_train") + pl.col("n_test") > 0)),
        trainable_classes=tuple(_classes_where(classes, pl.col("trainable"))),
        index_offset=offset,
        n_frames_linked=frames.n_linked - n_linked_before,
    )
    logger.info(
        "FLEX export %s seed %d: %d train + %d test rows, %d files (%d JPEGs linked), %d bytes in %s",
        protocol,
        seed,
        result.n_train,
        result.n_test,
        n_files,
        result.n_frames_linked,
        n_bytes,
        out,
    )
    return result


def sample_score_problems(store: Store, score_ranges: ScoreRangesSource = None) -> pl.DataFrame:
    """:func:`score_range_problems` of every sample of the store's sample index (what any split exports)."""
    return score_range_problems(_read_sample_index(store), read_score_ranges(score_ranges))


def ranges_description(score_ranges: ScoreRangesSource = None) -> str:
    """Where the consumer's score ranges come from, for reports and ``export.json``."""
    return _ranges_source(score_ranges)


def class_table(rows: pl.DataFrame, ranges: Mapping[int, tuple[float, float]]) -> pl.DataFrame:
    """One row per FLEX class 1-20: which hold data, their ranges, and whether FLEX's code can train them.

    Columns: class_idx, action, n_train, n_test (rows of the split lists), score_min / score_max
    (raw scores of the rows; null without rows), range_min / range_max (the consumer's range; null
    when its table has none), trainable (>= 2 train rows, which ``Group_helper`` needs to make
    score-difference bins, and >= 1 test row).
    """
    counts = rows.group_by("class_idx").agg(
        (pl.col("side") == "train").sum().cast(pl.Int64).alias("n_train"),
        (pl.col("side") == "test").sum().cast(pl.Int64).alias("n_test"),
        pl.col("expert_score").min().alias("score_min"),
        pl.col("expert_score").max().alias("score_max"),
    )
    classes = sorted(set(FLEX_CLASSES) | {int(c) for c in counts.get_column("class_idx").to_list()})
    base = pl.DataFrame(
        {
            "class_idx": classes,
            "action": [f"A{c:02d}" for c in classes],
            "range_min": [ranges.get(c, (None, None))[0] for c in classes],
            "range_max": [ranges.get(c, (None, None))[1] for c in classes],
        },
        schema={"class_idx": pl.Int64, "action": pl.String, "range_min": pl.Float64, "range_max": pl.Float64},
    )
    table = base.join(counts.with_columns(pl.col("class_idx").cast(pl.Int64)), on="class_idx", how="left")
    table = table.with_columns(pl.col("n_train", "n_test").fill_null(0))
    return table.select(
        "class_idx",
        "action",
        "n_train",
        "n_test",
        "score_min",
        "score_max",
        "range_min",
        "range_max",
        ((pl.col("n_train") >= 2) & (pl.col("n_test") >= 1)).alias("trainable"),
    ).sort("class_idx")


def _classes_where(classes: pl.DataFrame, condition: pl.Expr) -> list[int]:
    return [int(c) for c in classes.filter(condition).get_column("class_idx").to_list()]


def _index_offset(rows: pl.DataFrame) -> int | None:
    """The test-folder offset when samples are on both sides (cross_view), else None."""
    shifted = rows.filter(pl.col("folder_index") != pl.col("action_sample_index"))
    if not shifted.height:
        return None
    return int((shifted.get_column("folder_index") - shifted.get_column("action_sample_index")).first())


def _ranges_source(source: ScoreRangesSource) -> str:
    if source is None:
        return f"FLEX (flexsync/exports/{FLEX_SCORE_RANGES_FILE.name})"
    if isinstance(source, Mapping):
        return "given by the caller"
    return str(source)


def cross_view_index_offset(max_index: int) -> int:
    """Offset added to a sample's index for its test-side folder when it is on both sides (cross_view).

    The next power of ten above every index: 1000 when indices run up to 999.
    """
    return 10 ** len(str(max(int(max_index), 1)))


def fill_invalid_joints(pose: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, int]:
    """The export's policy for invalid joints: (T, J, 3) float64 pose with gaps filled, and how many were.

    A joint-frame is invalid when ``valid`` is False or a coordinate is not finite. Each joint's
    gaps are filled by linear interpolation in time between its valid frames (held at the edges);
    a joint never valid is set to 0. ``FlexPairDataset(mode="flex")`` applies the same policy.
    """
    pose = np.array(pose, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool) & np.isfinite(pose).all(axis=-1)
    n_bad = int((~valid).sum())
    if n_bad == 0:
        return pose, 0
    t = np.arange(pose.shape[0], dtype=np.float64)
    for j in range(pose.shape[1]):
        ok = valid[:, j]
        if ok.all():
            continue
        if not ok.any():
            pose[:, j] = 0.0
            continue
        for axis in range(3):
            pose[~ok, j, axis] = np.interp(t[~ok], t[ok], pose[ok, j, axis])
    return pose, n_bad


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
    root: Path,
    store: Store,
    rows: pl.DataFrame,
    fkg: FitnessKnowledgeGraph,
    jpeg_quality: int,
    frames: _FrameCache,
    reader: ZarrRowReader,
) -> tuple[dict[str, list[str]], int]:
    """Write frames, skeleton and EMG of every row, one sample group at a time."""
    emg_columns: dict[str, list[str]] = {}
    n_filled = 0
    for (recording,), group_rows in rows.sort("recording", "sample_id", "side").group_by(
        "recording", maintain_order=True
    ):
        sample = _SampleGroup(store, str(recording), reader)
        for row in group_rows.iter_rows(named=True):
            r = sample.row_of(row["sample_id"])
            where = {"class_idx": row["class_idx"], "index": row["folder_index"]}
            for k, view in enumerate(row["views"], start=1):
                folder = Path(FRAME_TEMPLATE.format(**where, view=k, frame=1)).parent
                key = (row["sample_id"], view, jpeg_quality)
                if not frames.link(key, folder):
                    _write_frames(root / folder, sample.frames(view, r), jpeg_quality)
                    frames.add(key, folder)
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


class _FrameCache:
    """Where each (sample, view, quality) clip's JPEGs were written in this call, to hard-link them again.

    Paths are kept relative to their tree; a tree is known by its temporary folder while it is
    written (``begin``) and by its final folder once committed (``committed``).
    """

    def __init__(self) -> None:
        self._where: dict[tuple[str, str, int], tuple[int, Path]] = {}
        self._roots: list[Path] = []
        self.n_linked = 0
        self._can_link = True

    def begin(self, tmp: Path) -> None:
        self._roots.append(tmp)

    def committed(self, final: Path) -> None:
        self._roots[-1] = final

    def add(self, key: tuple[str, str, int], folder: Path) -> None:
        self._where[key] = (len(self._roots) - 1, folder)

    def link(self, key: tuple[str, str, int], folder: Path) -> bool:
        """Hard-link (or copy) a clip written before into ``folder`` of the current tree; False if none was."""
        found = self._where.get(key)
        if found is None:
            return False
        tree, source_folder = found
        source, dest = str(self._roots[tree] / source_folder), str(self._roots[-1] / folder)
        os.makedirs(dest, exist_ok=True)
        for name in sorted(os.listdir(source)):
            src, dst = os.path.join(source, name), os.path.join(dest, name)
            if self._can_link:
                try:
                    os.link(src, dst)
                    self.n_linked += 1
                    continue
                except OSError as error:  # another filesystem, or links not allowed: copy from now on
                    logger.info("FLEX export: cannot hard-link JPEGs (%s); copying them", error)
                    self._can_link = False
            shutil.copyfile(src, dst)
        return True


def _write_frames(folder: Path, frames: np.ndarray, quality: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    base = str(folder)
    for i, frame in enumerate(frames, start=1):
        Image.fromarray(frame, mode="RGB").save(os.path.join(base, f"img_{i:05d}.JPG"), format="JPEG", quality=quality)


def _write_skeleton(path: Path, pose: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = pose.reshape(pose.shape[0], -1).astype(np.float64)
    frame = pl.DataFrame(flat, schema=skeleton_header(), orient="row")
    frame.write_csv(path, float_precision=_SKELETON_DECIMALS, line_terminator="\n")


def _write_emg(path: Path, emg: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(emg.astype(np.float64), schema=[f"c{i}" for i in range(emg.shape[1])], orient="row")
    frame.write_csv(path, include_header=False, float_precision=_EMG_DECIMALS, line_terminator="\n")


def _score_ranges_json(classes: pl.DataFrame) -> dict[str, list[float]]:
    """``{"A01": [min, max], ..., "1": [min, max], ...}``: the consumer's range of every class with data."""
    held = classes.filter((pl.col("n_train") + pl.col("n_test") > 0) & pl.col("range_min").is_not_null())
    out: dict[str, list[float]] = {}
    for action, lo, hi in held.select("action", "range_min", "range_max").iter_rows():
        out[action] = [float(lo), float(hi)]
    for class_idx, lo, hi in held.select("class_idx", "range_min", "range_max").iter_rows():
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
            n_bytes += os.stat(os.path.join(folder, name)).st_size
    return n_files, n_bytes


# ---------------------------------------------------------------- sample groups


class _SampleGroup:
    """One recording's samples group, opened read-only, with the checks the FLEX layout relies on."""

    def __init__(self, store: Store, recording: str, reader: ZarrRowReader) -> None:
        self.recording = recording
        self.path = store.samples_path(recording)
        self._reader = reader
        self._base = store.samples_member(recording)
        if not self.path.is_dir():
            raise MissingInputError("samples group missing: materialise repetition_samples", path=self.path)
        attrs = reader.group_attrs(self._base)
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
        self._emg_offsets = np.asarray(reader.read_cached(f"{self._base}/emg_offsets"), dtype=np.int64)

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
        return self._reader.read_rows(f"{self._base}/video/{view}", r, r + 1)[0]

    def pose_filled(self, r: int) -> tuple[np.ndarray, int]:
        """(T, 21, 3) pose in metres with invalid joint-frames filled, and how many were filled.

        A gap is filled by linear interpolation in time between the joint's valid frames (held
        at the edges); a joint never valid in the sample is set to 0. NaN would poison FLEX's
        skeleton normalisation, so the CSV never holds one.
        """
        pose = self._reader.read_cached(f"{self._base}/pose")[r]
        pose, n_bad = fill_invalid_joints(pose, self._reader.read_cached(f"{self._base}/pose_valid")[r])
        if n_bad:
            logger.debug(
                "recording %s, sample row %d: filled %d invalid joint-frames of the skeleton", self.recording, r, n_bad
            )
        return pose, n_bad

    def emg(self, r: int) -> np.ndarray:
        """(n, 16) cleaned EMG rows of sample row ``r`` (uV)."""
        lo, hi = int(self._emg_offsets[r]), int(self._emg_offsets[r + 1])
        return self._reader.read_rows(f"{self._base}/emg", lo, hi)
