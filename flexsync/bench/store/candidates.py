"""The ways of storing frames that are compared: Zarr arrays (zstd, H.264 GOPs) and one file per frame.

Every candidate writes one input's frames in the store's two layouts (:class:`Layouts`), reads
them all back for the fidelity figures, and offers readers of one 103-frame clip for the loader
passes: ``loader`` for every candidate, ``chunk`` for Zarr candidates, and for H.264 the ``yuv``
diagnostic floor (:func:`decode_h264_yuv_only`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import zarr
from numcodecs import Zstd
from PIL import Image
from zarr.codecs import ZstdCodec

from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.storage.video_codec import DEFAULT_CRF, DEFAULT_PRESET, H264Codec, chunk_bitstream, decode_frames

__all__ = [
    "CLIP_FRAMES",
    "DEFAULT_CANDIDATE",
    "GOP_FRAMES",
    "REFERENCE",
    "Candidate",
    "FrameCodec",
    "FrameFileCandidate",
    "Layouts",
    "ZarrCandidate",
    "build_candidates",
    "candidate_names",
    "decode_h264_yuv_only",
    "files_under",
]

DEFAULT_CANDIDATE = f"h264 crf{DEFAULT_CRF}"  # the store's default (PipelineSettings.frame_crf)
REFERENCE = "flex jpeg"  # FLEX's own JPEG folders: what the targets compare against
CLIP_FRAMES = 103  # frames of a sample-view clip: one chunk of the samples layout
GOP_FRAMES = 16  # frames of a chunk of the recordings layout
PIL_JPEG_QUALITY = 95  # flexsync.exports.flex's default jpeg_quality

Reader = Callable[[int], object]  # reads clip ``index`` of the samples layout


@dataclass
class Layouts:
    """The frames of one input as the store holds them: all frames, and the samples' clips."""

    frames: np.ndarray
    clip_starts: list[int]
    clip_frames: int
    gop_frames: int

    def clip(self, index: int) -> np.ndarray:
        start = self.clip_starts[index]
        return self.frames[start : start + self.clip_frames]

    def clips(self) -> np.ndarray:
        return np.stack([self.clip(i) for i in range(len(self.clip_starts))])


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder``, sorted (frame files sort in frame order)."""
    return sorted(p for p in folder.rglob("*") if p.is_file())


def decode_h264_yuv_only(data: bytes) -> int:
    """Diagnostic floor: a ``flexsync.h264`` chunk decoded to YUV frames, no RGB conversion; the frame count."""
    _n, _height, _width, bitstream = chunk_bitstream(data)
    ctx = av.CodecContext.create("h264", "r")
    ctx.thread_count = 1
    packets = [*ctx.parse(bitstream), *ctx.parse(None), None]  # parse(None) flushes; decode(None) drains
    return sum(1 for packet in packets for _frame in ctx.decode(packet))


class ZarrCandidate:
    """Frames in Zarr v3 arrays with one codec chain, in the store's two layouts."""

    kind = "zarr"

    def __init__(self, name: str, codec: str, crf: int | None = None) -> None:
        self.name, self.codec, self.crf = name, codec, crf

    def describe(self) -> str:
        if self.codec == "zstd":
            return "Zarr, bytes + zstd level 1 (lossless)"
        return f"Zarr, flexsync.h264 CRF {self.crf} {DEFAULT_PRESET}, one closed GOP per chunk"

    def _codecs(self) -> dict[str, Any]:
        if self.codec == "zstd":
            return {"compressors": (ZstdCodec(level=1, checksum=False),), "filters": ()}
        return {"serializer": H264Codec(crf=self.crf), "compressors": None, "filters": ()}

    def _create(self, folder: Path, shape: tuple[int, ...], chunks: tuple[int, ...]) -> zarr.Array:
        return zarr.create_array(
            store=str(folder),
            shape=shape,
            dtype="uint8",
            chunks=chunks,
            fill_value=0,
            chunk_key_encoding={"name": "default", "separator": "."},
            config={"write_empty_chunks": True},
            **self._codecs(),
        )

    def write_recording(self, folder: Path, layouts: Layouts) -> None:
        frames = layouts.frames
        array = self._create(folder, frames.shape, (layouts.gop_frames, *frames.shape[1:]))
        array[...] = frames

    def write_samples(self, folder: Path, layouts: Layouts) -> None:
        n = len(layouts.clip_starts)
        shape = (n, layouts.clip_frames, *layouts.frames.shape[1:])
        array = self._create(folder, shape, (1, *shape[1:]))
        for i in range(n):  # one chunk per sample-view, written as the samples asset writes it
            array[i] = layouts.clip(i)

    def read_all(self, folder: Path) -> np.ndarray:
        data = zarr.open_array(str(folder), mode="r")[...]
        return data.reshape(-1, *data.shape[-3:])

    def readers(self, folder: Path, _layouts: Layouts) -> dict[str, Reader]:
        """``loader``: ZarrRowReader as the training loaders use it; ``chunk``: the codec on the chunk file."""
        reader = ZarrRowReader(folder.parent)
        rel = folder.name
        clip_shape = reader.info(rel).shape[1:]

        def loader(index: int) -> np.ndarray:
            return reader.read_rows(rel, index, index + 1)

        def chunk_bytes(index: int) -> bytes:
            return (folder / f"c.{index}.0.0.0.0").read_bytes()

        if self.codec == "zstd":
            zstd = Zstd()

            def chunk(index: int) -> np.ndarray:  # what ZarrRowReader's zstd fast path does
                out = np.empty(clip_shape, dtype=np.uint8)
                zstd.decode(chunk_bytes(index), out=out)
                return out

            return {"loader": loader, "chunk": chunk}
        return {
            "loader": loader,
            "chunk": lambda index: decode_frames(chunk_bytes(index)),
            "yuv": lambda index: decode_h264_yuv_only(chunk_bytes(index)),
        }


