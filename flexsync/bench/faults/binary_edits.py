"""Just enough of EDF/BDF and C3D to damage a generated file in place (samples, header fields, parameters)."""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# -- binary formats: just enough to damage a generated file in place -----------------------------------------


@dataclass(frozen=True)
class EdfLayout:
    """The parts of an EDF/BDF header that locate each channel's samples in the data records."""

    n_signals: int
    n_records: int
    labels: tuple[str, ...]
    samples_per_record: tuple[int, ...]
    digital_min: tuple[int, ...]
    digital_max: tuple[int, ...]
    header_bytes: int
    sample_bytes: int  # 3 (BDF) or 2 (EDF)

    @property
    def record_samples(self) -> int:
        return sum(self.samples_per_record)


def _edf_field(header: bytes, start: int, width: int, index: int) -> str:
    offset = start + index * width
    return header[offset : offset + width].decode("ascii").strip()


def edf_layout(data: bytes) -> EdfLayout:
    ns = int(data[252:256].decode("ascii"))

    def column(start_width: int, width: int) -> list[str]:
        return [_edf_field(data, 256 + start_width * ns, width, i) for i in range(ns)]

    return EdfLayout(
        n_signals=ns,
        n_records=int(data[236:244].decode("ascii")),
        labels=tuple(column(0, 16)),
        samples_per_record=tuple(int(v) for v in column(216, 8)),
        digital_min=tuple(int(v) for v in column(120, 8)),
        digital_max=tuple(int(v) for v in column(128, 8)),
        header_bytes=256 * (ns + 1),
        sample_bytes=3 if data[:1] == b"\xff" else 2,
    )


def _edf_signals(data: bytes) -> tuple[EdfLayout, list[np.ndarray]]:
    """Every channel's digital samples (int32), in file order."""
    layout = edf_layout(data)
    width = layout.sample_bytes
    raw = np.frombuffer(data, dtype=np.uint8, offset=layout.header_bytes)
    raw = raw[: layout.n_records * layout.record_samples * width].reshape(layout.n_records, -1)
    signals, column = [], 0
    for n in layout.samples_per_record:
        block = raw[:, column * width : (column + n) * width].reshape(-1, width).astype(np.int32)
        value = block[:, 0] | (block[:, 1] << 8) | ((block[:, 2] << 16) if width == 3 else 0)
        sign = 1 << (8 * width - 1)
        signals.append((value ^ sign) - sign)
        column += n
    return layout, signals


def _edf_bytes(data: bytes, layout: EdfLayout, signals: Sequence[np.ndarray], *, sample_bytes: int) -> bytes:
    """The header of ``data`` followed by ``signals`` (digital) packed at ``sample_bytes`` per sample."""
    records = []
    for i, n in enumerate(layout.samples_per_record):
        values = np.asarray(signals[i], dtype=np.int64).reshape(layout.n_records, n) & ((1 << (8 * sample_bytes)) - 1)
        parts = [((values >> (8 * b)) & 0xFF).astype(np.uint8) for b in range(sample_bytes)]
        records.append(np.stack(parts, axis=-1).reshape(layout.n_records, n * sample_bytes))
    return data[: layout.header_bytes] + np.concatenate(records, axis=1).tobytes()


def _set_edf_field(header: bytearray, start: int, width: int, text: str) -> None:
    encoded = text.encode("ascii")
    if len(encoded) > width:
        raise ValueError(f"EDF header field at {start}: {text!r} is longer than {width} characters")
    header[start : start + width] = encoded.ljust(width)


def edit_edf(data: bytes, edit: Callable[[EdfLayout, list[np.ndarray]], None]) -> bytes:
    layout, signals = _edf_signals(data)
    edit(layout, signals)
    return _edf_bytes(data, layout, signals, sample_bytes=layout.sample_bytes)


