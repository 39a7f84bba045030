"""Damaged EMG and physiology files, and a blocking check, fail their recording alone and loudly.

Each case damages S01_A01_T1 in a private copy of the raw tree and records the file's new hash
in the manifest (the recorder wrote it that way), so only the reader or ingest can notice. Both
recordings run; the other one must be published and nothing half-written may be visible.
"""

from __future__ import annotations

import re

import dagster as dg
from pipeline_helpers import (
    BAD,
    GOOD,
    assert_failed_alone,
    check_evaluations,
    copy_published,
    copy_staged,
    published_digests,
    rehash_in_manifest,
)

from flexsync.assets import aligned_recording, clock_models
from flexsync.assets.resources import FlexsyncResource
from flexsync.pipelines.runner import register_recordings, run_recordings
from flexsync.readers.registry import read_file
from flexsync.synth.edf_writer import write_emg_file

INPUT_ERROR = rf"flexsync\.errors\.InputFileError: recording {BAD}, "


def test_emg_file_missing_a_channel(raw_copy, instance, tmp_path):
    folder = raw_copy / "recordings" / BAD
    (signal,) = read_file(folder / "emg" / "emg.bdf", format="bdf", options={"name": "emg"}).signals.values()
    names = [n for n in signal.channel_names if n != "TRIG"]
    assert len(names) == 16
    missing = names[5]
    keep = [i for i, n in enumerate(signal.channel_names) if n not in ("TRIG", missing)]
    write_emg_file(
        folder / "emg" / "emg.bdf",
        channel_names=[signal.channel_names[i] for i in keep],
        rate_hz=signal.nominal_rate_hz,
        blocks=[(0, signal.data[:, keep])],
        trigger=signal.channel("TRIG"),
        fmt="bdf",
        start_datetime="2026-01-05T10:00:00",
    )
    rehash_in_manifest(folder, "emg/emg.bdf")
    store = tmp_path / "store"
    match = assert_failed_alone(
        run_recordings(raw_copy, store, instance=instance),
        store,
        bad=BAD,
        good=GOOD,
        instance=instance,
        step="recording_streams",
        failed_kind="emg",
        pattern=INPUT_ERROR + rf"stream emg, file \S+/recordings/{BAD}/emg/emg\.bdf: "
        r"expected 16 EMG channels besides 'TRIG', found 15: (.*)",
    )
    assert match[1].split(", ") == [n for n in names if n != missing]


def test_physio_timestamps_out_of_order_keep_the_earlier_publication(raw_copy, instance, tmp_path, materialised):
    """Two rows swapped: refused by the reader; the recording published before stays exactly as it was."""
    folder = raw_copy / "recordings" / BAD
    lines = (folder / "physio" / "physio.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[0].startswith("time_s,")
    lines[3], lines[4] = lines[4], lines[3]  # file lines 4 and 5
    (folder / "physio" / "physio.csv").write_text("".join(lines), encoding="utf-8")
    rehash_in_manifest(folder, "physio/physio.csv")
    store = tmp_path / "store"
    previous = copy_published(materialised.store, store, BAD)
    assert len(previous) > 50

    match = assert_failed_alone(
        run_recordings(raw_copy, store, instance=instance),
        store,
        bad=BAD,
        good=GOOD,
        instance=instance,
        step="recording_streams",
        failed_kind="physio",
        pattern=INPUT_ERROR + rf"stream physio, file \S+/recordings/{BAD}/physio/physio\.csv: "
        r"time column 'time_s' is not strictly increasing: line (\d+) has ([\d.]+) after ([\d.]+) \(1 such steps\)",
        previous=previous,
    )
    assert int(match[1]) == 5
    assert (float(match[2]), float(match[3])) == (float(lines[4].split(",")[0]), float(lines[3].split(",")[0]))


def test_failed_blocking_clock_check_stops_the_publish(materialised, instance, tmp_path):
    """A residual limit no video stream can meet: clock_residuals fails (ERROR, blocking), naming the
    recording and the worst stream, and the aligned recording is not re-published."""
    store = tmp_path / "store"
    copy_staged(materialised.store, store, BAD, ("cam1", "cam2", "cam3", "cam4", "phone", "mocap", "emg", "physio"))
    previous = copy_published(materialised.store, store, BAD)
    register_recordings(instance, [BAD])
    strict = FlexsyncResource(raw_root=str(materialised.raw), store_root=str(store), max_residual_s={"video": 1e-4})
    result = dg.materialize(
        [clock_models, aligned_recording],
        partition_key=BAD,
        instance=instance,
        resources={"flexsync": strict},
        raise_on_error=False,
    )
    assert not result.success
    failed = [e for e in check_evaluations(instance, result.run_id) if not e.passed]
    assert [(e.asset_key.to_user_string(), e.check_name, e.severity) for e in failed] == [
        ("clock_models", "clock_residuals", dg.AssetCheckSeverity.ERROR)
    ]
    assert failed[0].description is not None
    assert re.fullmatch(
        rf"recording {BAD}: 5 stream\(s\) not aligned well enough; worst (cam[1-4]|phone) "
        r"\(quality [\d.]+ ms > 0\.100 ms; sync events read from video/\1\.mp4\)"
        r"(; also|,) .*cam.*\.mp4\)",
        failed[0].description,
    ), failed[0].description
    assert instance.get_materialized_partitions(aligned_recording.key) == set()
    assert published_digests(store, BAD) == previous
