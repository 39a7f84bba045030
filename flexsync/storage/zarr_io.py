"""Write and read flexsync Zarr v3 groups: fixed codecs, sorted attributes, whole-chunk appends.

Two things matter here beyond calling zarr-python. Bytes are deterministic: attributes are
normalised to plain JSON with sorted keys and non-finite floats refused, codecs are fixed, and
no timestamp is written anywhere, so the same data gives byte-identical ``zarr.json`` and chunk
files (which makes re-runs idempotent and lets the store be diffed). And long streams (video
frames, 2 kHz EMG) are written as they are produced: ``ChunkedAppender`` buffers rows up to one
whole chunk and writes each chunk exactly once, so neither the whole stream nor a re-read of a
partial chunk is ever needed.

These helpers write into whatever folder they are given; publish through
:func:`flexsync.storage.atomic.atomic_directory` so readers never see a half-written group.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
import zarr
from zarr.codecs import ZstdCodec
from zarr.storage import LocalStore

from flexsync.errors import InputFileError, MissingInputError
from flexsync.schemas.zarr_layout import LAYOUT_VERSION, STATUS_COMPLETE
from flexsync.storage.dimension_names import layout_dimension_names
from flexsync.storage.direct_chunks import direct_chunk_writer
from flexsync.storage.video_codec import DEFAULT_CRF, DEFAULT_PRESET, H264Codec

__all__ = [
    "DEFAULT_ZSTD_LEVEL",
    "LAYOUT_VERSION",
    "STATUS_COMPLETE",
    "ChunkedAppender",
    "RecordingNotReadyError",
    "create_array",
    "default_fill_value",
    "frame_codec_of",
    "normalize_attrs",
    "open_group_for_write",
    "open_group_readonly",
    "read_recording",
    "set_attrs",
    "write_array",
]

logger = logging.getLogger(__name__)

DEFAULT_ZSTD_LEVEL = 3

Compressor = Literal["zstd", "h264"] | None


class RecordingNotReadyError(InputFileError):
    """A recording group exists but is not a complete flexsync recording (status or layout)."""


def normalize_attrs(attrs: Mapping[str, Any], *, where: str = "attrs") -> dict[str, Any]:
    """Plain-JSON copy of ``attrs`` with keys sorted at every level.

    numpy scalars and arrays become Python numbers and lists, tuples become lists. NaN and
    infinities are refused (JSON has no such numbers; zarr would write non-standard ``NaN``).

    Raises
    ------
    TypeError
        For keys that are not strings or values that are not JSON-like, naming the key path.
    ValueError
        For non-finite floats, naming the key path.
    """
    return _normalize(dict(attrs), where)


def _normalize(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key in sorted(value, key=_key_text(where)):
            out[key] = _normalize(value[key], f"{where}.{key}")
        return out
    if isinstance(value, np.ndarray):
        return [_normalize(v, f"{where}[{i}]") for i, v in enumerate(value.tolist())]
    if isinstance(value, list | tuple):
        return [_normalize(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: non-finite number {value!r} cannot be stored as a Zarr attribute; use null")
        return float(value)
    if isinstance(value, Path):
        return value.as_posix()
    raise TypeError(f"{where}: value of type {type(value).__name__} is not JSON-serialisable")


def _key_text(where: str) -> Callable[[Any], str]:
    """Sort key for attribute names that refuses non-string keys, naming where they are."""

    def key(k: Any) -> str:
        if not isinstance(k, str):
            raise TypeError(f"{where}: attribute keys must be strings, got {k!r}")
        return k

    return key


def open_group_for_write(path: Path | str, attrs: Mapping[str, Any] | None = None) -> zarr.Group:
    """Create a new, empty Zarr v3 group at ``path`` (replacing anything there) with ``attrs``.

    Use inside :func:`~flexsync.storage.atomic.atomic_directory`, e.g. on the yielded folder.
    """
    store = LocalStore(Path(path))
    return zarr.open_group(store, mode="w", zarr_format=3, attributes=normalize_attrs(attrs or {}))


def open_group_readonly(path: Path | str) -> zarr.Group:
    """Open an existing Zarr v3 group read-only (any status; see :func:`read_recording`).

    Raises
    ------
    MissingInputError
        If there is no Zarr group at ``path``.
    """
    path = Path(path)
    if not (path / "zarr.json").is_file():
        raise MissingInputError("no Zarr v3 group here (zarr.json missing)", path=path)
    return zarr.open_group(LocalStore(path, read_only=True), mode="r", zarr_format=3)


def set_attrs(node: zarr.Group | zarr.Array, attrs: Mapping[str, Any]) -> None:
    """Merge ``attrs`` into a group's or array's attributes, keeping keys sorted (deterministic)."""
    merged = dict(node.attrs.asdict())
    merged.update(attrs)
    node.attrs.put(normalize_attrs(merged, where=f"{node.path or '/'} attrs"))


def default_fill_value(dtype: np.dtype | str) -> Any:
    """NaN for floats (unwritten reads as missing), False for bool, 0 otherwise."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return float("nan")
    if dtype.kind == "b":
        return False
    return 0


