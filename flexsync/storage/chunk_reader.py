"""Low-level reads shared by the loaders: rows of Zarr v3 arrays straight into numpy buffers.

Why not plain ``zarr``: a loader reads one sample (a 103-frame clip per view, a few small arrays)
millions of times. zarr-python 3 goes through its asyncio machinery for each read and allocates a
fresh array every time; for a (103, 256, 455, 3) clip stored as one zstd chunk that costs about
3x the decode itself (26 ms against 8 ms measured here). Our stores are simple: arrays are
chunked along axis 0 only, with the ``bytes`` codec (+ ``zstd``), and chunk files named
``c.<i>.0...`` (see :mod:`flexsync.storage.zarr_io`). For such arrays this module reads the
array's ``zarr.json`` once and decodes chunk files itself, into a caller's preallocated ``out=``
buffer when given. Anything else (sharding, other codecs, nested chunk keys) falls back to
zarr-python, so correctness never depends on the fast path.

Handles are per process: a :class:`ZarrRowReader` pickles as its configuration only and reopens
in each DataLoader worker (no file handles or event loops cross a fork).

H.264 chunks are decoded by the reader's ``decoder`` (PyAV by default, or torchcodec:
:mod:`flexsync.storage.decoder_choice`); :meth:`ZarrRowReader.read_rows_tensor` returns rows as a
torch tensor on a device, decoded there when torchcodec decodes (NVDEC on CUDA).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.errors import InputFileError, MissingInputError
from flexsync.storage.decoder_choice import resolve_decoder
from flexsync.storage.video_codec import CODEC_NAME, decode_chunk, decode_frames_tensor

__all__ = ["ArrayInfo", "ZarrRowReader"]

logger = logging.getLogger(__name__)

_DTYPES = {
    "bool": "bool",
    "int8": "i1",
    "int16": "i2",
    "int32": "i4",
    "int64": "i8",
    "uint8": "u1",
    "uint16": "u2",
    "uint32": "u4",
    "uint64": "u8",
    "float32": "f4",
    "float64": "f8",
}


@dataclass(frozen=True)
class ArrayInfo:
    """What the fast path needs from an array's ``zarr.json``; ``direct`` False means use zarr."""

    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    chunk_rows: int
    fill_value: Any
    zstd: bool
    direct: bool
    h264: bool = False  # each chunk one H.264 GOP (flexsync.storage.video_codec)

    @property
    def row_shape(self) -> tuple[int, ...]:
        return self.shape[1:]


