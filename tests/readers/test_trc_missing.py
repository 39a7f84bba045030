"""TRC missing data (class 4): empty cells, blank cells and NaN in any case are occlusions; other text is an error."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.errors import InputFileError
from flexsync.readers import format_inspection, inspect_file, read_file

HEADER = [
    "PathFileType\t4\t(X/Y/Z)\tgaps.trc",
    "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
    "100.00\t100.00\t{n}\t2\tmm\t100.00\t1\t{n}",
    "Frame#\tTime\tRASI\t\t\tLASI\t\t",
    "\t\tX1\tY1\tZ1\tX2\tY2\tZ2",
    "",
]


def _write(path, rows):
    """``rows`` of cells after Frame# and Time (six coordinate cells, as text)."""
    body = ["\t".join([str(k + 1), f"{k / 100:.5f}", *cells]) for k, cells in enumerate(rows)]
    path.write_text("\n".join(HEADER).format(n=len(rows)) + "\n" + "\n".join(body) + "\n")
    return path


def test_empty_blank_and_nan_cells_are_occluded(tmp_path):
    full = ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0"]
    rows = [
        full,
        ["", "", "", *full[3:]],  # RASI empty (the documented way)
        [*full[:3], "  ", " ", "   "],  # LASI as cells of spaces
        ["NaN", "nan", "NAN", *full[3:]],  # RASI as NaN in three letter cases
        [*full[:3], "nan", "5.0", "6.0"],  # one coordinate NaN: the marker is invalid in that frame
        ["-1.5e2", "2", "+3", *full[3:]],
    ]
    stream = read_file(_write(tmp_path / "gaps.trc", rows)).signals["gaps"]
    assert stream.n_samples == 6
    assert stream.valid.tolist() == [
        [True, True],
        [False, True],
        [True, False],
        [False, True],
        [True, False],
        [True, True],
    ]
    invalid = ~stream.valid
    assert np.isnan(stream.data[invalid]).all() and np.isfinite(stream.data[stream.valid]).all()
    np.testing.assert_allclose(stream.data[5, 0], [-0.15, 0.002, 0.003])
    np.testing.assert_allclose(stream.data[2, 0], [0.001, 0.002, 0.003])
    np.testing.assert_allclose(stream.timestamps_s, np.arange(6) / 100)
    summary = inspect_file(tmp_path / "gaps.trc")
    assert summary["streams"][0]["valid_fraction"] == pytest.approx(8 / 12)
    assert "valid: 66.67%" in format_inspection(summary)


def test_other_text_is_an_error_naming_line_and_column(tmp_path):
    full = ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0"]
    rows = [full, full, [*full[:4], "n/a", "6.0"], [*full[:2], "1,5", *full[3:]]]
    with pytest.raises(
        InputFileError,
        match=r"bad\.trc: non-numeric TRC cells: line 9, column 7 \(LASI Y\): 'n/a' is not a number; "
        r"line 10, column 5 \(RASI Z\): '1,5' is not a number; missing coordinates must be empty or NaN",
    ):
        read_file(_write(tmp_path / "bad.trc", rows))


def test_an_empty_time_cell_is_an_error(tmp_path):
    path = _write(tmp_path / "notime.trc", [["1"] * 6, ["1"] * 6])
    text = path.read_text().replace("2\t0.01000\t", "2\t\t")
    path.write_text(text)
    with pytest.raises(
        InputFileError, match=r"notime\.trc: non-numeric TRC cells: line 8, column 2 \(Time\): the Time"
    ):
        read_file(path)
