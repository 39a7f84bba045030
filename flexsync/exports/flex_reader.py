"""Read a FLEX / CoRe export the way the FLEX training code does, without torch.

This is an independent reader, written from the FLEX dataset contract and not from our writer
(it imports nothing from :mod:`flexsync.exports.flex`), so that tests of the export and the
loader benchmark check the files against what FLEX expects rather than against our own code.
It makes the same library calls as FLEX's dataset class: ``scipy.io.loadmat`` of the Split_4
lists, PIL ``Image.open`` of ``A%02d/%03d/View-k/img_%05d.JPG``, pandas ``read_csv`` of the
skeleton (``header=0``, reshaped to (-1, 21, 3)) and of the EMG (``header=None``, with the
class-dependent left/right column picks of :data:`FLEX_EMG_PICKS`).

It also computes FLEX's dataset items from the files, the way FLEX's ``SevenPair_Dataset`` does
(:meth:`FlexExport.flex_item`, :meth:`FlexExport.flex_getitem`): the two clips through the caller's
transform, the skeleton remapped from FLEX's 21 joints to NTU-25 and normalised by hip position and
spine length into (3, T, 25, 1), the EMG reduced to the (1, 2) left / right shares of the class's
picked columns, and the raw score normalised with the consumer's per-class range. These are
re-implemented here from FLEX's contract (no FLEX code is imported); the tests hold
``FlexPairDataset(mode="flex")`` to them. Arrays are numpy (float32 where FLEX returns float32 torch
tensors), so this module runs without torch.

Reading JPEG folders is slow (about 136 ms per 103-frame 455x256 clip on 2 cores): use it to
check and benchmark the export, not to train; flexsync.loaders reads the Zarr samples directly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
from PIL import Image

from flexsync.errors import InputFileError, MissingInputError
from flexsync.exports.score_ranges import read_score_ranges, score_range_problems

__all__ = [
    "FLEX_EMG_PICKS",
    "FLEX_N_JOINTS",
    "NTU25_FROM_FLEX21",
    "FlexExport",
    "flex21_to_ntu25",
    "flex_skeleton_tensor",
    "ntu_normalise",
]

logger = logging.getLogger(__name__)

FLEX_N_JOINTS = 21
# class -> (left columns, right columns): FLEX takes max |x| of the column, or of the mean of
# |x| over the columns when there are two.
FLEX_EMG_PICKS: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {
    **dict.fromkeys((1, 2, 4, 5, 14, 16), ((0,), (2,))),
    **dict.fromkeys((3, 6, 15, 20), ((1,), (3,))),
    **dict.fromkeys((7, 17, 18, 19), ((0,), (1,))),
    **dict.fromkeys((8, 9, 10, 11, 12, 13), ((0, 1), (2, 3))),
}
# NTU RGB+D joint k (0-24: spine base, spine mid, neck, head, left shoulder .. hand, right shoulder .. hand,
# left hip .. foot, right hip .. foot, spine shoulder, left hand tip, left thumb, right hand tip, right thumb)
# as weights over FLEX's 21 joints (flexsync.skeleton.JOINT_NAMES order), following FLEX's remap21_to_25:
# spine base = mid-hip, spine mid = halfway from it to the chest, feet = mid heel-toe, hand tips and
# thumbs = the hand, spine shoulder = the chest.
NTU25_FROM_FLEX21: tuple[dict[int, float], ...] = (
    {11: 0.5, 16: 0.5},
    {11: 0.25, 16: 0.25, 2: 0.5},
    {1: 1.0},
    {0: 1.0},
    {7: 1.0},
    {8: 1.0},
    {9: 1.0},
    {10: 1.0},
    {3: 1.0},
    {4: 1.0},
    {5: 1.0},
    {6: 1.0},
    {16: 1.0},
    {17: 1.0},
    {18: 1.0},
    {19: 0.5, 20: 0.5},
    {11: 1.0},
    {12: 1.0},
    {13: 1.0},
    {14: 0.5, 15: 0.5},
    {2: 1.0},
    {10: 1.0},
    {10: 1.0},
    {6: 1.0},
    {6: 1.0},
)
_NTU_HIP, _NTU_SPINE_MID = 0, 1
_NTU_EPSILON = 1e-6  # FLEX adds it to the spine length before dividing
_LISTS = {
    "train": ("Split_4/split_4_train_list.mat", "consolidated_train_list"),
    "test": ("Split_4/split_4_test_list.mat", "consolidated_test_list"),
}


class FlexExport:
    """One exported FLEX tree, read with FLEX's calls.

    Parameters
    ----------
    root : path
        The export folder (FLEX's ``data_root``).
    frame_length : int
        Frames per clip (FLEX's ``frame_length``, 103).
    """

    def __init__(self, root: Path | str, *, frame_length: int = 103) -> None:
        self.root = Path(root)
        self.frame_length = int(frame_length)
        if not self.root.is_dir():
            raise MissingInputError("FLEX export folder not found", path=self.root)

    # ------------------------------------------------------------ split lists

    def split_list(self, subset: str) -> np.ndarray:
        """The (N, 3) array ``[class, index, score]`` of ``subset`` ("train" or "test"), as loadmat returns it."""
        if subset not in _LISTS:
            raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
        rel, variable = _LISTS[subset]
        path = self.root / rel
        if not path.is_file():
            raise MissingInputError(f"{subset} split list missing", path=path)
        content = scipy.io.loadmat(path)
        if variable not in content:
            raise InputFileError(f"variable {variable!r} missing; variables: {sorted(content)}", path=path)
        return content[variable]

    def rows(self, subset: str, class_idx: int = 0) -> list[list[float]]:
        """FLEX's ``self.dataset``: the list's rows as Python lists, filtered by class unless ``class_idx`` is 0."""
        table = self.split_list(subset)
        if class_idx:
            table = table[table[:, 0] == class_idx]
        return table.tolist()

    # ------------------------------------------------------------ per-sample files

    def sample_folder(self, class_idx: int, index: int) -> Path:
        return self.root / f"A{int(class_idx):02d}" / f"{int(index):03d}"

    def frame_paths(self, class_idx: int, index: int, view: int = 1) -> list[Path]:
        """The ``frame_length`` JPEG paths FLEX opens for View-``view`` of one sample."""
        folder = self.sample_folder(class_idx, index) / f"View-{int(view)}"
        return [folder / f"img_{i + 1:05d}.JPG" for i in range(self.frame_length)]

    def load_clip(self, class_idx: int, index: int, view: int = 1, *, mode: str | None = "RGB") -> list[Image.Image]:
        """A list of ``frame_length`` PIL images, like FLEX's ``load_video`` before its transform.

        ``mode="RGB"`` decodes each image (``convert``), which closes its file; ``mode=None``
        returns the lazily opened images exactly as FLEX does (files stay open until decoded).
        """
        images = [Image.open(path) for path in self.frame_paths(class_idx, index, view)]
        return images if mode is None else [image.convert(mode) for image in images]

    def load_clip_array(self, class_idx: int, index: int, view: int = 1) -> np.ndarray:
        """(T, H, W, 3) uint8 decoded frames of one view."""
        return np.stack([np.asarray(image) for image in self.load_clip(class_idx, index, view)])

    def skeleton_path(self, class_idx: int, index: int) -> Path:
        return self.root / "Skeleton" / f"A{int(class_idx):02d}" / f"{int(index):03d}" / "skeleton_points.csv"

    def load_skeleton(self, class_idx: int, index: int) -> tuple[np.ndarray, list[str]]:
        """(T, 21, 3) joint positions read like FLEX (pandas, ``header=0``, reshape) and the header names."""
        import pandas as pd

        frame = pd.read_csv(self.skeleton_path(class_idx, index), header=0)
        values = frame.values
        if values.shape[1] != FLEX_N_JOINTS * 3:
            raise InputFileError(
                f"{values.shape[1]} columns; FLEX reshapes to (-1, 21, 3) and needs 63",
                path=self.skeleton_path(class_idx, index),
            )
        return values.reshape(-1, FLEX_N_JOINTS, 3), [str(c) for c in frame.columns]

    def emg_path(self, class_idx: int, index: int) -> Path:
        return self.root / "EMG" / f"A{int(class_idx):02d}" / f"{int(index):03d}" / "EMG.csv"

    def load_emg(self, class_idx: int, index: int) -> np.ndarray:
        """(n, C) EMG rows read like FLEX (pandas, ``header=None``)."""
        import pandas as pd

        return pd.read_csv(self.emg_path(class_idx, index), header=None).to_numpy(dtype=np.float64)

    def emg_left_right(self, class_idx: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The |signal| series FLEX takes the left and right maxima of (mean of two columns where it averages)."""
        if class_idx not in FLEX_EMG_PICKS:
            raise ValueError(f"class {class_idx} has no FLEX EMG picks; classes are 1-20")
        emg = np.abs(self.load_emg(class_idx, index))
        left, right = FLEX_EMG_PICKS[class_idx]
        return emg[:, list(left)].mean(axis=1), emg[:, list(right)].mean(axis=1)

    def emg_contributions(self, class_idx: int, index: int) -> tuple[float, float]:
        """FLEX's EMG feature: left and right shares of the two maxima."""
        left, right = self.emg_left_right(class_idx, index)
        lo, hi = float(left.max()), float(right.max())
        return lo / (lo + hi), hi / (lo + hi)

    def flex_skeleton(self, class_idx: int, index: int) -> np.ndarray:
        """FLEX's ``load_Skeleton``: float32 (3, T, 25, 1), NTU-25 joints normalised by hip and spine length."""
        joints, _ = self.load_skeleton(class_idx, index)
        return flex_skeleton_tensor(joints)

    def flex_emg(self, class_idx: int, index: int) -> np.ndarray:
        """FLEX's ``load_EMG``: float32 (1, 2), the left and right shares of the class's picked maxima."""
        return np.array([self.emg_contributions(class_idx, index)], dtype=np.float32)

    def flex_item(
        self,
        class_idx: int,
        index: int,
        score: float,
        transform: Any,
        *,
        score_range: float = 100.0,
        ranges: Any = None,
    ) -> dict[str, Any]:
        """One of FLEX's item dicts: ``video``, ``video2`` (View-1 / View-2 through ``transform``),
        ``Skeleton``, ``EMG`` and ``final_score`` (``score`` normalised with the class's range of
        ``ranges``, FLEX's table by default, times ``score_range``)."""
        lo, hi = read_score_ranges(ranges)[int(class_idx)]
        clips = [self.load_clip(class_idx, index, view) for view in (1, 2)]
        return {
            "video": clips[0] if transform is None else transform(clips[0]),
            "video2": clips[1] if transform is None else transform(clips[1]),
            "Skeleton": self.flex_skeleton(class_idx, index),
            "EMG": self.flex_emg(class_idx, index),
            "final_score": (score - lo) / (hi - lo) * float(score_range),
        }

    def flex_getitem(
        self,
        subset: str,
        position: int,
        exemplars: Sequence[int],
        transform: Any,
        *,
        class_idx: int = 0,
        score_range: float = 100.0,
        ranges: Any = None,
    ) -> tuple[dict[str, Any], Any]:
        """FLEX's ``__getitem__(position)`` for the given exemplar choice.

        FLEX draws exemplars with Python's global ``random``; here the caller names them as
        positions in FLEX's train list (``rows("train", class_idx)``). Train: one exemplar, another
        train row of the same class (itself only when it is the class's only one); returns
        ``(data, target)``. Test: ``min(voter_number, n)`` distinct train rows of the class; returns
        ``(data, [targets])``. Raises ValueError when the choice is not one FLEX could make.
        """
        rows = self.rows(subset, class_idx)
        train = self.rows("train", class_idx)
        class_f = rows[position][0]
        same_class = [i for i, row in enumerate(train) if row[0] == class_f]
        picks = list(exemplars)
        if not set(picks) <= set(same_class):
            raise ValueError(f"exemplars {picks} are not train rows of class {int(class_f)} ({same_class})")
        if subset == "train":
            own = [i for i in same_class if train[i] == rows[position]]
            allowed = [i for i in same_class if i not in own] or same_class
            if len(picks) != 1 or picks[0] not in allowed:
                raise ValueError(f"a train item has one exemplar among {allowed}, got {picks}")
        elif len(set(picks)) != len(picks):
            raise ValueError(f"test exemplars must be distinct train rows, got {picks}")

        def item(row: Sequence[float]) -> dict[str, Any]:
            return self.flex_item(
                int(row[0]), int(row[1]), float(row[2]), transform, score_range=score_range, ranges=ranges
            )

        data = item(rows[position])
        targets = [item(train[i]) for i in picks]
        return (data, targets[0]) if subset == "train" else (data, targets)

    def export_info(self) -> dict[str, Any]:
        """``export.json``: protocol, seed, views per side, index offset, classes with data."""
        path = self.root / "export.json"
        if not path.is_file():
            raise MissingInputError("export.json missing (an export older than this reader?)", path=path)
        return json.loads(path.read_text(encoding="utf-8"))

    def classes(self) -> list[dict[str, Any]]:
        """``classes.csv`` rows (class_idx, action, n_train, n_test, ranges, trainable) as dicts."""
        import csv

        path = self.root / "classes.csv"
        if not path.is_file():
            raise MissingInputError("classes.csv missing", path=path)
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            row["class_idx"], row["n_train"], row["n_test"] = (int(row[k]) for k in ("class_idx", "n_train", "n_test"))
            row["trainable"] = row["trainable"] == "true"
        return rows

    def score_problems(self, ranges: Any = None) -> Any:
        """Rows of both split lists whose raw score lies outside its class's range (``score_range_problems``).

        Scores are read from the ``.mat`` lists; samples are named through ``samples.csv``.
        """
        import polars as pl

        manifest = pl.read_csv(self.root / "samples.csv")
        names = {
            (int(c), int(i)): sid for sid, c, i in manifest.select("sample_id", "class_idx", "sample_index").rows()
        }
        table = [
            {"sample_id": names.get((int(c), int(i)), f"A{int(c):02d}/{int(i):03d}"), "class_idx": int(c),
             "expert_score": float(score)}
            for subset in ("train", "test")
            for c, i, score in self.rows(subset)
        ]  # fmt: skip
        frame = pl.DataFrame(table, schema={"sample_id": pl.String, "class_idx": pl.Int64, "expert_score": pl.Float64})
        return score_range_problems(frame, read_score_ranges(ranges))

    def score_ranges(self) -> dict[str, tuple[float, float]]:
        """``score_ranges.json``: action id and class number -> (min, max)."""
        data = json.loads((self.root / "score_ranges.json").read_text(encoding="utf-8"))
        return {key: (float(lo), float(hi)) for key, (lo, hi) in data.items()}

    # ------------------------------------------------------------ whole-export check

    def missing_files(self, *, views: Sequence[int] = (1, 2)) -> list[str]:
        """Files FLEX would open for some row of either list but that do not exist (empty when complete).

        For every row of the train and test lists: the ``frame_length`` JPEGs of each view in
        ``views`` (FLEX reads View-1 and View-2), the skeleton CSV and the EMG CSV. Test rows
        also need train rows of the same class (FLEX draws exemplars from them).
        """
        problems = []
        train_classes = {int(row[0]) for row in self.rows("train")}
        for subset in ("train", "test"):
            for class_f, index_f, _score in self.rows(subset):
                class_idx, index = int(class_f), int(index_f)
                paths = [p for view in views for p in self.frame_paths(class_idx, index, view)]
                paths += [self.skeleton_path(class_idx, index), self.emg_path(class_idx, index)]
                absent = [p for p in paths if not p.is_file()]
                if absent:
                    problems.append(
                        f"{subset} row class {class_idx} index {index}: {len(absent)} files missing, e.g. {absent[0]}"
                    )
                if subset == "test" and class_idx not in train_classes:
                    problems.append(
                        f"test row class {class_idx} index {index}: no train row of that class to compare to"
                    )
        return problems


def flex21_to_ntu25(joints: np.ndarray) -> np.ndarray:
    """(T, 21, 3) FLEX joints -> (T, 25, 3) NTU joints (:data:`NTU25_FROM_FLEX21`), in float64."""
    weights = np.zeros((len(NTU25_FROM_FLEX21), FLEX_N_JOINTS), dtype=np.float64)
    for k, sources in enumerate(NTU25_FROM_FLEX21):
        for j, w in sources.items():
            weights[k, j] = w
    return np.einsum("kj,tjc->tkc", weights, np.asarray(joints, dtype=np.float64))


def ntu_normalise(ntu: np.ndarray) -> np.ndarray:
    """FLEX's skeleton normalisation, in float32: minus the hip (joint 0), over the hip-to-spine-mid length + 1e-6."""
    data = np.asarray(ntu, dtype=np.float32)
    centred = data - data[..., _NTU_HIP : _NTU_HIP + 1, :]
    length = np.linalg.norm(centred[..., _NTU_SPINE_MID, :], axis=-1)[..., None, None]
    return centred / (length + np.float32(_NTU_EPSILON))


def flex_skeleton_tensor(joints: np.ndarray) -> np.ndarray:
    """(T, 21, 3) joints -> FLEX's float32 (3, T, 25, 1) skeleton tensor."""
    return np.ascontiguousarray(ntu_normalise(flex21_to_ntu25(joints)).transpose(2, 0, 1)[..., None])
