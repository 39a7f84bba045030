"""The common grid of a published recording (``flexsync.ingest.align``), on hand-built streams.

Which stream feeds each grid modality (the first mocap stream, every EMG and physio stream in
manifest order), the side-by-side concatenation of several EMG devices, their joint validity, and
the grid span (refused when the streams do not overlap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import zarr

from flexsync.config import PipelineSettings
from flexsync.ingest.align import _aligned_times, _grid, _grid_sources, _side_by_side, _write_grid
from flexsync.ingest.staging import StreamSummary
from flexsync.raw.manifest import StreamEntry
from flexsync.timing.clock_model import ClockModel, ClockSegmentFit
from flexsync.timing.resample import make_grid

SETTINGS = PipelineSettings()


@dataclass
class Staged:
    """Stands in for a ``StagedStream``: a summary, attributes and arrays held in memory."""

    summary: StreamSummary
    attrs: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def array(self, name: str) -> np.ndarray:
        return self.arrays[name]


def _staged(name: str, kind: str, rate_hz: float, t: np.ndarray, **arrays: np.ndarray) -> Staged:
    entry = StreamEntry(name=name, kind=kind, file=f"{kind}/{name}", format="x", nominal_rate_hz=rate_hz)
    summary = StreamSummary.measure(entry, stream=name, kind=kind, sha256="0" * 64, size=1, t_device=t, n_channels=1)
    attrs = {"envelope_rate_hz": rate_hz} if kind == "emg" else {}
    return Staged(summary, attrs, {"t_device": t, **arrays})


def _envelope(t: np.ndarray, slopes: list[float]) -> np.ndarray:
    """Channels linear in time (channel c = slope_c * t + c), so linear interpolation is exact."""
    return np.stack([s * t + c for c, s in enumerate(slopes)], axis=1).astype(np.float32)


def _recording(emg_order: tuple[str, ...] = ("emg", "emg2")) -> tuple[dict[str, Staged], dict[str, dict]]:
    """Two views, two mocap systems, two EMG devices (emg2 covers 2-8 s only), one physio strap."""
    t_cam, t_phone = np.arange(600) / 60.0, np.arange(300) / 30.0
    t_mocap = np.arange(1001) / 100.0
    joints = np.broadcast_to(t_mocap[:, None, None], (t_mocap.size, 21, 3)).astype(np.float32)
    env1_t, env2_t = np.arange(1001) / 100.0, np.arange(200, 801) / 100.0
    t_physio = np.arange(11.0)
    emg = {
        "emg": _staged("emg", "emg", 100.0, env1_t, envelope=_envelope(env1_t, [1.0, 2.0, 3.0])),
        "emg2": _staged("emg2", "emg", 100.0, env2_t, envelope=_envelope(env2_t, [-1.0, 10.0])),
    }
    staged = {
        "cam1": _staged("cam1", "video", 60.0, t_cam),
        "mocap": _staged("mocap", "mocap", 100.0, t_mocap, joints=joints, valid=np.ones((t_mocap.size, 21), bool)),
        **{name: emg[name] for name in emg_order},
        "mocap2": _staged(
            "mocap2", "mocap", 100.0, t_mocap, joints=np.full_like(joints, 7.0), valid=np.ones((t_mocap.size, 21), bool)
        ),
        "phone": _staged("phone", "video", 30.0, t_phone),
        "physio": _staged("physio", "physio", 1.0, t_physio, values=np.stack([60 + t_physio, 12 + 0 * t_physio], 1)),
    }
    # Identity clocks: the reference-clock times are the device times.
    times = {
        name: {"t": s.arrays["t_device"], **({"envelope_t": s.arrays["t_device"]} if s.summary.kind == "emg" else {})}
        for name, s in staged.items()
    }
    return staged, times


def _new_group(folder) -> zarr.Group:
    return zarr.open_group(folder / "grid", mode="w", zarr_format=3)


def test_grid_sources_take_the_first_mocap_and_every_emg_and_physio_in_manifest_order() -> None:
    staged, _ = _recording()
    assert _grid_sources(staged) == {"pose": "mocap", "emg_envelope": ["emg", "emg2"], "physio": ["physio"]}
    staged, _ = _recording(emg_order=("emg2", "emg"))
    assert _grid_sources(staged)["emg_envelope"] == ["emg2", "emg"]
    only_video = {"cam1": staged["cam1"]}
    assert _grid_sources(only_video) == {"pose": None, "emg_envelope": [], "physio": []}


@pytest.mark.parametrize("emg_order", [("emg", "emg2"), ("emg2", "emg")])
def test_two_emg_devices_sit_side_by_side_in_manifest_order(tmp_path, emg_order) -> None:
    staged, times = _recording(emg_order)
    grid_t = make_grid(1.0, 9.0, SETTINGS.grid_rate_hz)
    metadata = _write_grid(_new_group(tmp_path), grid_t, staged, times, SETTINGS)
    grid = zarr.open_group(tmp_path / "grid", mode="r")
    assert grid.attrs["sources"]["emg_envelope"] == list(emg_order)
    assert grid.attrs["views"] == ["cam1", "phone"]
    assert grid["video_frame_index"].shape == (grid_t.size, 2)
    envelope = np.asarray(grid["emg_envelope"][...])
    widths = {"emg": 3, "emg2": 2}
    assert envelope.shape == (grid_t.size, widths[emg_order[0]] + widths[emg_order[1]])
    start = 0
    emg2_covers = (grid_t >= 2.0 - 1e-9) & (grid_t <= 8.0 + 1e-9)
    for name in emg_order:
        block = envelope[:, start : start + widths[name]]
        expected = _envelope(grid_t, [1.0, 2.0, 3.0] if name == "emg" else [-1.0, 10.0])
        covered = emg2_covers if name == "emg2" else np.ones(grid_t.size, bool)
        np.testing.assert_allclose(block[covered], expected[covered], rtol=1e-5, atol=1e-4)
        assert np.isnan(block[~covered]).all()
        start += widths[name]
    valid = np.asarray(grid["emg_valid"][...])
    np.testing.assert_array_equal(valid, emg2_covers)  # True only where every device covers the grid time
    assert 0.2 < (~valid).mean() < 0.3
    coverage = dict(metadata["grid_coverage"].rows)
    assert coverage["emg"] == pytest.approx(valid.mean())
    pose = np.asarray(grid["pose"][...])
    np.testing.assert_allclose(pose[:, 0, 0], grid_t, atol=1e-5)  # from mocap, not mocap2 (all 7.0)
    physio = np.asarray(grid["physio"][...])
    np.testing.assert_allclose(physio[:, 0], 60 + grid_t, atol=1e-4)
    assert np.asarray(grid["physio_valid"][...]).all()


def test_one_emg_device_is_written_as_it_is(tmp_path) -> None:
    staged, times = _recording()
    del staged["emg2"], times["emg2"]
    grid_t = make_grid(1.0, 9.0, SETTINGS.grid_rate_hz)
    _write_grid(_new_group(tmp_path), grid_t, staged, times, SETTINGS)
    grid = zarr.open_group(tmp_path / "grid", mode="r")
    assert grid.attrs["sources"]["emg_envelope"] == ["emg"]
    assert grid["emg_envelope"].shape == (grid_t.size, 3)
    assert np.asarray(grid["emg_valid"][...]).all()


def test_side_by_side_concatenates_values_and_masks() -> None:
    one = (np.ones((4, 2), np.float32), np.ones((4, 2), bool))
    assert _side_by_side([one]) is one
    two = (np.zeros((4, 1), np.float32), np.array([[True], [False], [True], [True]]))
    values, mask = _side_by_side([one, two])
    np.testing.assert_array_equal(values, [[1, 1, 0]] * 4)
    np.testing.assert_array_equal(mask.all(axis=1), [True, False, True, True])


def test_grid_spans_the_overlap_of_every_stream() -> None:
    times = {"a": {"t": np.linspace(0.5, 9.0, 50)}, "b": {"t": np.linspace(2.02, 12.0, 70)}}
    grid_t = _grid(times, SETTINGS)
    np.testing.assert_array_equal(grid_t, make_grid(2.02, 9.0, SETTINGS.grid_rate_hz))
    assert 2.02 <= grid_t[0] < 2.02 + 1 / SETTINGS.grid_rate_hz and 9.0 - 1 / SETTINGS.grid_rate_hz < grid_t[-1] <= 9.0


def test_grid_refuses_streams_that_do_not_overlap() -> None:
    times = {"cam1": {"t": np.linspace(0.0, 5.0, 10)}, "emg": {"t": np.linspace(6.0, 9.0, 10)}}
    with pytest.raises(
        ValueError, match=r"streams do not overlap on the reference clock \(latest start 6\.0, earliest end 5\.0\)"
    ):
        _grid(times, SETTINGS)


def test_aligned_times_map_every_device_time_array_of_a_kind() -> None:
    segment = ClockSegmentFit(-math.inf, math.inf, 1.5, 20e-6, 2, (), (), 1e-4)
    model = ClockModel("emg", "mocap", "events", (segment,), 0.9)
    t = np.array([0.0, 1.0, 10.0])
    staged = _staged("emg", "emg", 2000.0, t, envelope_t_device=t[:2])
    aligned = _aligned_times(staged, model)
    assert sorted(aligned) == ["envelope_t", "t"]
    np.testing.assert_allclose(aligned["t"], 1.5 + (1 + 20e-6) * t, rtol=0, atol=1e-12)
    np.testing.assert_allclose(aligned["envelope_t"], 1.5 + (1 + 20e-6) * t[:2], rtol=0, atol=1e-12)
    mocap = _staged("mocap", "mocap", 100.0, t, sync_t_device=t * 2)
    assert sorted(_aligned_times(mocap, model)) == ["sync_t", "t"]
