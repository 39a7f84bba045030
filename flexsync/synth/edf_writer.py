"""Write the synthetic sEMG recording as a BDF (24-bit) or EDF (16-bit) file, block by block.

The file holds the EMG channels (microvolts) plus a ``TRIG`` channel (volts) with the sync pulses,
as a wireless sEMG base station records them. Samples are quantised here (round to nearest, so the
error is at most half a least significant bit) and written a data record at a time with pyedflib,
so memory stays flat however long the recording is. The header carries only what is passed in
(a fixed start datetime, no patient or wall-clock fields), so the same inputs give the same bytes.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib

__all__ = ["DIGITAL_RANGE", "EDF_LABEL_MAX", "TRIGGER_LABEL", "EdfChannel", "quantize", "write_emg_file"]

logger = logging.getLogger(__name__)

TRIGGER_LABEL = "TRIG"
EDF_LABEL_MAX = 16  # characters of a signal label in the EDF header
DIGITAL_RANGE = {"bdf": (-(2**23), 2**23 - 1), "edf": (-(2**15), 2**15 - 1)}
_FILE_TYPES = {"bdf": pyedflib.FILETYPE_BDF, "edf": pyedflib.FILETYPE_EDF}


@dataclass(frozen=True)
class EdfChannel:
    """One signal's header: label, physical dimension and physical/digital ranges."""

    label: str
    dimension: str
    physical_min: float
    physical_max: float
    digital_min: int
    digital_max: int

    @property
    def lsb(self) -> float:
        """Physical value of one digital step."""
        return (self.physical_max - self.physical_min) / (self.digital_max - self.digital_min)


def quantize(values: np.ndarray, channel: EdfChannel) -> np.ndarray:
    """Physical values -> digital integers (int32), rounded to nearest and clipped to the digital range."""
    digital = np.rint((np.asarray(values, dtype=np.float64) - channel.physical_min) / channel.lsb) + channel.digital_min
    return np.clip(digital, channel.digital_min, channel.digital_max).astype(np.int32)


def _check_labels(path: Path, labels: Sequence[str]) -> None:
    bad = [label for label in labels if len(label) > EDF_LABEL_MAX or not label.isascii() or not label.isprintable()]
    problems = []
    if bad:
        problems.append(
            f"labels {bad} are not printable ASCII of at most {EDF_LABEL_MAX} characters, as EDF/BDF requires; "
            "pass short channel codes (e.g. 'VL_L' for vastus_lateralis_L)"
        )
    if len(set(labels)) != len(labels):
        problems.append(f"duplicate labels in {list(labels)}")
    if problems:
        raise ValueError(f"{path}: cannot write channel labels: " + "; ".join(problems))


def write_emg_file(
    path: Path | str,
    *,
    channel_names: Sequence[str],
    rate_hz: float,
    blocks: Iterable[tuple[int, np.ndarray]],
    trigger: np.ndarray,
    fmt: str = "bdf",
    start_datetime: datetime | str,
    units: Sequence[str] | str = "uV",
    emg_range_uv: float = 6000.0,
    trigger_range_v: tuple[float, float] = (0.0, 5.0),
    record_duration_s: float = 0.1,
) -> int:
    """Write EMG channels plus a ``TRIG`` channel to a BDF or EDF file; return samples per channel.

    Parameters
    ----------
    channel_names : EMG channel labels (<= 16 ASCII characters each), in file order.
    rate_hz : sampling rate of every channel (Hz); ``rate_hz * record_duration_s`` must be whole.
    blocks : (start_index, block (n, channels) microvolts) in order and contiguous from 0, e.g.
        ``EmgSynthesizer.blocks()``.
    trigger : (N,) trigger channel in volts, indexed like the blocks.
    fmt : ``"bdf"`` (24 bit) or ``"edf"`` (16 bit).
    start_datetime : recording start written in the header (a fixed value keeps bytes identical).
    units : physical dimension of the EMG channels (one for all, or one per channel).
    emg_range_uv, trigger_range_v : physical ranges; values outside are clipped (and logged).
    record_duration_s : EDF data record length (s). The file holds whole records: the last one is
        completed by holding the last sample, so the file may hold up to one record more than N.

    The file is written to a temporary name beside ``path`` and renamed when complete.
    """
    path = Path(path)
    if fmt not in _FILE_TYPES:
        raise ValueError(f"{path}: unknown EMG file format {fmt!r}; expected 'bdf' or 'edf'")
    names = [str(n) for n in channel_names]
    _check_labels(path, [*names, TRIGGER_LABEL])
    unit_list = [units] * len(names) if isinstance(units, str) else [str(u) for u in units]
    if len(unit_list) != len(names):
        raise ValueError(f"{path}: {len(unit_list)} units for {len(names)} channels")
    long_units = [u for u in unit_list if len(u) > 8 or not u.isascii()]
    if long_units:
        raise ValueError(f"{path}: physical dimensions are ASCII, at most 8 characters in EDF; got {long_units}")
    samples_per_record = rate_hz * record_duration_s
    if abs(samples_per_record - round(samples_per_record)) > 1e-9 or samples_per_record < 1:
        raise ValueError(
            f"{path}: rate {rate_hz} Hz x record duration {record_duration_s} s = {samples_per_record} samples; "
            "a data record must hold a whole number of samples"
        )
    spr = round(samples_per_record)
    start = datetime.fromisoformat(start_datetime) if isinstance(start_datetime, str) else start_datetime
    trigger = np.asarray(trigger, dtype=np.float64)

    dmin, dmax = DIGITAL_RANGE[fmt]
    channels = [
        EdfChannel(n, u, -emg_range_uv, emg_range_uv, dmin, dmax) for n, u in zip(names, unit_list, strict=True)
    ]
    channels.append(EdfChannel(TRIGGER_LABEL, "V", trigger_range_v[0], trigger_range_v[1], dmin, dmax))

    tmp = path.with_name(f".{path.name}.tmp")
    writer = pyedflib.EdfWriter(str(tmp), len(channels), file_type=_FILE_TYPES[fmt])
    try:
        _write_header(writer, channels, rate_hz=rate_hz, record_duration_s=record_duration_s, start=start)
        n_written = _write_records(writer, path, channels, blocks, trigger, spr=spr)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(tmp, path)
    logger.info("emg: wrote %s (%s, %d channels, %d samples at %g Hz)", path, fmt, len(channels), n_written, rate_hz)
    return n_written


