"""The sync sources of the generator: what the box sends, what each device sees, what the files and truth say."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from flexsync.raw.manifest import read_manifest
from flexsync.synth.dataset import generate_dataset
from flexsync.synth.options import SynthOptions
from flexsync.synth.sync_source import MARKER_WIDTH_FACTOR, device_sees, sync_schedule
from flexsync.synth.truth import RecordingTruth

SMALL = dict(
    seed=4,
    subjects=1,
    actions=("A01",),
    repetitions=2,
    width=96,
    height=54,
    phone_width=54,
    phone_height=96,
    cinema_cameras=1,
    max_start_spread_s=1.0,
    lead_in_s=2.0,
)
KEY = "S01_A01_T1"


def test_pulse_train_is_periodic_with_two_wide_markers_at_the_sync_events() -> None:
    options = SynthOptions(sync_source="pulse_train", sync_period_s=1.0)
    schedule = sync_schedule(options, [1.3, 18.8], 20.0, np.random.default_rng(0))
    np.testing.assert_allclose(np.diff(schedule.onsets_s), 1.0)
    assert schedule.onsets_s[0] >= 0.25 and schedule.onsets_s[-1] + 0.3 <= 20.0 - 0.3
    assert len(schedule.markers) == 2
    for index, event in zip(schedule.markers, (1.3, 18.8), strict=True):
        assert abs(schedule.onsets_s[index] - event) <= 0.5
        assert schedule.widths_s[index] == pytest.approx(MARKER_WIDTH_FACTOR * 0.1)
    assert np.count_nonzero(np.isclose(schedule.widths_s, 0.1)) == schedule.n - 2


def test_coded_train_intervals_are_random_within_bounds_and_devices_miss_some() -> None:
    options = SynthOptions(sync_source="coded_train", missing_pulse_probability=0.1, sync_late_start_s=2.0)
    schedule = sync_schedule(options, [1.3, 58.8], 60.0, np.random.default_rng(1))
    gaps = np.diff(schedule.onsets_s)
    assert schedule.markers == () and gaps.min() >= 0.6 and gaps.max() <= 1.4 and gaps.std() > 0.15
    seen = device_sees(schedule, options, np.random.default_rng(2), true_start_s=0.0, true_end_s=60.0)
    draws = np.random.default_rng(2)  # device_sees draws: the misses, then the late start
    missed = draws.uniform(size=schedule.n) < 0.1
    late = draws.uniform(0.0, 2.0)
    expected = ~missed & (schedule.onsets_s >= schedule.onsets_s[0] + late)
    np.testing.assert_array_equal(seen, expected)
    assert 0.75 * schedule.n < seen.sum() < schedule.n


def test_options_refuse_a_period_too_short_for_markers() -> None:
    with pytest.raises(ValueError, match="sync_period_s must be >= 1"):
        SynthOptions(sync_source="pulse_train", sync_period_s=0.5)
    with pytest.raises(ValueError, match="sync_source must be one of flashes, pulse_train, coded_train"):
        SynthOptions(sync_source="barcode")
    assert "sync_source" not in SynthOptions().to_dict()  # dataset.json as before the option
    assert SynthOptions(**SynthOptions(sync_source="coded_train").to_dict()).sync_source == "coded_train"


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix != ".mp4"  # mp4 bytes: see test_synth_dataset's known gap
    }


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> dict[str, Path]:
    """One tiny recording per sync source (same seed), and the coded one twice."""
    base = tmp_path_factory.mktemp("sync_source")
    out = {}
    for name, source in (("flashes", "flashes"), ("coded", "coded_train"), ("coded2", "coded_train")):
        options = SynthOptions(**SMALL, sync_source=source, missing_pulse_probability=0.1, clock_resets=1)
        generate_dataset(base / name / "raw", base / name / "truth", options)
        out[name] = base / name
    return out


def test_a_train_changes_only_the_sync_inputs_and_is_deterministic(recordings) -> None:
    flashes = RecordingTruth.read(recordings["flashes"] / "truth" / KEY / "truth.json")
    coded = RecordingTruth.read(recordings["coded"] / "truth" / KEY / "truth.json")
    assert flashes.sync_source == "flashes" and coded.sync_source == "coded_train"
    for name, stream in flashes.streams.items():  # same clocks, drops and resets whatever the sync source
        assert coded.streams[name].segments == stream.segments
        assert coded.streams[name].dropped_frames == stream.dropped_frames
    assert flashes.repetitions == coded.repetitions
    assert _hashes(recordings["coded"]) == _hashes(recordings["coded2"])
    text = (recordings["flashes"] / "truth" / KEY / "truth.json").read_text(encoding="utf-8")
    assert "sync_source" not in text and "seen_pulses" not in text  # a flash-pair truth as before


def test_the_truth_records_every_pulse_and_what_each_device_saw(recordings) -> None:
    truth = RecordingTruth.read(recordings["coded"] / "truth" / KEY / "truth.json")
    n = len(truth.sync_events_true_s)
    assert n >= 8 and len(truth.sync_pulse_widths_s) == n and truth.sync_markers == ()
    for name, stream in truth.streams.items():
        seen = stream.extra["seen_pulses"]
        assert len(stream.event_device_times_s) == n and set(seen) <= set(range(n)), name
        # Every seen pulse maps back to its true onset through the stream's clock.
        true = stream.clock.to_true(np.array(stream.event_device_times_s)[seen])
        np.testing.assert_allclose(true, np.array(truth.sync_events_true_s)[seen], atol=1e-9)
    assert sum(len(s.extra["seen_pulses"]) for s in truth.streams.values()) < len(truth.streams) * n


def test_the_manifest_and_the_physio_log_say_what_was_wired(recordings) -> None:
    raw = recordings["coded"] / "raw" / "recordings" / KEY
    manifest = read_manifest(raw)
    assert {e.sync_source for e in manifest.streams.values()} == {"coded_train"}
    assert all(
        e.sync_source == "flashes"
        for e in read_manifest(recordings["flashes"] / "raw" / "recordings" / KEY).streams.values()
    )
    rows = (raw / "physio" / "physio_events.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "time_s,label"
    labels = [r.split(",")[1] for r in rows[1:]]
    times = np.array([float(r.split(",")[0]) for r in rows[1:]])
    truth = RecordingTruth.read(recordings["coded"] / "truth" / KEY / "truth.json")
    seen = truth.stream("physio").extra["seen_pulses"]
    assert labels.count("sync") == labels.count("sync_off") == len(seen)
    widths = (
        times[[i for i, label in enumerate(labels) if label == "sync_off"]]
        - times[[i for i, label in enumerate(labels) if label == "sync"]]
    )
    np.testing.assert_allclose(widths, 0.1, atol=1.5e-3)  # logged to the millisecond
    dataset = json.loads((recordings["coded"] / "raw" / "dataset.json").read_text(encoding="utf-8"))
    assert dataset["options"]["sync_source"] == "coded_train"