def _codecs(compressor: Compressor, zstd_level: int) -> tuple[ZstdCodec, ...]:
    if compressor is None or compressor == "h264":  # H.264 is the serializer: nothing compresses after it
        return ()
    if compressor == "zstd":
        return (ZstdCodec(level=zstd_level, checksum=False),)
    raise ValueError(f"compressor must be 'zstd', 'h264' or None, got {compressor!r}")


def frame_codec_of(array: zarr.Array) -> dict[str, Any]:
    """The :func:`create_array` codec arguments that store frames like ``array`` does (to copy its codec)."""
    serializer = array.serializer
    if isinstance(serializer, H264Codec):
        return {"compressor": "h264", "h264_crf": serializer.crf, "h264_preset": serializer.preset}
    zstd = [c for c in array.compressors if isinstance(c, ZstdCodec)]
    return {"compressor": "zstd", "zstd_level": zstd[0].level} if zstd else {"compressor": None}


def create_array(
    group: zarr.Group,
    name: str,
    *,
    shape: Sequence[int],
    dtype: np.dtype | str,
    chunks: Sequence[int],
    compressor: Compressor = "zstd",
    zstd_level: int = DEFAULT_ZSTD_LEVEL,
    h264_crf: int = DEFAULT_CRF,
    h264_preset: str = DEFAULT_PRESET,
    attrs: Mapping[str, Any] | None = None,
    fill_value: Any = None,
    dimension_names: Sequence[str] | None = None,
    write_empty_chunks: bool = False,
) -> zarr.Array:
    """Create an array in ``group`` with flexsync's codec defaults.

    Parameters
    ----------
    group : zarr.Group
        Writable group (see :func:`open_group_for_write`).
    name : str
        Array name, may contain ``/`` to create it in a subgroup (created as needed).
    shape, dtype, chunks
        As in zarr; a zero-length axis is fine (chunks must still be >= 1). Use shape
        ``(0, ...)`` with :class:`ChunkedAppender` when the final length is unknown.
    compressor : {"zstd", "h264", None}
        ``"zstd"`` (default, level ``zstd_level``, no checksum), ``"h264"`` (frames only: each
        chunk of ``(..., n, H, W, 3)`` uint8 is one H.264 GOP at CRF ``h264_crf``,
        :mod:`flexsync.storage.video_codec`) or ``None`` for raw chunks.
    zstd_level : int
        1 (fastest) .. 22; default 3.
    h264_crf, h264_preset : int, str
        x264 constant rate factor (lower is better and bigger) and preset of ``"h264"`` chunks.
    attrs : mapping, optional
        Array attributes (units, channel names), normalised like group attributes.
    fill_value : optional
        Value of never-written cells; default from :func:`default_fill_value`.
    dimension_names : sequence of str, optional
        Names of the axes, e.g. ``("time", "channel")``. Default: the names the Zarr layout gives
        this array (:mod:`flexsync.storage.dimension_names`; what xarray needs), or none for an
        array the layout does not describe.
    write_empty_chunks : bool
        Write chunks that hold only the fill value too. zarr otherwise compares every chunk
        with the fill value before writing it, which costs more CPU than compressing it for
        data that is never empty, such as video frames (about 5x zstd level 1 on 455x256 RGB).
    """
    dtype = np.dtype(dtype)
    shape = tuple(int(s) for s in shape)
    chunks = tuple(int(c) for c in chunks)
    if len(chunks) != len(shape) or any(c < 1 for c in chunks):
        raise ValueError(f"array {name!r}: chunks {chunks} must have one entry >= 1 per axis of shape {shape}")
    if dimension_names is None:
        dimension_names = layout_dimension_names(group, name, shape, dtype)
    return group.create_array(
        name,
        shape=shape,
        dtype=dtype,
        chunks=chunks,
        compressors=_codecs(compressor, zstd_level),
        serializer=H264Codec(crf=h264_crf, preset=h264_preset) if compressor == "h264" else "auto",
        filters=(),
        # "c.0.0.0.0" files side by side instead of nested "c/0/0/0/0" folders: a 1,000-chunk
        # video is then 1,000 files, not 4,000 directories to create, hard-link and delete.
        chunk_key_encoding={"name": "default", "separator": "."},
        fill_value=default_fill_value(dtype) if fill_value is None else fill_value,
        attributes=normalize_attrs(attrs or {}, where=f"array {name} attrs"),
        dimension_names=None if dimension_names is None else tuple(dimension_names),
        config={"write_empty_chunks": write_empty_chunks},
    )