def _write_header(
    writer: pyedflib.EdfWriter,
    channels: list[EdfChannel],
    *,
    rate_hz: float,
    record_duration_s: float,
    start: datetime,
) -> None:
    writer.setSignalHeaders(
        [
            {
                "label": ch.label,
                "dimension": ch.dimension,
                "sample_frequency": rate_hz,
                "physical_min": ch.physical_min,
                "physical_max": ch.physical_max,
                "digital_min": ch.digital_min,
                "digital_max": ch.digital_max,
                "transducer": "",
                "prefilter": "",
            }
            for ch in channels
        ]
    )
    writer.setStartdatetime(start)
    with warnings.catch_warnings():
        # pyedflib warns whenever the record duration is forced; ours holds a whole number of samples.
        warnings.simplefilter("ignore", UserWarning)
        writer.setDatarecordDuration(record_duration_s)


def _write_records(
    writer: pyedflib.EdfWriter,
    path: Path,
    channels: list[EdfChannel],
    blocks: Iterable[tuple[int, np.ndarray]],
    trigger: np.ndarray,
    *,
    spr: int,
) -> int:
    """Quantise blocks and write whole data records; carry the remainder to the next block."""
    n_emg = len(channels) - 1
    pending = np.zeros((0, len(channels)), dtype=np.int32)
    expected = 0
    clipped = 0
    for start_index, block in blocks:
        block = np.asarray(block)
        if start_index != expected:
            raise ValueError(f"{path}: EMG block starts at sample {start_index}, expected {expected} (blocks in order)")
        if block.ndim != 2 or block.shape[1] != n_emg:
            raise ValueError(f"{path}: EMG block has shape {block.shape}, expected (n, {n_emg})")
        stop = start_index + block.shape[0]
        if stop > trigger.shape[0]:
            raise ValueError(f"{path}: EMG blocks run to sample {stop} but the trigger has {trigger.shape[0]}")
        values = np.column_stack([block.astype(np.float64), trigger[start_index:stop]])
        digital = np.column_stack([quantize(values[:, i], ch) for i, ch in enumerate(channels)])
        clipped += int(np.count_nonzero(values < [c.physical_min for c in channels]))
        clipped += int(np.count_nonzero(values > [c.physical_max for c in channels]))
        pending = np.concatenate([pending, digital])
        n_full = pending.shape[0] // spr
        for r in range(n_full):
            _write_record(writer, pending[r * spr : (r + 1) * spr])
        pending = pending[n_full * spr :]
        expected = stop
    if expected != trigger.shape[0]:
        raise ValueError(f"{path}: EMG blocks hold {expected} samples but the trigger has {trigger.shape[0]}")
    if expected == 0:
        raise ValueError(f"{path}: no EMG samples to write")
    n_file = expected
    if pending.shape[0]:
        pad = spr - pending.shape[0]
        _write_record(writer, np.concatenate([pending, np.repeat(pending[-1:], pad, axis=0)]))
        n_file += pad
        logger.info("emg: %s last data record completed with %d held samples", path, pad)
    if clipped:
        logger.warning("emg: %s: %d samples outside the physical range were clipped", path, clipped)
    return n_file


def _write_record(writer: pyedflib.EdfWriter, record: np.ndarray) -> None:
    """One data record: each channel's samples in turn (channel-major), as EDF stores them."""
    status = writer.blockWriteDigitalSamples(np.ascontiguousarray(record.T).ravel())
    if status < 0:
        raise OSError(f"pyedflib could not write a data record to {writer.path} (code {status})")
