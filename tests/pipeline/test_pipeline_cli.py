"""`flexsync run`: exit status and the clock table it prints, checked against the store it wrote.

The passing run goes through `python -m flexsync.cli` in a subprocess (every command must be
registered when the package runs as a module); the failing one runs in-process.
"""

from __future__ import annotations

import re
import subprocess

import polars as pl
from pipeline_helpers import BAD, GOOD, VENV_BIN, copy_raw_tree, rehash_in_manifest
from typer.testing import CliRunner

from flexsync.cli import app
from flexsync.storage import Store

STREAMS = {"cam1", "cam2", "cam3", "cam4", "phone", "mocap", "emg", "physio"}


def _clock_rows(stdout: str) -> list[list[str]]:
    """Data rows of the polars table the command prints (│ a ┆ b ┆ ... │), header excluded."""
    rows = [
        [cell.strip() for cell in line.strip().strip("│").split("┆")]
        for line in stdout.splitlines()
        if line.startswith("│")
    ]
    assert rows and rows[0][:3] == ["recording", "stream", "method"], rows[:1]
    return rows[1:]


def test_run_prints_every_stream_of_every_recording(synth_dataset, tmp_path):
    raw, _, keys = synth_dataset
    store = tmp_path / "store"
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "flexsync.cli", "run", "--raw", str(raw), "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert re.search(r"^processed 2 recordings in [\d.]+ s: 2 ok, 0 failed$", result.stdout, flags=re.M)
    rows = _clock_rows(result.stdout)
    assert sorted((r[0], r[1]) for r in rows) == sorted((k, s) for k in keys for s in STREAMS)
    models = Store(store).read_table("clock_models")
    for recording, stream, method, offset, drift, *_ in rows:
        row = models.filter((pl.col("recording") == recording) & (pl.col("stream") == stream)).row(0, named=True)
        assert method == row["method"] == ("identity" if stream == "mocap" else "events")
        assert float(offset) == round(row["offset_s"], 6)
        assert float(drift) == round(row["drift_ppm"], 2)
    assert Store(store).recordings() == sorted(keys)


def test_run_exits_1_and_names_the_failed_recording(synth_dataset, tmp_path):
    raw, _, _ = synth_dataset
    copy = copy_raw_tree(raw, tmp_path / "raw")
    folder = copy / "recordings" / BAD
    lines = (folder / "physio" / "physio.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3], lines[4] = lines[4], lines[3]
    (folder / "physio" / "physio.csv").write_text("".join(lines), encoding="utf-8")
    rehash_in_manifest(folder, "physio/physio.csv")
    store = tmp_path / "store"

    result = CliRunner().invoke(app, ["run", "--raw", str(copy), "--store", str(store), "--parallel", "1"])
    assert result.exit_code == 1, result.output
    assert re.search(r"^processed 2 recordings in [\d.]+ s: 1 ok, 1 failed$", result.stdout, flags=re.M)
    assert re.search(
        rf"^  FAILED {BAD}: recording_streams: flexsync\.errors\.InputFileError: recording {BAD}, stream physio, "
        rf"file \S+/physio\.csv: time column 'time_s' is not strictly increasing: line 5 has ",
        result.stdout,
        flags=re.M,
    ), result.stdout
    rows = _clock_rows(result.stdout)
    assert sorted((r[0], r[1]) for r in rows) == sorted((GOOD, s) for s in STREAMS)
