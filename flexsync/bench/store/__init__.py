"""Frame storage benchmark: bytes, fidelity, ingest CPU and loader speed of each way to keep frames.

The store keeps decoded frames (455x256 uint8 RGB) twice: per recording in chunks of 16 frames and
per repetition sample as one 103-frame clip per view. This package measures, side by side in one
run and one process, what each candidate way of storing them costs:

- ``zstd-1``: lossless, the bytes codec + zstd level 1 (``frame_codec="zstd"``);
- ``h264 crf16`` (the store's default, ``video_codec.DEFAULT_CRF``) / ``crf18`` / ``crf23``:
  :class:`flexsync.storage.video_codec.H264Codec`, each chunk one closed GOP (16 frames in the
  recordings layout, 103 in the samples layout);
- per-frame image codecs through ``imagecodecs`` (JPEG q90 / q95, AVIF, JPEG XL, when installed):
  their encode / decode functions called per frame, one file per frame, which is what a Zarr array
  with 1-frame chunks and that codec would hold (not measured through zarr);
- ``flex jpeg``: the FLEX / CoRe folders, one JPEG per frame written by PIL at quality 95 as
  ``flexsync.exports.flex`` writes them, read as the FLEX dataset code reads them
  (``Image.open(path).convert("RGB")`` frame by frame).

Every candidate gets the same frames: those decoded from each input video at the stored size
(swscale AREA, as the pipeline does). Per candidate and layout: bytes per frame (file sizes), PSNR
(RGB, from the MSE over all frames, and the worst frame) and SSIM (luma) against those frames
(:mod:`flexsync.frame_quality`), ingest CPU seconds per frame (encode + write,
``time.process_time``: every thread of the process), and on the samples layout the loader's
103-frame clips per second on one core: a cold pass (every file of the candidate evicted from the
page cache with ``posix_fadvise(DONTNEED)`` first; directory entries and inodes stay cached) then a
warm pass. Zarr candidates are read two ways: ``loader``
(:class:`flexsync.storage.chunk_reader.ZarrRowReader`, what the training loaders call; it decodes
zstd chunks itself and hands other codecs to zarr-python) and ``chunk`` (the chunk file read and
decoded by the codec directly, what a loader that knows the codec does). H.264 gets one diagnostic
reader more, ``yuv`` (decoded frames left in YUV: the decoder's own floor, not usable as a
loader). Loader passes run in rounds over all candidates (cold, then warm, per candidate) and the
fastest pass of each kind counts, so slow drifts of a shared machine's load hit every candidate
alike.

Figures are extrapolated to FLEX's size (760 recordings, 37 h of video summed over the 5 views at
the generated cinema cameras' frame rate, 7,512 samples x 5 views x 103 frames) and the default
codec is checked against three targets on the realistic generated frames: store bytes <= 0.25x
the FLEX JPEG folders, PSNR >= 40 dB, cold loader >= 2x FLEX's JPEG loader in clips/s per core.

Modules: ``inputs`` (the frames measured), ``candidates`` (the ways of storing them and their
readers), ``measure`` (bytes, fidelity, ingest, loader passes), ``targets`` (FLEX's size and the
targets), ``report`` (the result, its JSON and tables), ``run`` (``run_store_benchmark``).
docs/frame-storage.md has the figures of a run.
"""

from __future__ import annotations

from flexsync.bench.store.candidates import (
    DEFAULT_CANDIDATE,
    REFERENCE,
    build_candidates,
    candidate_names,
    decode_h264_yuv_only,
)
from flexsync.bench.store.inputs import REAL_VIDEO, FrameInput, load_video_frames
from flexsync.bench.store.report import StoreBenchmark
from flexsync.bench.store.run import run_store_benchmark
from flexsync.bench.store.targets import FlexSize, check_targets, extrapolate

__all__ = [
    "DEFAULT_CANDIDATE",
    "REAL_VIDEO",
    "REFERENCE",
    "FlexSize",
    "FrameInput",
    "StoreBenchmark",
    "build_candidates",
    "candidate_names",
    "check_targets",
    "decode_h264_yuv_only",
    "extrapolate",
    "load_video_frames",
    "run_store_benchmark",
]
