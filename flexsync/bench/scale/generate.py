"""The raw root the scale benchmark registers: the flex-size preset, generated or reused, cut to N recordings."""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flexsync.raw.layout import RECORDINGS_DIR, scan_recordings
from flexsync.synth.options import ALL_ACTIONS, SynthOptions, preset_options

__all__ = ["PRESET", "RawSet", "flex_size_options", "prepare_raw"]

PRESET = "flex-size"


@dataclass(frozen=True)
class RawSet:
    """The raw root the sensor scans: exactly ``keys`` are complete recordings in it."""

    root: Path
    keys: list[str]
    source: Path  # where the recordings were generated or found
    generated: bool
    generate_s: float | None  # wall time of generating ``source`` (None when reused)
    source_recordings: int
    raw_bytes: int  # bytes of ``keys``' folders

    def to_dict(self) -> dict:
        return {
            "root": str(self.root),
            "source": str(self.source),
            "generated": self.generated,
            "generate_s": self.generate_s,
            "source_recordings": self.source_recordings,
            "recordings": len(self.keys),
            "raw_bytes": self.raw_bytes,
        }


def flex_size_options(n_recordings: int, *, look: str, seed: int) -> SynthOptions:
    """The flex-size preset with the fewest subjects that give ``n_recordings`` (760: the preset itself)."""
    subjects = math.ceil(n_recordings / len(ALL_ACTIONS))
    actions = ALL_ACTIONS[: min(len(ALL_ACTIONS), n_recordings)]
    return preset_options(PRESET, subjects=subjects, actions=actions, look=look, seed=seed)


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link every file of ``source`` under ``target`` (copy across file systems)."""
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            _link_file(path, destination)


def _subset(source: Path, keys: list[str], target: Path) -> None:
    """A raw root at ``target`` holding the root files of ``source`` and only ``keys``' recordings.

    Hard links, not symlinks: the manifest reader refuses files that resolve outside the raw root.
    Each recording is linked into a hidden ``.tmp-<key>`` folder and renamed into place, as recorders do.
    """
    for path in source.iterdir():
        if path.is_file():
            _link_file(path, target / path.name)
    for key in keys:
        folder = source / RECORDINGS_DIR / key
        staging = target / RECORDINGS_DIR / f".tmp-{key}"
        _link_tree(folder, staging)
        staging.rename(target / RECORDINGS_DIR / key)


def _link_file(path: Path, destination: Path) -> None:
    """Hard-link ``path`` to ``destination`` (a copy across file systems)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(path, destination)
    except OSError:
        shutil.copy2(path, destination)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def prepare_raw(
    n_recordings: int,
    workdir: Path,
    *,
    reuse: Path | None,
    look: str,
    seed: int,
    workers: int,
    status: Callable[[str], None],
) -> RawSet:
    """Generate (or reuse) the flex-size recordings and return a raw root with the first ``n_recordings``."""
    from flexsync.synth.dataset import generate_dataset

    started, generated = time.perf_counter(), reuse is None
    if reuse is None:
        source = workdir / "generated" / "raw"
        options = flex_size_options(n_recordings, look=look, seed=seed)
        status(f"generating {n_recordings} recordings ({PRESET}, {look} look, {workers} workers)...")
        generate_dataset(source, workdir / "generated" / "truth", options, workers=workers)
    else:
        source = Path(reuse)
    generate_s = time.perf_counter() - started if generated else None
    available = scan_recordings(source).keys
    if len(available) < n_recordings:
        raise ValueError(
            f"{source} holds {len(available)} complete recordings, fewer than the {n_recordings} asked for"
        )
    keys = available[:n_recordings]
    root = source
    if len(available) > n_recordings:
        root = workdir / "raw"
        _subset(source, keys, root)
    raw_bytes = sum(_folder_bytes(source / RECORDINGS_DIR / key) for key in keys)
    return RawSet(root, keys, source, generated, generate_s, len(available), raw_bytes)