@dataclass
class FrameCodec:
    """A per-frame image codec: ``encode(frame) -> bytes``, ``read(path) -> image``, ``array(image)``."""

    name: str
    describe: str
    extension: str
    encode: Callable[[np.ndarray], bytes]
    read: Callable[[Path], Any]
    array: Callable[[Any], np.ndarray] = np.asarray


class FrameFileCandidate:
    """One file per frame: per clip a folder of ``img_00001.<ext>`` .. as FLEX's folders are laid out."""

    kind = "frames"

    def __init__(self, codec: FrameCodec) -> None:
        self.codec = codec
        self.name = codec.name
        self._encoded: list[bytes] = []

    def describe(self) -> str:
        return self.codec.describe

    def write_recording(self, folder: Path, layouts: Layouts) -> None:
        """Encode every frame once (kept for the samples layout, whose frames are the same)."""
        folder.mkdir(parents=True)
        self._encoded = []
        for i, frame in enumerate(layouts.frames):
            data = self.codec.encode(frame)
            (folder / self._file_name(i)).write_bytes(data)
            self._encoded.append(data)

    def write_samples(self, folder: Path, layouts: Layouts) -> None:
        """The clips' folders, from the frames encoded by :meth:`write_recording` (not timed as ingest)."""
        for clip, start in enumerate(layouts.clip_starts):
            target = folder / f"{clip:05d}"
            target.mkdir(parents=True)
            for i in range(layouts.clip_frames):
                (target / self._file_name(i)).write_bytes(self._encoded[start + i])

    def _file_name(self, index: int) -> str:
        return f"img_{index + 1:05d}.{self.codec.extension}"

    def read_all(self, folder: Path) -> np.ndarray:
        return np.stack([self.codec.array(self.codec.read(p)) for p in files_under(folder)])

    def readers(self, folder: Path, layouts: Layouts) -> dict[str, Reader]:
        """``loader``: the clip's files read one by one, as the FLEX code reads its folders."""
        names = [self._file_name(i) for i in range(layouts.clip_frames)]
        read = self.codec.read

        def loader(index: int) -> list[Any]:
            clip = folder / f"{index:05d}"
            return [read(clip / name) for name in names]

        return {"loader": loader}


