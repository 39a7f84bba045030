"""Loader benchmark: clips per second from the samples Zarr versus FLEX-style JPEG folders.

On the same samples, in one run and one process, it times:

- fast: what :class:`flexsync.loaders.FlexPairDataset` does in ``mode="fast"`` for the video of one
  item - per view, one zstd chunk decoded straight into a fresh uint8 (T, H, W, 3) array (also
  reported: into one reused buffer, the floor);
- jpeg: what the FLEX code does - per view, ``PIL.Image.open`` on T JPEGs and ``convert("RGB")``
  (which decodes), giving the list of images its transforms take;

and the bytes on disk of each for those clips. ``decoder`` chooses who decodes stored H.264 frames
(PyAV, torchcodec on the CPU, or auto: :mod:`flexsync.storage.decoder_choice`). The JPEG folders (the FLEX layout
``Axx/NNN/View-k/img_00001.JPG``, View-k = k-th of cam1..cam4, phone) are read from
``export_root`` when given, where missing folders are first written from the samples with PIL at
quality 95 (and counted). By default they are read from the store's ``flex`` export, which the
benchmark never writes into (an export is replaced whole by its asset): when that export lacks
some of the clips, all of them are written to a scratch folder instead and read from there.
Every pass is preceded by an untimed warm-up pass, so both sides read from the page cache
(dropping caches needs root); cold reads favour the Zarr side further (fewer, larger files).
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from flexsync.errors import InputFileError
from flexsync.loaders.flex_pair import read_sample_clip
from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.storage.store import Store

__all__ = ["FLEX_VIEW_ORDER", "LoaderBenchmark", "flex_clip_dir", "run_loader_benchmark"]

logger = logging.getLogger(__name__)

FLEX_VIEW_ORDER = ("cam1", "cam2", "cam3", "cam4", "phone")
# Clips/s against FLEX's JPEG folders, per core (issue target for stored H.264; the 10x of lossless
# frames read from the page cache no longer applies: decoding is the cost now, docs/frame-storage.md).
TARGET_RATIO = 2.0
JPEG_QUALITY = 95


@dataclass(frozen=True)
class _Clip:
    sample_id: str
    recording: str
    group: str  # the samples group relative to the store root
    row: int
    action: str
    action_sample_index: int


@dataclass
class LoaderBenchmark:
    """Figures of one benchmark run (clips of ``views`` views x ``frame_length`` frames)."""

    n_clips: int
    views: list[str]
    frame_length: int
    frame_shape: list[int]
    repeats: int
    fast_clips_per_s: float
    fast_reused_buffer_clips_per_s: float
    jpeg_clips_per_s: float
    zarr_bytes: int
    jpeg_bytes: int
    jpeg_files: int
    jpeg_folders_written: int
    decoder: str = "pyav"

    @property
    def ratio(self) -> float:
        return self.fast_clips_per_s / self.jpeg_clips_per_s

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "ratio": self.ratio,
            "bytes_ratio_jpeg_over_zarr": self.jpeg_bytes / self.zarr_bytes if self.zarr_bytes else None,
            "target_ratio": TARGET_RATIO,
            "summary": self.format(),
        }

    def format(self) -> str:
        h, w, _ = self.frame_shape
        return (
            f"{self.n_clips} clips x {len(self.views)} views x {self.frame_length} frames {w}x{h}: "
            f"zarr fast loader ({self.decoder}) {self.fast_clips_per_s:.1f} clips/s "
            f"(reused buffer {self.fast_reused_buffer_clips_per_s:.1f}), "
            f"PIL on JPEG folders {self.jpeg_clips_per_s:.1f} clips/s; ratio {self.ratio:.1f}x "
            f"(target >= {TARGET_RATIO:.0f}x). Bytes on disk: zarr {self.zarr_bytes / 1e6:.1f} MB, "
            f"JPEG {self.jpeg_bytes / 1e6:.1f} MB in {self.jpeg_files} files"
        )


def flex_clip_dir(export_root: Path | str, action: str, action_sample_index: int, view: str) -> Path:
    """FLEX folder of one sample and view: ``Axx/NNN/View-k`` (View-k = k-th of cam1..cam4, phone)."""
    return Path(export_root) / action / f"{action_sample_index:03d}" / f"View-{FLEX_VIEW_ORDER.index(view) + 1}"


def run_loader_benchmark(
    store: Store,
    export_root: Path | str | None = None,
    *,
    n_clips: int = 20,
    views: int = 2,
    repeats: int = 3,
    decoder: str = "pyav",
) -> dict:
    """Clips/s of the Zarr fast loader versus PIL on JPEG folders, and bytes of each.

    Parameters
    ----------
    store : Store
        Store with the samples groups and the sample index.
    export_root : path, optional
        Root of the FLEX layout, where missing clip folders are written. Default: the store's
        ``flex`` export if it holds every clip, else a scratch folder (module docstring).
    n_clips : int
        Samples to read (the first ones in (action, sample index) order).
    views : int
        Views per clip: the first ``views`` of cam1..cam4, phone.
    repeats : int
        Timed passes per side (median reported), each after the warm-up pass.
    decoder : {"pyav", "torchcodec", "auto"}
        Decoder of the store's H.264 frames (ImportError if torchcodec is asked for and does not load).

    Returns
    -------
    dict
        :meth:`LoaderBenchmark.to_dict`: clips/s of both sides, ``ratio``, bytes, ``summary``.
    """
    if not 1 <= views <= len(FLEX_VIEW_ORDER):
        raise ValueError(f"views must be 1..{len(FLEX_VIEW_ORDER)}, got {views}")
    if n_clips < 1 or repeats < 1:
        raise ValueError(f"n_clips and repeats must be >= 1, got {n_clips} and {repeats}")
    view_names = list(FLEX_VIEW_ORDER[:views])
    reader = ZarrRowReader(store.root, decoder=decoder)
    clips = _select_clips(store, reader, n_clips, view_names)
    frame_length = int(reader.group_attrs(clips[0].group)["frame_length"])
    if export_root is not None:
        return _benchmark(reader, clips, view_names, frame_length, Path(export_root), repeats)
    export = store.export_dir("flex")
    if not _missing_folders(export, clips, view_names, frame_length):
        return _benchmark(reader, clips, view_names, frame_length, export, repeats)
    logger.info("the store's FLEX export %s lacks some benchmark clips: writing them to a scratch folder", export)
    with tempfile.TemporaryDirectory(prefix="flexsync-bench-loader-") as scratch:
        return _benchmark(reader, clips, view_names, frame_length, Path(scratch), repeats)


def _benchmark(
    reader: ZarrRowReader,
    clips: list[_Clip],
    view_names: list[str],
    frame_length: int,
    export_root: Path,
    repeats: int,
) -> dict:
    written = _ensure_jpegs(reader, export_root, clips, view_names, frame_length)
    shape = reader.info(f"{clips[0].group}/video/{view_names[0]}").row_shape[1:]

    def fast_fresh() -> None:
        for clip in clips:
            for view in view_names:
                out = np.empty(reader.info(f"{clip.group}/video/{view}").row_shape, dtype=np.uint8)
                read_sample_clip(reader, clip.group, clip.row, view, out=out)

    buffer = np.empty((frame_length, *shape), dtype=np.uint8)

    def fast_reused() -> None:
        for clip in clips:
            for view in view_names:
                read_sample_clip(reader, clip.group, clip.row, view, out=buffer)

    def jpeg() -> None:
        from PIL import Image

        for clip in clips:
            for view in view_names:
                folder = flex_clip_dir(export_root, clip.action, clip.action_sample_index, view)
                frames = []
                for i in range(frame_length):
                    with Image.open(folder / f"img_{i + 1:05d}.JPG") as image:
                        frames.append(image.convert("RGB"))

    timings = {
        name: _median_time(fn, repeats) for name, fn in (("jpeg", jpeg), ("fresh", fast_fresh), ("reused", fast_reused))
    }
    zarr_bytes = sum(reader.chunk_path(f"{c.group}/video/{v}", c.row).stat().st_size for c in clips for v in view_names)
    jpeg_files = [
        flex_clip_dir(export_root, c.action, c.action_sample_index, v) / f"img_{i + 1:05d}.JPG"
        for c in clips
        for v in view_names
        for i in range(frame_length)
    ]
    result = LoaderBenchmark(
        n_clips=len(clips),
        views=view_names,
        frame_length=frame_length,
        frame_shape=list(shape),
        repeats=repeats,
        fast_clips_per_s=len(clips) / timings["fresh"],
        fast_reused_buffer_clips_per_s=len(clips) / timings["reused"],
        jpeg_clips_per_s=len(clips) / timings["jpeg"],
        zarr_bytes=zarr_bytes,
        jpeg_bytes=sum(p.stat().st_size for p in jpeg_files),
        jpeg_files=len(jpeg_files),
        jpeg_folders_written=written,
        decoder=reader.decoder,
    )
    logger.info("loader benchmark: %s", result.format())
    return result.to_dict()


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up: page cache, metadata caches, imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _select_clips(store: Store, reader: ZarrRowReader, n_clips: int, views: list[str]) -> list[_Clip]:
    path = store.training_path("sample_index.parquet")
    index = store.read_parquet(path, what="sample_index").select(
        "sample_id", "recording", "action", "action_sample_index"
    )
    clips: list[_Clip] = []
    for sample_id, recording, action, nnn in index.sort("action", "action_sample_index").iter_rows():
        group = store.samples_member(recording)
        attrs = reader.group_attrs(group)
        if any(v not in attrs.get("views", []) for v in views):
            continue
        sample_ids = list(attrs.get("sample_ids", []))
        if sample_id not in sample_ids:
            raise InputFileError(
                f"sample {sample_id} is in the index but not in sample_ids", path=store.samples_path(recording)
            )
        clips.append(_Clip(sample_id, recording, group, sample_ids.index(sample_id), action, int(nnn)))
        if len(clips) == n_clips:
            break
    if not clips:
        raise InputFileError(f"no sample has views {views}", path=path)
    return clips


def _missing_folders(export_root: Path, clips: list[_Clip], views: list[str], frame_length: int) -> list[Path]:
    """Clip folders of ``clips`` that ``export_root`` lacks (judged by their last frame)."""
    folders = [flex_clip_dir(export_root, c.action, c.action_sample_index, v) for c in clips for v in views]
    return [f for f in folders if not (f / f"img_{frame_length:05d}.JPG").is_file()]


def _ensure_jpegs(
    reader: ZarrRowReader, export_root: Path, clips: list[_Clip], views: list[str], frame_length: int
) -> int:
    """Write the FLEX JPEG folders that are missing (quality 95); return how many were written."""
    from PIL import Image

    written = 0
    for clip in clips:
        for view in views:
            folder = flex_clip_dir(export_root, clip.action, clip.action_sample_index, view)
            if (folder / f"img_{frame_length:05d}.JPG").is_file():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            frames = read_sample_clip(reader, clip.group, clip.row, view)
            for i, frame in enumerate(frames):
                Image.fromarray(frame).save(folder / f"img_{i + 1:05d}.JPG", quality=JPEG_QUALITY)
            written += 1
    return written