def bdf_to_edf(data: bytes) -> bytes:
    """The same recording as EDF (16 bit): physical ranges kept, samples requantised to -32768..32767."""
    layout, signals = _edf_signals(data)
    if layout.sample_bytes != 3:
        raise ValueError("not a BDF file")
    ns = layout.n_signals
    header = bytearray(data[: layout.header_bytes])
    header[0:8] = b"0       "
    header[192:236] = b" " * 44
    converted = []
    for i, values in enumerate(signals):
        low, high = layout.digital_min[i], layout.digital_max[i]
        fraction = (values.astype(np.float64) - low) / (high - low)
        converted.append(np.round(fraction * 65535.0 - 32768.0).astype(np.int64))
        _set_edf_field(header, 256 + 120 * ns + 8 * i, 8, "-32768")
        _set_edf_field(header, 256 + 128 * ns + 8 * i, 8, "32767")
    return _edf_bytes(bytes(header), layout, converted, sample_bytes=2)


def with_record_count(data: bytes, count: int) -> bytes:
    header = bytearray(data)
    _set_edf_field(header, 236, 8, str(count))
    return bytes(header)


@dataclass(frozen=True)
class _C3dLayout:
    n_points: int
    analog_per_frame: int
    first_frame: int
    last_frame: int
    data_offset: int

    @property
    def n_frames(self) -> int:
        return self.last_frame - self.first_frame + 1

    @property
    def frame_words(self) -> int:
        return 4 * self.n_points + self.analog_per_frame


def _c3d_layout(data: bytes) -> _C3dLayout:
    n_points, analog, first, last = struct.unpack("<HHHH", data[2:10])
    (scale,) = struct.unpack("<f", data[12:16])
    (data_block,) = struct.unpack("<H", data[16:18])
    if scale >= 0:
        raise ValueError("only float C3D files (negative POINT:SCALE), as flexsync synth writes them")
    return _C3dLayout(n_points, analog, first, last, (data_block - 1) * 512)


def edit_c3d_frames(data: bytes, edit: Callable[[np.ndarray, np.ndarray], None]) -> bytes:
    """Edit the points (frames, points, 4: x, y, z, residual) and analogs (frames, samples) of a float C3D."""
    layout = _c3d_layout(data)
    end = layout.data_offset + 4 * layout.n_frames * layout.frame_words
    frames = np.frombuffer(data[layout.data_offset : end], dtype="<f4").reshape(layout.n_frames, -1).copy()
    points = frames[:, : 4 * layout.n_points].reshape(layout.n_frames, layout.n_points, 4)
    analogs = frames[:, 4 * layout.n_points :]
    edit(points, analogs)
    frames[:, : 4 * layout.n_points] = points.reshape(layout.n_frames, -1)
    frames[:, 4 * layout.n_points :] = analogs
    return data[: layout.data_offset] + frames.tobytes() + data[end:]


def c3d_with_parameter(path: Path, group: str, name: str, value: list) -> bytes:
    """The C3D file rewritten by ezc3d with one parameter changed or added."""
    import ezc3d

    c3d = ezc3d.c3d(str(path))
    if group in c3d["parameters"] and name in c3d["parameters"][group]:
        c3d["parameters"][group][name]["value"] = value
    else:
        c3d.add_parameter(group, name, value)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "edited.c3d"
        c3d.write(str(out))
        return out.read_bytes()


def c3d_parameter_data(data: bytes, group: str, name: str) -> int:
    """Byte offset of the first value of parameter ``group:name`` in a C3D parameter section."""
    position = (data[0] - 1) * 512 + 4
    groups: dict[int, str] = {}
    found: list[tuple[int, str, int]] = []
    while position + 2 <= len(data):
        n_chars, ident = struct.unpack("<bb", data[position : position + 2])
        if n_chars == 0:
            break
        label = data[position + 2 : position + 2 + abs(n_chars)].decode("ascii", "replace").strip().upper()
        next_at = position + 2 + abs(n_chars)
        (step,) = struct.unpack("<h", data[next_at : next_at + 2])
        if ident < 0:
            groups[-ident] = label
        else:
            n_dims = data[next_at + 3]
            found.append((ident, label, next_at + 4 + n_dims))
        if step == 0:
            break
        position = next_at + step
    for ident, label, offset in found:
        if groups.get(ident) == group.upper() and label == name.upper():
            return offset
    raise KeyError(f"no parameter {group}:{name} in the C3D file")


def patch(data: bytes, offset: int, fmt: str, *values: Any) -> bytes:
    out = bytearray(data)
    out[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, *values)
    return bytes(out)