Candidate = ZarrCandidate | FrameFileCandidate


def _pil_codec() -> FrameCodec:
    """FLEX's JPEG folders: PIL at quality 95 (``flexsync.exports.flex._write_frames``), read with PIL."""

    def encode(frame: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="JPEG", quality=PIL_JPEG_QUALITY)
        return buffer.getvalue()

    def read(path: Path) -> Any:
        with Image.open(path) as image:  # what the FLEX / CoRe dataset code does per frame
            return image.convert("RGB")

    return FrameCodec(REFERENCE, f"FLEX JPEG folders: PIL q{PIL_JPEG_QUALITY}, read with PIL", "JPG", encode, read)


def _imagecodecs_codecs() -> tuple[list[FrameCodec], list[str]]:
    """JPEG q90/q95, AVIF and JPEG XL from imagecodecs (single-threaded), and lines for the missing ones."""
    try:
        import imagecodecs as ic  # optional: the bench extra
    except ImportError:
        return [], ["imagecodecs is not installed (pip install 'flexsync[bench]'): jpeg, avif, jxl skipped"]

    def reader(decode: Callable[[bytes], np.ndarray]) -> Callable[[Path], np.ndarray]:
        return lambda path: decode(path.read_bytes())

    wanted = [
        ("JPEG8", "jpeg q90", "imagecodecs JPEG (libjpeg-turbo) q90", "jpg",
         lambda f: ic.jpeg8_encode(f, level=90), ic.jpeg8_decode),
        ("JPEG8", "jpeg q95", "imagecodecs JPEG (libjpeg-turbo) q95", "jpg",
         lambda f: ic.jpeg8_encode(f, level=95), ic.jpeg8_decode),
        ("AVIF", "avif q80", "imagecodecs AVIF (libavif) quality 80, speed 8", "avif",
         lambda f: ic.avif_encode(f, level=80, speed=8, numthreads=1), lambda b: ic.avif_decode(b, numthreads=1)),
        ("JPEGXL", "jxl d1.0", "imagecodecs JPEG XL (libjxl) distance 1.0, effort 3", "jxl",
         lambda f: ic.jpegxl_encode(f, distance=1.0, effort=3, numthreads=1),
         lambda b: ic.jpegxl_decode(b, numthreads=1)),
    ]  # fmt: skip
    codecs, missing = [], []
    for attr, name, describe, extension, encode, decode in wanted:
        if getattr(getattr(ic, attr, None), "available", False):
            codecs.append(FrameCodec(name, describe, extension, encode, reader(decode)))
        else:
            missing.append(f"imagecodecs {ic.__version__} lacks {attr}: {name} skipped")
    return codecs, missing


def build_candidates() -> tuple[list[Candidate], list[str]]:
    """Every candidate this machine can run, and one line per candidate skipped (library missing)."""
    zarr_candidates: list[Candidate] = [
        ZarrCandidate("zstd-1", "zstd"),
        ZarrCandidate(DEFAULT_CANDIDATE, "h264", DEFAULT_CRF),
        ZarrCandidate("h264 crf18", "h264", 18),
        ZarrCandidate("h264 crf23", "h264", 23),
    ]
    codecs, skipped = _imagecodecs_codecs()
    return [*zarr_candidates, *(FrameFileCandidate(c) for c in [*codecs, _pil_codec()])], skipped


def candidate_names() -> list[str]:
    """Names of the candidates that run on this machine, in table order."""
    return [c.name for c in build_candidates()[0]]