def write_array(
    group: zarr.Group,
    name: str,
    data: np.ndarray,
    *,
    chunks: Sequence[int] | None = None,
    compressor: Compressor = "zstd",
    zstd_level: int = DEFAULT_ZSTD_LEVEL,
    attrs: Mapping[str, Any] | None = None,
    dimension_names: Sequence[str] | None = None,
) -> zarr.Array:
    """Create an array from in-memory ``data`` (small arrays: timestamps, masks, grids).

    ``chunks`` defaults to the whole array in one chunk.
    """
    data = np.ascontiguousarray(data)
    if chunks is None:
        chunks = tuple(max(1, s) for s in data.shape)
    array = create_array(
        group,
        name,
        shape=data.shape,
        dtype=data.dtype,
        chunks=chunks,
        compressor=compressor,
        zstd_level=zstd_level,
        attrs=attrs,
        dimension_names=dimension_names,
    )
    if data.size:
        array[...] = data
    return array


class ChunkedAppender:
    """Append rows (along axis 0) to a Zarr array, writing each chunk exactly once.

    Rows arrive in blocks of any size (one decoded frame, a 1 s EMG buffer, a whole file);
    they are buffered until a whole write unit (``chunk_len`` rows, a multiple of the array's
    chunk or shard length along axis 0) is ready, which is then written in one call. Blocks that
    span whole units are written straight from the caller's memory, without a copy. Memory use
    is one unit (16 frames of 256x455x3 uint8: 5.6 MB).

    Two modes, chosen by the array's length when the appender is made:

    - known final length (array created with shape ``(N, ...)``, N > 0): appending more than N
      rows, or closing with fewer, raises ValueError;
    - growing (array created with shape ``(0, ...)``): the array is resized as units are
      written and ends exactly as long as the rows appended.

    Whole chunks of local arrays that write every chunk go straight to their files
    (:mod:`flexsync.storage.direct_chunks`: the same bytes, about 40% less CPU on frames).

    Use as a context manager; ``close()`` (run on a clean exit) writes the last partial unit.
    On an exception nothing more is written: the enclosing atomic directory is discarded anyway.

    Examples
    --------
    >>> arr = create_array(group, "frames", shape=(0, 256, 455, 3), dtype="uint8",
    ...                    chunks=(16, 256, 455, 3))  # doctest: +SKIP
    >>> with ChunkedAppender(arr) as out:  # doctest: +SKIP
    ...     for frame in decoded_frames:
    ...         out.append(frame[None])
    """

    def __init__(self, array: zarr.Array, chunk_len: int | None = None) -> None:
        unit = int((array.shards or array.chunks)[0])
        chunk_len = unit if chunk_len is None else int(chunk_len)
        if chunk_len < 1 or chunk_len % unit:
            raise ValueError(
                f"array {array.path}: chunk_len {chunk_len} must be a positive multiple of its "
                f"{'shard' if array.shards else 'chunk'} length {unit} along axis 0"
            )
        self.array = array
        self.chunk_len = chunk_len
        self._row_shape = tuple(array.shape[1:])
        self._dtype = np.dtype(array.dtype)
        self._final_len: int | None = int(array.shape[0]) or None
        self._buffer = np.empty((chunk_len, *self._row_shape), dtype=self._dtype)
        self._n_buffered = 0
        self._n_written = 0
        self._closed = False
        self._direct = direct_chunk_writer(array)

    @property
    def n_rows(self) -> int:
        """Rows appended so far (written or buffered)."""
        return self._n_written + self._n_buffered

    def append(self, block: np.ndarray) -> None:
        """Append ``block`` of shape ``(n, *row_shape)``; n may be 0."""
        if self._closed:
            raise ValueError(f"array {self.array.path}: appender is closed")
        block = np.asarray(block)
        self._check_block(block)
        n = block.shape[0]
        if self._final_len is not None and self.n_rows + n > self._final_len:
            raise ValueError(
                f"array {self.array.path}: {self.n_rows + n} rows appended but its length is {self._final_len}"
            )
        pos = 0
        if self._n_buffered:
            take = min(self.chunk_len - self._n_buffered, n)
            self._buffer[self._n_buffered : self._n_buffered + take] = block[:take]
            self._n_buffered += take
            pos = take
            if self._n_buffered == self.chunk_len:
                self._write(self._buffer)
                self._n_buffered = 0
        while n - pos >= self.chunk_len:
            self._write(block[pos : pos + self.chunk_len])
            pos += self.chunk_len
        rest = n - pos
        if rest:
            self._buffer[:rest] = block[pos:]
            self._n_buffered = rest

    def close(self) -> int:
        """Write the last partial unit; return the number of rows in the array."""
        if self._closed:
            return self._n_written
        if self._n_buffered:
            self._write(self._buffer[: self._n_buffered])
            self._n_buffered = 0
        self._closed = True
        if self._final_len is not None and self._n_written != self._final_len:
            raise ValueError(
                f"array {self.array.path}: closed after {self._n_written} rows but its length is {self._final_len}; "
                "create it with shape (0, ...) when the length is not known in advance"
            )
        return self._n_written

    def __enter__(self) -> ChunkedAppender:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._closed = True

    def _check_block(self, block: np.ndarray) -> None:
        if block.ndim != len(self._row_shape) + 1 or tuple(block.shape[1:]) != self._row_shape:
            raise ValueError(
                f"array {self.array.path}: block of shape {block.shape} does not fit rows of shape {self._row_shape}"
            )
        casting = "safe" if self._dtype.kind in "biu" else "same_kind"
        if not np.can_cast(block.dtype, self._dtype, casting=casting):
            raise TypeError(f"array {self.array.path}: cannot store {block.dtype} data in a {self._dtype} array")

    def _write(self, rows: np.ndarray) -> None:
        start, stop = self._n_written, self._n_written + rows.shape[0]
        if self._final_len is None:
            self.array.resize((stop, *self._row_shape))
        unit = int(self.array.chunks[0])
        if self._direct is not None and rows.shape[0] % unit == 0:
            for offset in range(0, rows.shape[0], unit):
                self._direct.write((start + offset) // unit, rows[offset : offset + unit])
        else:
            self.array[start:stop] = rows
        self._n_written = stop


def read_recording(path: Path | str, *, recording: str | None = None) -> zarr.Group:
    """Open a published recording read-only, refusing anything that is not complete.

    Raises
    ------
    MissingInputError
        If there is no Zarr group at ``path``.
    RecordingNotReadyError
        If its ``status`` attribute is not ``"complete"`` or its ``flexsync_layout`` version is
        not the one this code reads.
    """
    path = Path(path)
    recording = recording or path.name.removesuffix(".zarr")
    try:
        group = open_group_readonly(path)
    except MissingInputError as exc:
        raise MissingInputError(f"{exc.problem}: recording not published?", path=path, recording=recording) from None
    status = group.attrs.get("status")
    if status != STATUS_COMPLETE:
        raise RecordingNotReadyError(
            f"status is {status!r}, not {STATUS_COMPLETE!r}: the recording was not published completely; "
            "rebuild it from staging",
            path=path,
            recording=recording,
        )
    version = group.attrs.get("flexsync_layout")
    if version != LAYOUT_VERSION:
        raise RecordingNotReadyError(
            f"flexsync_layout is {version!r}; this code reads layout {LAYOUT_VERSION}", path=path, recording=recording
        )
    return group
