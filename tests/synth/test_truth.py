"""truth.json round trip and the clock model the pipeline should recover against the reference stream."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flexsync.synth.clocks import DeviceClock, random_clock, regular_device_times
from flexsync.synth.truth import RecordingTruth, StreamTruth, expected_model


def _truth(seed: int = 0, *, reference_resets: int = 0) -> RecordingTruth:
    rng = np.random.default_rng(seed)
    mocap = random_clock("mocap", rng, n_resets=reference_resets)
    emg = random_clock("emg", rng)
    phone = random_clock("phone", rng, n_resets=2, duration_s=30.0)
    events = (1.43, 28.8)
    return RecordingTruth(
        recording="S01_A01_T1",
        seed=seed,
        sync_events_true_s=events,
        sync_pulse_s=0.1,
        streams={
            "mocap": StreamTruth(
                segments=mocap.segments, event_device_times_s=tuple(mocap.to_device(np.array(events)))
            ),
            "emg": StreamTruth(segments=emg.segments, extra={"channel_names": ["a_L", "a_R"], "n": np.int64(3)}),
            "phone": StreamTruth(
                segments=phone.segments, dropped_frames=(311, 902), exposure_s=1 / 30, extra={"missed_flashes": []}
            ),
        },
        repetitions=(
            {
                "index": 1,
                "start_true_s": 3.1,
                "end_true_s": 5.9,
                "phases": [{"phase": "eccentric", "start_true_s": 3.1, "end_true_s": 4.4}],
            },
        ),
    )


def test_truth_round_trip_and_bytes(tmp_path):
    truth = _truth()
    truth.write(tmp_path / "truth.json")
    back = RecordingTruth.read(tmp_path / "truth.json")
    assert back.streams["phone"].segments == truth.streams["phone"].segments  # floats exact
    assert back.streams["phone"].dropped_frames == (311, 902)
    assert back.streams["mocap"].event_device_times_s == truth.streams["mocap"].event_device_times_s
    assert back.streams["emg"].extra == {"channel_names": ["a_L", "a_R"], "n": 3}
    assert back.streams["emg"].exposure_s is None and back.streams["phone"].exposure_s == 1 / 30
    assert back.repetitions == truth.repetitions and back.seed == 0
    assert back.to_json() == truth.to_json() == (tmp_path / "truth.json").read_text()
    data = json.loads((tmp_path / "truth.json").read_text())
    assert data["streams"]["phone"]["segments"][0].keys() == {"device_start_s", "offset_s", "drift"}
    assert data["sync_events_true_s"] == [1.43, 28.8] and data["sync_pulse_s"] == 0.1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["truth.json"]


def test_truth_read_names_the_file(tmp_path):
    (tmp_path / "truth.json").write_text('{"recording": "X"}')
    with pytest.raises(ValueError, match=r"truth\.json: not a valid truth\.json \(KeyError"):
        RecordingTruth.read(tmp_path / "truth.json")
    with pytest.raises(KeyError, match="no stream 'cam9'; streams are mocap, emg, phone"):
        _truth().stream("cam9")


def _brute_force(stream: DeviceClock, reference: DeviceClock) -> list[tuple[float, float]]:
    """Fit t_ref = a + b t_dev per stream segment on device times mapped through true time."""
    times = regular_device_times(stream, rate_hz=50.0, true_end_s=40.0)
    idx = stream.segment_index_device(times)
    fits = []
    for k in range(len(stream.segments)):
        t_dev = times[idx == k]
        t_ref = reference.to_device(stream.to_true(t_dev))
        b, a = np.polyfit(t_dev - t_dev[0], t_ref, 1)
        fits.append((a - b * t_dev[0], b - 1.0))
    return fits


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("stream", ["emg", "phone"])
def test_expected_model_matches_brute_force(seed, stream):
    truth = _truth(seed)
    model = expected_model(truth, stream, "mocap")
    fits = _brute_force(truth.streams[stream].clock, truth.streams["mocap"].clock)
    assert len(model) == len(fits) == len(truth.streams[stream].segments)
    for (device_start, offset, drift), (fit_offset, fit_drift), seg in zip(
        model, fits, truth.streams[stream].segments, strict=True
    ):
        assert device_start == seg.device_start_s
        assert offset == pytest.approx(fit_offset, abs=1e-9)
        assert drift == pytest.approx(fit_drift, abs=1e-12)
    # Against itself the model is the identity.
    assert expected_model(truth, "mocap", "mocap") == [(0.0, 0.0, 0.0)]


def test_expected_model_refuses_a_reference_with_resets():
    truth = _truth(reference_resets=1)
    with pytest.raises(NotImplementedError, match="reference stream 'mocap' has 2 clock segments"):
        expected_model(truth, "emg", "mocap")
