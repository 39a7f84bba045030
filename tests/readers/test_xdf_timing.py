"""XDF timing (class 5): effective vs declared rate, gaps, and pyxdf's log kept off the terminal.

The XDF files are written here chunk by chunk (FileHeader, StreamHeader, Samples, StreamFooter).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flexsync.cli import app
from flexsync.readers import format_inspection, inspect_file, read_file

from .conftest import write_xdf

BIN = Path(sys.executable).parent


@pytest.fixture
def session(tmp_path):
    """'slow': declared 100 Hz, samples every 1/93 s; 'gappy': 100 Hz with a 3-minute gap after 5 s;
    'steady': 100 Hz as declared."""
    slow_t = 10.0 + np.arange(930) / 93.0
    gappy_t = np.r_[np.arange(500) / 100.0, 185.0 + np.arange(500) / 100.0]
    steady_t = 2.0 + np.arange(300) / 100.0
    path = tmp_path / "session.xdf"
    write_xdf(
        path,
        [
            {"name": "slow", "rate": 100, "t": slow_t, "data": np.ones((930, 2))},
            {"name": "gappy", "rate": 100, "t": gappy_t, "data": np.arange(1000.0)[:, None]},
            {"name": "steady", "rate": 100, "t": steady_t, "data": np.zeros((300, 1))},
        ],
    )
    return path


def test_effective_rate_far_from_declared_warns_once(session, caplog):
    with caplog.at_level(logging.DEBUG):
        contents = read_file(session)
    slow = contents.signals["slow"]
    assert slow.nominal_rate_hz == 100.0
    assert slow.metadata["effective_rate_hz"] == pytest.approx(93.0, abs=1e-6)
    assert slow.warnings == [
        "effective rate 93.0000 Hz differs from the declared 100 Hz by -7.0% (tolerance 2%): the device's clock "
        "or its sample count is off; the timestamps are kept as recorded"
    ]
    assert contents.signals["steady"].warnings == []
    assert contents.signals["steady"].metadata["gaps"]["count"] == 0
    assert not [r for r in caplog.records if r.name.startswith("pyxdf") and r.levelno >= logging.WARNING]
    relaxed = read_file(session, options={"effective_rate_tolerance": 0.1}).signals["slow"]
    assert relaxed.warnings == []


def test_gaps_are_counted_and_the_largest_reported(session):
    gappy = read_file(session).signals["gappy"]
    gaps = gappy.metadata["gaps"]
    assert gaps["count"] == 1
    assert gaps["largest_s"] == pytest.approx(185.0 - 4.99, abs=1e-6)
    assert gaps["largest_after_s"] == pytest.approx(4.99, abs=1e-6)
    assert gappy.metadata["effective_rate_hz"] == pytest.approx(100.0, abs=1e-6)  # per segment
    assert gappy.warnings == [
        "1 gap in the timestamps (intervals longer than 2 sample periods, 0.02 s): largest 180.010 s after "
        "t = 4.990 s, 180.010 s in all"
    ]


def test_inspect_text_and_json_show_rates_and_gaps(session):
    summary = inspect_file(session)
    by_name = {s["name"]: s for s in summary["streams"]}
    assert by_name["slow"]["effective_rate_hz"] == pytest.approx(93.0, abs=1e-6)
    assert by_name["gappy"]["gaps"]["count"] == 1
    text = format_inspection(summary)
    assert "rate 100 Hz (effective 93.0000 Hz), 930 samples, t = 10.000000 .. 19.989247 s" in text
    assert "gaps: 1, largest 180.010 s after t = 4.990000 s, 180.010 s in all" in text
    assert "gaps: none" in text  # slow and steady
    assert text.count("effective rate 93.0000 Hz differs") == 1
    assert "Calculated effective sampling rate" not in text  # pyxdf's own line is replaced, not repeated

    result = CliRunner().invoke(app, ["inspect", str(session), "--json", "-"])
    assert result.exit_code == 0, result.output
    streams = {s["name"]: s for s in json.loads(result.stdout)["streams"]}
    assert streams["gappy"]["gaps"]["largest_s"] == pytest.approx(180.01, abs=1e-6)
    assert streams["slow"]["effective_rate_hz"] == pytest.approx(93.0, abs=1e-6)


def test_pyxdf_log_lines_do_not_reach_the_terminal(session):
    # 80 Hz declared 100: pyxdf itself logs "Calculated effective sampling rate ..." (beyond its 10%)
    path = session.with_name("eighty.xdf")
    write_xdf(path, [{"name": "eighty", "rate": 100, "t": np.arange(800) / 80.0, "data": np.ones((800, 1))}])
    done = subprocess.run([str(BIN / "flexsync"), "inspect", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.count("effective rate 80.0000 Hz differs from the declared 100 Hz by -20.0%") == 1
    assert "WARNING" not in done.stdout and "Calculated effective sampling rate" not in done.stdout
