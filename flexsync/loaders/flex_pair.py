"""A CoRe/FLEX-compatible pair dataset that reads the samples Zarr store directly.

The published FLEX code (a CoRe fork) reads 103 JPEGs per view per sample and CSV side files,
and draws exemplars with the global ``random`` state, so its pairs change with the worker count.
This dataset keeps its contract - ``Dataset(args, subset, transform)``, train items
``(data, target)``, test items ``(data, [exemplar] * voter_number)``, ``delta()`` for
``Group_helper``, scores normalised to ``args.score_range`` per action - but:

- reads the store's samples groups (one zstd chunk per sample and view) straight into numpy,
  opened lazily in each worker;
- draws exemplars from a generator seeded by ``(seed, epoch, index)``: the same pairs for any
  number of DataLoader workers and any run (call :meth:`FlexPairDataset.set_epoch` each epoch);
Modes (``args.mode``; docs/loaders.md):

- ``"compat"`` (default) and ``"fast"``, the native modes: item dicts carry ``video`` (first
  view), ``video2`` (second view; ``video3``... for more), ``Skeleton`` float32 (T, 21, 3) metres
  with invalid joints set to 0 and ``Skeleton_valid`` (T, 21) saying which, ``EMG`` float32 (T, 16)
  envelope at the clip instants (or the cleaned EMG of the repetition, ``args.emg="clean"``,
  variable length: batch it with :func:`flexsync.loaders.collate.pad_collate`), ``final_score``
  (the score normalised by the action's range in the data, times ``score_range``), plus
  ``sample_id``, ``class_idx``, ``video_valid`` (V, T) and ``EMG_valid`` (T,). Compat hands the
  transform a list of PIL images (what CoRe's video transforms take); fast returns uint8
  ``(T, H, W, 3)`` arrays and leaves normalisation to the GPU.
- ``"flex"``: exactly what FLEX's ``SevenPair_Dataset`` returns on the export of the same split:
  keys ``video``, ``video2`` (View-1 / View-2 of the side, PIL lists through the transform),
  ``Skeleton`` float32 (3, T, 25, 1) (NTU-25, normalised FLEX's way, invalid joints interpolated as
  the export does), ``EMG`` float32 (1, 2) (left / right shares of the main muscles) and
  ``final_score`` normalised with the consumer's per-class ranges (FLEX's hard-coded table by
  default, ``args.score_ranges`` for others); test items carry ``min(voter_number, n)`` distinct
  exemplars as FLEX does. Skeleton and EMG are torch tensors when torch is installed (as in FLEX),
  numpy arrays otherwise. Only the frames differ from FLEX's (they skip the JPEG round trip).

Frames stored as H.264 are decoded by ``args.decoder`` ("pyav", the default, "torchcodec" or
"auto": :mod:`flexsync.storage.decoder_choice`; the items are identical either way).
``args.device="cuda"`` (fast mode only) returns the videos as uint8 torch tensors on the GPU,
decoded there by torchcodec (NVDEC) or, with PyAV, decoded on the CPU and copied.

``args.data_root`` is the store root, or an export folder (``STORE/export/flex``, what FLEX's
config holds): the store is then its grandparent and the protocol and seed those of its
``export.json`` unless ``args`` names them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.errors import InputFileError, MissingInputError
from flexsync.splits.protocols import PROTOCOLS
from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.storage.decoder_choice import DEVICES
from flexsync.storage.store import EXPORT_DIR, Store
from flexsync.storage.urls import is_url

__all__ = ["DEFAULT_VIEWS", "MODES", "NATIVE_MODES", "FlexPairDataset", "SampleEntry", "read_sample_clip"]

logger = logging.getLogger(__name__)

DEFAULT_VIEWS: tuple[str, ...] = ("cam1", "cam2")
NATIVE_MODES = ("compat", "fast")
MODES = (*NATIVE_MODES, "flex")
_EXPORT_INFO = "export.json"  # flexsync.exports.flex.EXPORT_INFO_FILE
_SUBSETS = {"train": 0, "test": 1}
_EMG_KINDS = ("envelope", "clean")


def _dataset_base() -> type:
    """torch's Dataset when torch is installed, else ``object`` (DataLoader needs only the protocol)."""
    try:
        from torch.utils.data import Dataset
    except ImportError:
        return object
    return Dataset


