"""A damaged video fails its own recording, with a message that names it, and nothing else.

Each case damages cam2.mp4 of S01_A01_T1 in a private copy of the raw tree and runs both
recordings: the damaged one must fail in its cam2 step (so clock fit and publish never run),
the other must be published, and nothing half-written may be visible.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_helpers import BAD, CAM2, CAM2_INPUT_ERROR, GOOD, assert_failed_alone, rehash_in_manifest

from flexsync.pipelines.runner import run_recordings


def _run(raw: Path, store: Path, instance) -> list:
    # One process: the worker-process path is exercised by `flexsync run` in test_pipeline_cli.
    return run_recordings(raw, store, instance=instance)


def test_truncated_video_fails_the_manifest_hash(raw_copy, instance, tmp_path):
    path = raw_copy / "recordings" / BAD / CAM2
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    store = tmp_path / "store"
    match = assert_failed_alone(
        _run(raw_copy, store, instance),
        store,
        bad=BAD,
        good=GOOD,
        instance=instance,
        step="recording_streams",
        failed_kind="video",
        pattern=CAM2_INPUT_ERROR + r"content does not match the manifest \(sha256 [0-9a-f]{12}… vs [0-9a-f]{12}…, "
        r"(\d+) vs (\d+) bytes\): the file changed or was damaged after recording",
    )
    assert (int(match[1]), int(match[2])) == (len(data) // 2, len(data))


def test_truncated_video_with_matching_manifest_is_rejected_by_the_reader(raw_copy, instance, tmp_path):
    """The recorder itself wrote the short file (hash recorded): the container cannot be opened."""
    folder = raw_copy / "recordings" / BAD
    data = (folder / CAM2).read_bytes()
    assert data.find(b"moov") > data.find(b"mdat")  # the index is at the end: cut, it is lost
    (folder / CAM2).write_bytes(data[: len(data) // 2])
    rehash_in_manifest(folder, CAM2)
    store = tmp_path / "store"
    assert_failed_alone(
        _run(raw_copy, store, instance),
        store,
        bad=BAD,
        good=GOOD,
        instance=instance,
        step="recording_streams",
        failed_kind="video",
        pattern=CAM2_INPUT_ERROR + r"cannot open as a video container \(truncated, wrong header or not a video\?\): .*",
    )
