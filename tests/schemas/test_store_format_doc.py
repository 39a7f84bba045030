"""The code examples of docs/store-format.md run against a real store and print what they claim."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import polars as pl
from layout_factory import write_small_recording

DOC = Path(__file__).resolve().parents[2] / "docs" / "store-format.md"


def test_store_format_examples_run(tmp_path):
    store = str(tmp_path)
    models = pl.DataFrame(
        {
            "recording": ["S01_A01_T1"],
            "stream": ["emg"],
            "reference": ["mocap"],
            "segment": [0],
            "method": ["events"],
            "device_start_s": [0.0],
            "device_end_s": [30.0],
            "offset_s": [0.4],
            "drift_ppm": [20.0],
            "n_events": [2],
            "rms_residual_s": [0.0002],
            "max_abs_residual_s": [0.0003],
            "confidence": [1.0],
        },
        schema_overrides={"segment": pl.Int32, "n_events": pl.Int32},
    )
    dropped = pl.DataFrame(
        {
            "recording": ["S01_A01_T1"],
            "stream": ["cam1"],
            "after_frame": [12],
            "t_device_s": [0.2],
            "gap_s": [0.0333],
            "n_missing": [1],
        },
        schema_overrides={"after_frame": pl.Int64, "n_missing": pl.Int32},
    )
    write_small_recording(tmp_path, tables={"clock_models": models, "dropped_frames": dropped})
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 6
    outputs = []
    for i, block in enumerate(blocks):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(block, f"{DOC.name} example {i}", "exec"), {"store": store})  # our own doc, not input data
        outputs.append(buffer.getvalue())
    assert outputs[0] == "(4, 6, 8, 3) uint8 60.0 (100,)\n"
    assert outputs[1] == "[0 1 2] []\n"
    assert "S01_A01_T1" in outputs[2] and "0.0003" in outputs[2]
    assert outputs[3] == "[('M', 10), ('N', 100), ('channel', 4)] ('N', 'channel') (20, 4)\n[('emg', 1)]\n"
    assert outputs[4] == "[]\n"
    assert outputs[5] == "1 1\n"
