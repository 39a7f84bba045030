"""Read a FLEX / CoRe export the way the FLEX training code does, without torch.

This is an independent reader, written from the FLEX dataset contract and not from our writer
(it imports nothing from :mod:`flexsync.exports.flex`), so that tests of the export and the
loader benchmark check the files against what FLEX expects rather than against our own code.
It makes the same library calls as FLEX's dataset class: ``scipy.io.loadmat`` of the Split_4
lists, PIL ``Image.open`` of ``A%02d/%03d/View-k/img_%05d.JPG``, pandas ``read_csv`` of the
skeleton (``header=0``, reshaped to (-1, 21, 3)) and of the EMG (``header=None``, with the
class-dependent left/right column picks of :data:`FLEX_EMG_PICKS`).

Reading JPEG folders is slow (about 136 ms per 103-frame 455x256 clip on 2 cores): use it to
check and benchmark the export, not to train; flexsync.loaders reads the Zarr samples directly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from flexsync.errors import InputFileError, MissingInputError

__all__ = ["FLEX_EMG_PICKS", "FLEX_N_JOINTS", "FlexExport"]

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
