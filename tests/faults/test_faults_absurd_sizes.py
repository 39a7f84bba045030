"""Files that declare far more data than they hold must be refused without allocating what they declare.

The EDF header claims 99,999,999 data records (about 11 days at 2 kHz, 16 channels: terabytes as
float64); the C3D claims about 2 billion frames through TRIAL:ACTUAL_END_FIELD. Each is read by
flexsync's reader in a fresh process whose address space is capped, so an attempt to allocate the
declared size shows up as a MemoryError there, not as an exhausted test machine; its peak memory is
compared with reading the sound file under the same cap.
"""

from __future__ import annotations

import re

import pytest

from flexsync.bench.faults import CORPUS, SOURCE_KEY, absurd_file, read_with_memory_limit
from flexsync.raw.layout import RECORDINGS_DIR

ABSURD = [pytest.param(case, id=case.name) for case in CORPUS if case.absurd]
LIMIT = 2 << 30  # the reader process's address space
# Over reading the sound file: a reader that honoured the declared size would need terabytes.
MARGIN_MB = 200


@pytest.mark.parametrize("case", ABSURD)
def test_an_absurd_declared_size_is_refused_without_exhausting_memory(case, fault_base, tmp_path):
    path = absurd_file(case, fault_base.raw, tmp_path)
    fmt = path.suffix.lstrip(".")
    sound_file = fault_base.raw / RECORDINGS_DIR / SOURCE_KEY / ("emg/emg.bdf" if fmt == "edf" else case.file)
    sound = read_with_memory_limit(sound_file, sound_file.suffix.lstrip("."), limit_bytes=LIMIT)
    assert sound["error"] is None and sound["signals"], sound
    absurd = read_with_memory_limit(path, fmt, limit_bytes=LIMIT)
    assert absurd["type"] == "InputFileError", absurd
    assert re.search(case.expect, absurd["error"]), absurd["error"]
    assert str(path) in absurd["error"]
    assert absurd["maxrss_mb"] < sound["maxrss_mb"] + MARGIN_MB, (absurd["maxrss_mb"], sound["maxrss_mb"])
