"""Benchmark (not a test): write 500 frames of 256x455x3 uint8 to Zarr, uncompressed vs zstd(1), zstd(3).

Frames are real footage (nasa_13013.mp4, stream 3, scaled with swscale AREA to 455x256, looped
to 500 frames) so compression ratios are realistic. Writes go through ``ChunkedAppender``
(16-frame chunks) one frame at a time, exactly as an ingest would, inside ``atomic_directory``.

Run: ``.venv/bin/python tests/storage/bench_frame_write.py [--repeats 3] [--out DIR]``;
prints one JSON object (MB = 1e6 bytes of raw frame data). No fsync: this measures encoding and
the page cache, which is what an ingest waits for; the last partial chunk is stored whole, so
uncompressed disk use is a little above the raw size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from flexsync.storage.atomic import atomic_directory
from flexsync.storage.zarr_io import ChunkedAppender, create_array, open_group_for_write

N_FRAMES, HEIGHT, WIDTH, CHUNK = 500, 256, 455, 16
VIDEO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "nasa_13013.mp4"


def load_frames(path: Path = VIDEO) -> np.ndarray:
    """500 real frames as uint8 (500, 256, 455, 3)."""
    out = np.empty((N_FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)
    with av.open(str(path)) as container:
        stream = container.streams.video[1]  # file stream index 3: 29.97 fps, 480 wide
        reformatter = av.video.reformatter.VideoReformatter()
        decoded = []
        for frame in container.decode(stream):
            small = reformatter.reformat(frame, width=WIDTH, height=HEIGHT, format="rgb24", interpolation="AREA")
            decoded.append(small.to_ndarray())
    for i in range(N_FRAMES):
        out[i] = decoded[i % len(decoded)]
    return out


def write_once(frames: np.ndarray, final: Path, compressor: str | None, level: int) -> tuple[float, int]:
    """Seconds to write and commit a new group at ``final``, and its bytes on disk."""
    start = time.perf_counter()
    with atomic_directory(final) as tmp:
        group = open_group_for_write(tmp, {"kind": "video"})
        array = create_array(
            group,
            "frames",
            shape=(0, HEIGHT, WIDTH, 3),
            dtype="uint8",
            chunks=(CHUNK, HEIGHT, WIDTH, 3),
            compressor=compressor,
            zstd_level=level,
        )
        with ChunkedAppender(array) as out:
            for frame in frames:
                out.append(frame[None])
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in final.rglob("*") if p.is_file())
    return seconds, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="folder on the disk to test (default: a temp dir)")
    args = parser.parse_args(argv)
    frames = load_frames()
    raw_mb = frames.nbytes / 1e6
    results = {
        "frames": N_FRAMES,
        "shape": [HEIGHT, WIDTH, 3],
        "chunk_frames": CHUNK,
        "raw_mb": round(raw_mb, 1),
        "repeats": args.repeats,
        "runs": {},
    }
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        for name, compressor, level in [("none", None, 0), ("zstd1", "zstd", 1), ("zstd3", "zstd", 3)]:
            times, size = [], 0
            for repeat in range(args.repeats):
                final = Path(tmp) / f"{name}_{repeat}.zarr"
                seconds, size = write_once(frames, final, compressor, level)
                times.append(seconds)
            median = statistics.median(times)
            results["runs"][name] = {
                "median_s": round(median, 3),
                "mb_per_s": round(raw_mb / median, 1),
                "disk_mb": round(size / 1e6, 1),
                "ratio": round(frames.nbytes / size, 2),
            }
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