@dataclass(frozen=True)
class SampleEntry:
    """One sample of a subset, in the order CoRe's split lists use: (class, sample index)."""

    sample_id: str
    recording: str
    class_idx: int
    action: str
    action_sample_index: int
    expert_score: float
    score_norm: float
    views: tuple[str, ...]


def read_sample_clip(
    reader: ZarrRowReader, group: str, row: int, view: str, *, out: np.ndarray | None = None
) -> np.ndarray:
    """uint8 (T, H, W, 3) frames of sample row ``row`` in ``view``, into ``out``.

    ``group`` is the samples group relative to the reader's root (``Store.samples_member(key)``).
    """
    return reader.read_rows(f"{group}/video/{view}", row, row + 1, out=None if out is None else out[None])[0]


class FlexPairDataset(_dataset_base()):
    """CoRe/FLEX pair dataset over a flexsync store (samples Zarr + training tables).

    Parameters
    ----------
    args : namespace
        CoRe's arguments: ``data_root`` (the store root), ``class_idx`` (0 = all actions, else
        the ``class_idx`` of an action in the sample index), ``score_range`` (e.g. 100),
        ``frame_length`` (must equal the store's, 103), ``voter_number``, ``seed``. ``data_root``
        may also be an export folder of the store (module docstring). Optional:
        ``protocol`` (one of :data:`flexsync.splits.PROTOCOLS`; default "vanilla"), ``split_seed``
        (default: the only seed of that protocol in splits.parquet), ``views`` (default
        ``("cam1", "cam2")``; for ``cross_view`` the first two views of each side), ``mode``
        ("compat" | "fast" | "flex"; default "compat"), ``emg`` ("envelope" | "clean"; default
        "envelope"; native modes), ``score_ranges`` (flex mode: a CSV/JSON path or mapping of the
        per-class ranges, :func:`flexsync.exports.score_ranges.read_score_ranges`; default FLEX's),
        ``decoder`` ("pyav" | "torchcodec" | "auto"; default "pyav"), ``device`` ("cpu" | "cuda";
        default "cpu": numpy frames; "cuda": fast mode's videos as torch tensors on the GPU).
    subset : {"train", "test"}
    transform : callable or None
        Compat mode: called with a list of T PIL images per view. Fast mode: called with the
        uint8 (T, H, W, 3) array when given.

    Raises
    ------
    MissingInputError
        If sample_index.parquet or splits.parquet is missing.
    ImportError
        If ``args.decoder`` is "torchcodec" and torchcodec does not load (the message says why).
    InputFileError
        If the split names samples absent from the index, a test action has no train exemplar,
        or a requested view is not among a side's views.
    ValueError
        For bad options (subset, mode, protocol, voter_number, seed, decoder, device, or a
        class_idx that is not an action of the sample index).
    """

    def __init__(self, args: Any, subset: str, transform: Callable[[Any], Any] | None) -> None:
        if subset not in _SUBSETS:
            raise ValueError(f"subset must be one of {list(_SUBSETS)}, got {subset!r}")
        self.subset = subset
        self.transforms = transform
        if is_url(args.data_root):  # an object-store store root (docs/object-stores.md)
            self.store, export_info = Store(args.data_root), {}
            self.data_root = self.store.root
        else:
            self.data_root = Path(args.data_root)
            store_root, export_info = _resolve_root(self.data_root)
            self.store = Store(store_root)
        self.class_idx = int(args.class_idx)
        self.score_range = float(args.score_range)
        self.length = int(args.frame_length)
        self.voter_number = int(args.voter_number)
        self.seed = int(args.seed)
        self.protocol = str(getattr(args, "protocol", None) or export_info.get("protocol") or "vanilla")
        self.mode = str(getattr(args, "mode", None) or "compat")
        self.emg = str(getattr(args, "emg", None) or "envelope")
        self.device = str(getattr(args, "device", None) or "cpu")
        if self.device not in DEVICES:
            raise ValueError(f"args.device must be one of {DEVICES}, got {self.device!r}")
        if self.device != "cpu" and self.mode != "fast":
            raise ValueError(f"args.device={self.device!r} needs mode 'fast' (mode {self.mode!r} gives PIL images)")
        requested_views = getattr(args, "views", None)
        views_info = export_info.get("views") if export_info.get("protocol") == self.protocol else None
        self._export_views: dict[str, list[str]] = views_info if isinstance(views_info, dict) else {}
        self._check_options()
        if self.mode == "flex" and getattr(args, "emg", None) not in (None, "envelope"):
            raise ValueError(f"args.emg={args.emg!r} applies to the native modes; mode 'flex' gives FLEX's (1, 2) EMG")
        split_seed = getattr(args, "split_seed", None)
        if split_seed is None and export_info.get("protocol") == self.protocol:
            split_seed = export_info.get("seed")
        self.split_seed, sides = self._read_split(split_seed)
        entries = self._read_index(sides, None if requested_views is None else _check_views(requested_views))
        self.train_list: list[SampleEntry] = entries["train"]
        self.dataset: list[SampleEntry] = entries[subset]
        self._train_by_class: dict[int, list[int]] = {}
        for pos, entry in enumerate(self.train_list):
            self._train_by_class.setdefault(entry.class_idx, []).append(pos)
        self._position_in_train = {e.sample_id: i for i, e in enumerate(self.train_list)}
        orphans = sorted({e.action for e in self.dataset if e.class_idx not in self._train_by_class})
        if orphans:
            raise InputFileError(
                f"no train sample of action(s) {', '.join(orphans)} under protocol {self.protocol!r} "
                f"seed {self.split_seed}: exemplars cannot be drawn; choose another split or class_idx",
                path=self.store.training_path("splits.parquet"),
            )
        self.flex_ranges: dict[int, tuple[float, float]] | None = None
        self._main_muscles: dict[str, tuple[str, ...]] = {}
        if self.mode == "flex":
            self._prepare_flex(getattr(args, "score_ranges", None))
        self.epoch = 0
        self._reader = ZarrRowReader(self.store.root, decoder=str(getattr(args, "decoder", None) or "pyav"))
        self.decoder = self._reader.decoder  # "pyav" or "torchcodec" ("auto" resolved)
        self._rows: dict[str, dict[str, int]] = {}
        self._groups: dict[str, str] = {}

    # ------------------------------------------------------------------ contract

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Select the exemplars of ``epoch`` (call before iterating; workers get it when spawned)."""
        self.epoch = int(epoch)

    def delta(self) -> list[float]:
        """|normalised score difference| of every pair (i < j) of train samples of the same action.

        Pairs are taken in train-list order within each action, actions in class order; scores
        are normalised to ``score_range`` as in the items (flex mode: with the consumer's ranges,
        as FLEX's ``delta``). This is what CoRe's ``Group_helper`` takes to build its regression-tree
        bins.
        """
        out: list[float] = []
        for class_idx in sorted(self._train_by_class):
            scores = np.array([self._score(self.train_list[p]) for p in self._train_by_class[class_idx]])
            i, j = np.triu_indices(len(scores), k=1)
            out.extend(np.abs(scores[i] - scores[j]).tolist())
        return out

    def exemplar_indices(self, index: int) -> list[int]:
        """Positions in ``train_list`` of the exemplar(s) of item ``index`` for the current epoch.

        Train: one random same-action train sample other than itself (itself only if it is the
        action's only train sample). Test: ``voter_number`` same-action train samples other than
        itself, distinct while there are enough, then drawn again. Flex mode follows FLEX instead
        for test items: ``min(voter_number, n)`` distinct train samples of the action, its own train
        copy included (cross_view). Seeded by ``(seed, epoch, index, subset)``.
        """
        if not 0 <= index < len(self.dataset):
            raise IndexError(f"index {index} out of range for {len(self.dataset)} {self.subset} samples")
        entry = self.dataset[index]
        rng = np.random.default_rng([self.seed, self.epoch, index, _SUBSETS[self.subset]])
        same_action = self._train_by_class[entry.class_idx]
        if self.mode == "flex" and self.subset == "test":
            order = rng.permutation(len(same_action))
            return [same_action[int(k)] for k in order[: self.voter_number]]
        # Never the sample itself (cross_view puts a sample on both sides), unless it is the only one.
        own = self._position_in_train.get(entry.sample_id)
        candidates = [p for p in same_action if p != own] or same_action
        if self.subset == "train":
            return [candidates[int(rng.integers(len(candidates)))]]
        order = rng.permutation(len(candidates))
        picks = [candidates[int(k)] for k in order[: self.voter_number]]
        if len(picks) < self.voter_number:
            extra = rng.integers(len(candidates), size=self.voter_number - len(picks))
            picks += [candidates[int(k)] for k in extra]
        return picks

    def __getitem__(self, index: int) -> tuple[dict[str, Any], Any]:
        exemplars = self.exemplar_indices(index)
        data = self.load_item(self.dataset[index])
        if self.subset == "train":
            return data, self.load_item(self.train_list[exemplars[0]])
        return data, [self.load_item(self.train_list[p]) for p in exemplars]

    # ------------------------------------------------------------------ reading

    def load_item(self, entry: SampleEntry) -> dict[str, Any]:
        """The item dict of one sample (see the module docstring for its keys)."""
        if self.mode == "flex":
            return self._load_flex_item(entry)
        row = self._row(entry)
        base = self._group(entry.recording)
        item: dict[str, Any] = {"sample_id": entry.sample_id, "class_idx": entry.class_idx}
        for k, view in enumerate(entry.views):
            if self.device == "cpu":
                clip = np.empty(self._reader.info(f"{base}/video/{view}").row_shape, dtype=np.uint8)
                read_sample_clip(self._reader, base, row, view, out=clip)
            else:
                clip = self._reader.read_rows_tensor(f"{base}/video/{view}", row, row + 1, device=self.device)[0]
            item["video" if k == 0 else f"video{k + 1}"] = self._transform(clip)
        all_views = list(self._reader.group_attrs(base).get("views", []))
        video_valid = self._reader.read_cached(f"{base}/video_valid")[row]
        item["video_valid"] = np.stack([video_valid[all_views.index(v)] for v in entry.views])
        pose = self._reader.read_cached(f"{base}/pose")[row]
        pose_valid = self._reader.read_cached(f"{base}/pose_valid")[row]
        item["Skeleton"] = np.where(pose_valid[..., None], np.nan_to_num(pose), np.float32(0))
        item["Skeleton_valid"] = pose_valid.copy()
        env_valid = self._reader.read_cached(f"{base}/emg_envelope_valid")[row]
        if self.emg == "envelope":
            env = self._reader.read_cached(f"{base}/emg_envelope")[row]
            item["EMG"] = np.where(env_valid[:, None], np.nan_to_num(env), np.float32(0))
        else:
            offsets = self._reader.read_cached(f"{base}/emg_offsets")
            item["EMG"] = self._reader.read_rows(f"{base}/emg", int(offsets[row]), int(offsets[row + 1]))
        item["EMG_valid"] = env_valid.copy()
        item["final_score"] = self._score(entry)
        return item

    def _load_flex_item(self, entry: SampleEntry) -> dict[str, Any]:
        """FLEX's item dict: video, video2, Skeleton (3, T, 25, 1), EMG (1, 2), final_score."""
        from flexsync.loaders.flex_inputs import flex_emg_shares, flex_skeleton

        row = self._row(entry)
        base = self._group(entry.recording)
        item: dict[str, Any] = {}
        for key, view in zip(("video", "video2"), entry.views[:2], strict=True):
            clip = np.empty(self._reader.info(f"{base}/video/{view}").row_shape, dtype=np.uint8)
            read_sample_clip(self._reader, base, row, view, out=clip)
            item[key] = self._transform(clip)
        pose = self._reader.read_cached(f"{base}/pose")[row]
        pose_valid = self._reader.read_cached(f"{base}/pose_valid")[row]
        item["Skeleton"] = _tensor(flex_skeleton(pose, pose_valid))
        offsets = self._reader.read_cached(f"{base}/emg_offsets")
        emg = self._reader.read_rows(f"{base}/emg", int(offsets[row]), int(offsets[row + 1]))
        channels = list(self._reader.group_attrs(base).get("emg_channel_names", []))
        try:
            shares = flex_emg_shares(emg, channels, self._main_muscles[entry.action], entry.class_idx)
        except ValueError as error:
            raise InputFileError(
                f"sample {entry.sample_id}: {error}", path=self.store.samples_path(entry.recording)
            ) from None
        item["EMG"] = _tensor(shares)
        item["final_score"] = self._score(entry)
        return item

    def _prepare_flex(self, score_ranges: Any) -> None:
        """Flex mode: the consumer's score ranges (checked against every score) and the actions' main muscles."""
        import polars as pl

        from flexsync.exports.score_ranges import describe_problems, read_score_ranges, score_range_problems
        from flexsync.fkg.catalogue import default_fkg

        self.flex_ranges = read_score_ranges(score_ranges)
        entries = self.train_list + (self.dataset if self.subset == "test" else [])
        for entry in entries:
            if len(entry.views) < 2:
                raise InputFileError(
                    f"sample {entry.sample_id}: mode 'flex' reads two views (FLEX's View-1 and View-2), "
                    f"this side has {list(entry.views)}",
                    path=self.store.training_path("splits.parquet"),
                )
        scores = pl.DataFrame(
            [(e.sample_id, e.class_idx, e.expert_score) for e in entries],
            schema={"sample_id": pl.String, "class_idx": pl.Int64, "expert_score": pl.Float64},
            orient="row",
        )
        problems = score_range_problems(scores, self.flex_ranges)
        if problems.height:
            raise InputFileError(
                f"{describe_problems(problems)}; FLEX's normalisation would put their labels outside "
                f"[0, {self.score_range:g}] (pass args.score_ranges)",
                path=self.store.training_path("sample_index.parquet"),
            )
        fkg = default_fkg()
        self._main_muscles = {e.action: tuple(fkg.action(e.action).main_muscles) for e in entries}

    def _score(self, entry: SampleEntry) -> float:
        if self.flex_ranges is not None:
            lo, hi = self.flex_ranges[entry.class_idx]
            return float((entry.expert_score - lo) / (hi - lo) * self.score_range)
        return float(entry.score_norm * self.score_range)

    def _transform(self, clip: Any) -> Any:
        if self.mode == "fast":
            return clip if self.transforms is None else self.transforms(clip)
        from PIL import Image

        frames = [Image.fromarray(frame) for frame in clip]
        return frames if self.transforms is None else self.transforms(frames)

    def _group(self, recording: str) -> str:
        """The samples group of ``recording``, relative to the store root (what the reader takes)."""
        found = self._groups.get(recording)
        if found is None:
            found = self._groups[recording] = self.store.samples_member(recording)
        return found

    def _row(self, entry: SampleEntry) -> int:
        rows = self._rows.get(entry.recording)
        if rows is None:
            attrs = self._reader.group_attrs(self._group(entry.recording))
            path = self.store.samples_path(entry.recording)
            if attrs.get("status") != "complete":
                raise InputFileError(f"samples status is {attrs.get('status')!r}, not 'complete'; rebuild", path=path)
            if int(attrs.get("frame_length", -1)) != self.length:
                raise InputFileError(
                    f"frame_length is {attrs.get('frame_length')!r} but args.frame_length is {self.length}; "
                    "rebuild the samples or set frame_length to match",
                    path=path,
                )
            missing = [v for v in entry.views if v not in attrs.get("views", [])]
            if missing:
                raise InputFileError(f"view(s) {', '.join(missing)} absent (has {attrs.get('views')})", path=path)
            rows = self._rows[entry.recording] = {sid: r for r, sid in enumerate(attrs.get("sample_ids", []))}
        try:
            return rows[entry.sample_id]
        except KeyError:
            raise InputFileError(
                f"sample {entry.sample_id} is in the index but not in sample_ids; rebuild the samples",
                path=self.store.samples_path(entry.recording),
            ) from None

    # ------------------------------------------------------------------ index

    def _check_options(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"args.mode must be one of {MODES}, got {self.mode!r}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"args.protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if self.emg not in _EMG_KINDS:
            raise ValueError(f"args.emg must be one of {_EMG_KINDS}, got {self.emg!r}")
        if self.class_idx < 0:
            raise ValueError(f"args.class_idx must be 0 (all actions) or an action's class_idx, got {self.class_idx}")
        if self.voter_number < 1:
            raise ValueError(f"args.voter_number must be >= 1, got {self.voter_number}")
        if self.seed < 0:
            raise ValueError(f"args.seed must be >= 0 (it seeds numpy.random.SeedSequence), got {self.seed}")
        if self.score_range <= 0:
            raise ValueError(f"args.score_range must be > 0, got {self.score_range}")

    def _read_split(self, split_seed: int | None) -> tuple[int, dict[str, dict[str, tuple[str, ...]]]]:
        import polars as pl

        path = self.store.training_path("splits.parquet")
        if not path.is_file():
            raise MissingInputError("splits table missing: build the training products first", path=path)
        splits = (
            self.store.read_parquet(path, what="splits")
            .select("protocol", "seed", "sample_id", "side", "views")
            .filter(pl.col("protocol") == self.protocol)
        )
        seeds = sorted(splits.get_column("seed").unique().to_list())
        if split_seed is None:
            if len(seeds) != 1:
                raise InputFileError(
                    f"protocol {self.protocol!r} has seeds {seeds}; set args.split_seed to one of them", path=path
                )
            split_seed = seeds[0]
        elif int(split_seed) not in seeds:
            raise InputFileError(
                f"protocol {self.protocol!r} has no split with seed {split_seed}; seeds present: {seeds}", path=path
            )
        rows = splits.filter(pl.col("seed") == int(split_seed))
        sides: dict[str, dict[str, tuple[str, ...]]] = {"train": {}, "test": {}}
        for sample_id, side, views in rows.select("sample_id", "side", "views").iter_rows():
            if side not in sides:
                raise InputFileError(f"sample {sample_id}: side {side!r} is not 'train' or 'test'", path=path)
            sides[side][sample_id] = tuple(views)
        return int(split_seed), sides

    def _read_index(
        self, sides: dict[str, dict[str, tuple[str, ...]]], requested: tuple[str, ...] | None
    ) -> dict[str, list[SampleEntry]]:
        import polars as pl

        path = self.store.training_path("sample_index.parquet")
        if not path.is_file():
            raise MissingInputError("sample index missing: build the training products first", path=path)
        columns = ["sample_id", "recording", "class_idx", "action", "action_sample_index", "expert_score", "score_norm"]
        index = self.store.read_parquet(path, what="sample_index").select(columns)
        if self.class_idx:
            classes = sorted(set(index.get_column("class_idx").to_list()))
            if self.class_idx not in classes:
                raise ValueError(
                    f"args.class_idx must be 0 (all actions) or one of the classes of the sample index "
                    f"{classes}, got {self.class_idx}"
                )
            index = index.filter(pl.col("class_idx") == self.class_idx)
        index = index.sort("class_idx", "action_sample_index")
        out: dict[str, list[SampleEntry]] = {"train": [], "test": []}
        known = set(index.get_column("sample_id").to_list()) if not self.class_idx else None
        problems: list[str] = []
        for row in index.iter_rows(named=True):
            for side, members in sides.items():
                side_views = members.get(row["sample_id"])
                if side_views is None:
                    continue
                views = self._views_for(side_views, requested, self._export_views.get(side))
                if isinstance(views, str):
                    problems.append(f"{row['sample_id']} ({side}): {views}")
                    continue
                out[side].append(
                    SampleEntry(
                        sample_id=row["sample_id"],
                        recording=row["recording"],
                        class_idx=int(row["class_idx"]),
                        action=row["action"],
                        action_sample_index=int(row["action_sample_index"]),
                        expert_score=float(row["expert_score"]),
                        score_norm=float(row["score_norm"]),
                        views=views,
                    )
                )
        if known is not None:
            unknown = sorted((set(sides["train"]) | set(sides["test"])) - known)
            if unknown:
                problems.append(f"{len(unknown)} split sample(s) not in the sample index, e.g. {unknown[:5]}")
        if problems:
            raise InputFileError("; ".join(problems[:10]), path=self.store.training_path("splits.parquet"))
        return out

    def _views_for(
        self, side_views: tuple[str, ...], requested: tuple[str, ...] | None, exported: Sequence[str] | None = None
    ) -> tuple[str, ...] | str:
        """Views to read for a sample: the requested ones if the side has them, else a problem text.

        Default: the export's View-1 and View-2 when ``data_root`` is an export, else cam1 and cam2
        (cross_view: the side's first two views).
        """
        if requested is None and exported:
            requested = tuple(exported[:2])
        if requested is None:
            if self.protocol == "cross_view":
                return side_views[:2]
            requested = DEFAULT_VIEWS
        missing = [v for v in requested if v not in side_views]
        if missing:
            return f"view(s) {', '.join(missing)} not on this side of the split (has {list(side_views)})"
        return tuple(requested)


def _resolve_root(data_root: Path) -> tuple[Path, dict[str, Any]]:
    """(store root, export.json content or {}): an export folder ``STORE/export/NAME`` maps to ``STORE``."""
    info_path = data_root / _EXPORT_INFO
    if not info_path.is_file():
        return data_root, {}
    if data_root.parent.name != EXPORT_DIR:
        raise InputFileError(
            f"an export folder, but not inside a store's {EXPORT_DIR}/ folder: pass the store root as args.data_root",
            path=data_root,
        )
    import json

    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InputFileError(f"unreadable export description: {error}", path=info_path) from None
    info = info if isinstance(info, dict) else {}
    logger.info(
        "data_root %s is an export (%s seed %s): reading the store %s",
        data_root,
        info.get("protocol"),
        info.get("seed"),
        data_root.parent.parent,
    )
    return data_root.parent.parent, info


def _tensor(array: np.ndarray) -> Any:
    """A float32 torch tensor (what FLEX's dataset returns) when torch is installed, else the array."""
    try:
        import torch
    except ImportError:
        return array
    return torch.from_numpy(array)


def _check_views(views: Sequence[str]) -> tuple[str, ...]:
    views = tuple(views)
    if not views:
        raise ValueError("views must name at least one view, e.g. ('cam1', 'cam2')")
    return views