def _fill_value(raw: Any, dtype: np.dtype) -> Any:
    if isinstance(raw, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(raw, 0)
    return dtype.type(raw) if raw is not None else dtype.type(0)


def _read_array_info(path: Path) -> ArrayInfo:
    meta_path = path / "zarr.json"
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise MissingInputError("array metadata zarr.json missing: array not written?", path=path) from None
    except ValueError as exc:
        raise InputFileError(f"zarr.json is not valid JSON ({exc})", path=meta_path) from None
    if meta.get("node_type") != "array":
        raise InputFileError(f"expected a Zarr array, found node_type {meta.get('node_type')!r}", path=path)
    shape = tuple(int(s) for s in meta["shape"])
    type_name = meta.get("data_type")
    codecs = meta.get("codecs", [])
    names = [c.get("name") for c in codecs]
    if type_name not in _DTYPES:
        dtype = np.dtype("u1")
        direct = False
    else:
        endian = "<"
        if names and names[0] == "bytes":
            endian = {"little": "<", "big": ">"}[codecs[0].get("configuration", {}).get("endian", "little")]
        dtype = np.dtype(endian + _DTYPES[type_name]) if type_name != "bool" else np.dtype(bool)
        direct = True
    grid = meta.get("chunk_grid", {})
    chunks = tuple(int(c) for c in grid.get("configuration", {}).get("chunk_shape", ()))
    encoding = meta.get("chunk_key_encoding", {})
    separator = encoding.get("configuration", {}).get("separator", "/")
    direct = (
        direct
        and grid.get("name") == "regular"
        and len(chunks) == len(shape)
        and len(shape) >= 1
        and chunks[1:] == shape[1:]  # chunked along axis 0 only
        and encoding.get("name") == "default"
        and separator == "."
        and names in (["bytes"], ["bytes", "zstd"], [CODEC_NAME])
        and not meta.get("storage_transformers")
    )
    return ArrayInfo(
        path=path,
        shape=shape,
        dtype=dtype,
        chunk_rows=chunks[0] if chunks else 1,
        fill_value=_fill_value(meta.get("fill_value"), dtype),
        zstd=names == ["bytes", "zstd"],
        direct=direct,
        h264=names == [CODEC_NAME],
    )


class ZarrRowReader:
    """Read rows (axis-0 ranges) of arrays under one root folder, caching metadata per process.

    Parameters
    ----------
    root : path
        Folder holding Zarr groups (the store root); array paths are relative to it, e.g. a
        samples group's ``Store.samples_member(key)`` followed by ``/video/cam1``.
    cache_arrays : int
        How many small arrays (see :meth:`read_cached`) to keep decoded in memory per process.
    decoder : {"pyav", "torchcodec", "auto"}
        Decoder of H.264 chunks (same frames either way); ``"auto"`` is resolved here, once
        (torchcodec when it loads, else PyAV). ImportError if ``"torchcodec"`` does not load.
    """

    def __init__(self, root: Path | str, *, cache_arrays: int = 256, decoder: str = "pyav") -> None:
        self.root = Path(root)
        self.cache_arrays = int(cache_arrays)
        self.decoder = resolve_decoder(decoder)
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._infos: dict[str, ArrayInfo] = {}
        self._attrs: dict[str, dict[str, Any]] = {}
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._zstd: Any = None
        self._zarr_arrays: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Only the configuration crosses a pickle (DataLoader workers): handles reopen lazily.
        return {"root": self.root, "cache_arrays": self.cache_arrays, "decoder": self.decoder}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.root = state["root"]
        self.cache_arrays = state["cache_arrays"]
        self.decoder = state.get("decoder", "pyav")
        self._reset()

    def _check_process(self) -> None:
        if os.getpid() != self._pid:  # forked without pickling: drop the parent's state
            self._reset()

    def info(self, rel: str) -> ArrayInfo:
        """Metadata of the array at ``rel`` (relative to the root), read once per process."""
        self._check_process()
        found = self._infos.get(rel)
        if found is None:
            found = self._infos[rel] = _read_array_info(self.root / rel)
        return found

    def has_array(self, rel: str) -> bool:
        """True if an array exists at ``rel``."""
        return rel in self._infos or (self.root / rel / "zarr.json").is_file()

    def group_attrs(self, rel: str) -> dict[str, Any]:
        """Attributes of the group at ``rel`` (read once per process)."""
        self._check_process()
        found = self._attrs.get(rel)
        if found is None:
            meta_path = self.root / rel / "zarr.json"
            try:
                meta = json.loads(meta_path.read_text())
            except FileNotFoundError:
                raise MissingInputError("no Zarr v3 group here (zarr.json missing)", path=self.root / rel) from None
            found = self._attrs[rel] = dict(meta.get("attributes", {}))
        return found

    def read_rows(self, rel: str, start: int, stop: int, *, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``start:stop`` of the array at ``rel``, decoded into ``out`` when given.

        ``out`` must be C-contiguous with shape ``(stop - start, *row_shape)`` and the array's
        dtype (native byte order); reusing one buffer per worker avoids first-touch page faults.

        Raises
        ------
        IndexError
            If the row range is outside the array.
        InputFileError
            If a chunk file cannot be decoded (names the file).
        """
        info = self.info(rel)
        n_rows = info.shape[0]
        if not 0 <= start <= stop <= n_rows:
            raise IndexError(f"{info.path}: rows {start}:{stop} outside the array's {n_rows} rows")
        shape = (stop - start, *info.row_shape)
        if out is None:
            out = np.empty(shape, dtype=info.dtype.newbyteorder("="))
        elif out.shape != shape or not out.flags.c_contiguous or out.dtype != info.dtype.newbyteorder("="):
            raise ValueError(
                f"{info.path}: out buffer {out.shape} {out.dtype} does not fit rows {start}:{stop} "
                f"of shape {shape} {info.dtype} (C-contiguous)"
            )
        if stop == start:
            return out
        if not info.direct:
            out[...] = self._zarr_array(rel)[start:stop]
            return out
        rows = info.chunk_rows
        for chunk in range(start // rows, (stop - 1) // rows + 1):
            c0 = chunk * rows
            lo, hi = max(start, c0), min(stop, c0 + rows)
            target = out[lo - start : hi - start]
            if lo == c0 and hi == c0 + rows:
                self._decode_into(info, chunk, target)
            else:
                decoded = self._decode(info, chunk)
                target[...] = info.fill_value if decoded is None else decoded[lo - c0 : hi - c0]
        return out

    def read_rows_tensor(self, rel: str, start: int, stop: int, *, device: str = "cpu") -> Any:
        """Rows ``start:stop`` of the array at ``rel`` as a torch tensor on ``device`` (imports torch).

        With torchcodec as the decoder, H.264 chunks are decoded on ``device`` and never visit host
        memory as frames; anything else is read by :meth:`read_rows` and copied to ``device``.
        """
        import torch

        info = self.info(rel)
        if not (info.h264 and info.direct and self.decoder == "torchcodec") or start == stop:
            return torch.from_numpy(self.read_rows(rel, start, stop)).to(device)
        if not 0 <= start <= stop <= info.shape[0]:
            raise IndexError(f"{info.path}: rows {start}:{stop} outside the array's {info.shape[0]} rows")
        rows, chunk_shape = info.chunk_rows, (info.chunk_rows, *info.row_shape)
        parts = []
        for chunk in range(start // rows, (stop - 1) // rows + 1):
            c0 = chunk * rows
            path = self._chunk_file(info, chunk)
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # never written: the fill value, as in zarr
                block = torch.full(chunk_shape, int(info.fill_value), dtype=torch.uint8, device=device)
            else:
                try:
                    block = decode_frames_tensor(raw, backend="torchcodec", device=device).reshape(chunk_shape)
                except (RuntimeError, ValueError, TypeError) as exc:
                    raise InputFileError(f"cannot decode Zarr chunk ({exc}); rewrite this array", path=path) from None
            parts.append(block[max(start, c0) - c0 : min(stop, c0 + rows) - c0])
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def read_cached(self, rel: str) -> np.ndarray:
        """The whole (small) array at ``rel``, decoded once per process and kept (LRU, read-only)."""
        self._check_process()
        found = self._cache.get(rel)
        if found is not None:
            self._cache.move_to_end(rel)
            return found
        info = self.info(rel)
        found = self.read_rows(rel, 0, info.shape[0])
        found.flags.writeable = False
        self._cache[rel] = found
        while len(self._cache) > self.cache_arrays:
            self._cache.popitem(last=False)
        return found

    def chunk_path(self, rel: str, chunk: int) -> Path:
        """File of chunk ``chunk`` (along axis 0) of the plain array at ``rel`` (may not exist)."""
        return self._chunk_file(self.info(rel), chunk)

    def _chunk_file(self, info: ArrayInfo, chunk: int) -> Path:
        return info.path / ("c." + ".".join([str(chunk)] + ["0"] * (len(info.shape) - 1)))

    def _decode_into(self, info: ArrayInfo, chunk: int, out: np.ndarray) -> None:
        """Decode a whole chunk straight into ``out``: zstd decodes into it, raw chunks are read into it."""
        path = self._chunk_file(info, chunk)
        if info.dtype != out.dtype:  # big-endian on disk: decode, then convert
            decoded = self._decode(info, chunk)
            out[...] = info.fill_value if decoded is None else decoded
            return
        try:
            with open(path, "rb", buffering=0) as file:
                if info.zstd:
                    self._codec().decode(file.read(), out=out)
                    return
                if info.h264:
                    decode_chunk(file.read(), out.shape, out=out, backend=self.decoder)
                    return
                n_read = file.readinto(memoryview(out).cast("B"))
        except FileNotFoundError:  # never written: reads as the fill value, as in zarr
            out[...] = info.fill_value
            return
        except (RuntimeError, ValueError, TypeError) as exc:
            raise InputFileError(f"cannot decode Zarr chunk ({exc}); rewrite this array", path=path) from None
        if n_read != out.nbytes:
            raise InputFileError(f"chunk file holds {n_read} bytes, expected {out.nbytes}", path=path)

    def _decode(self, info: ArrayInfo, chunk: int) -> np.ndarray | None:
        """One whole chunk as a (read-only) array, or None if its file was never written."""
        path = self._chunk_file(info, chunk)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        return self._decode_bytes(info, path, raw)

    def _decode_bytes(self, info: ArrayInfo, path: Path, raw: bytes) -> np.ndarray:
        chunk_shape = (info.chunk_rows, *info.row_shape)
        try:
            if info.h264:
                return decode_chunk(raw, chunk_shape, backend=self.decoder)
            data = self._codec().decode(raw) if info.zstd else raw
        except (RuntimeError, ValueError, TypeError) as exc:
            raise InputFileError(f"cannot decode Zarr chunk ({exc}); rewrite this array", path=path) from None
        decoded = np.frombuffer(data, dtype=info.dtype)
        if decoded.size != math.prod(chunk_shape):
            raise InputFileError(
                f"chunk holds {decoded.size} values, expected {math.prod(chunk_shape)} for chunk shape {chunk_shape}",
                path=path,
            )
        return decoded.reshape(chunk_shape)

    def _codec(self) -> Any:
        if self._zstd is None:
            from numcodecs import Zstd

            self._zstd = Zstd()
        return self._zstd

    def _zarr_array(self, rel: str) -> Any:
        found = self._zarr_arrays.get(rel)
        if found is None:
            import zarr
            from zarr.storage import LocalStore

            found = zarr.open_array(LocalStore(self.root / rel, read_only=True), mode="r", zarr_format=3)
            self._zarr_arrays[rel] = found
            logger.debug("%s: not a plain axis-0-chunked array, reading through zarr-python", self.root / rel)
        return found
