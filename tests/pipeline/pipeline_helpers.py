"""Helpers shared by the pipeline tests: file digests, raw-tree copies, manifest edits, check events.

Imported by the test modules of this folder (pytest puts the folder on ``sys.path``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from flexsync.storage import Store

__all__ = [
    "BAD",
    "CAM2",
    "CAM2_INPUT_ERROR",
    "GOOD",
    "REPORT_FILES",
    "REPO_ROOT",
    "STREAM_KINDS",
    "TABLES",
    "VENV_BIN",
    "assert_failed_alone",
    "assert_no_temporaries",
    "check_evaluations",
    "copy_published",
    "copy_raw_tree",
    "copy_staged",
    "file_digests",
    "published_digests",
    "rehash_in_manifest",
]

REPO_ROOT = Path(__file__).resolve().parents[2]

# The two generated recordings: the damaged-input tests break BAD and expect GOOD to go through.
BAD, GOOD = "S01_A01_T1", "S01_A13_T1"
CAM2 = "video/cam2.mp4"
CAM2_INPUT_ERROR = (
    rf"flexsync\.errors\.InputFileError: recording {BAD}, stream cam2, file \S+/recordings/{BAD}/video/cam2\.mp4: "
)

# The console scripts of the environment running the tests (the project's .venv under `make test`),
# so a subprocess computes with the same library versions as the test process.
VENV_BIN = Path(sys.executable).parent


def file_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, keyed by its path relative to ``root`` (posix)."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def copy_raw_tree(raw: Path, destination: Path) -> Path:
    """A private copy of a raw dataset root that a test may damage."""
    shutil.copytree(raw, destination)
    return destination


def rehash_in_manifest(recording_dir: Path, relative: str) -> None:
    """Record the current size and SHA-256 of ``relative`` in the recording's manifest.

    What a recorder that wrote a bad file would have done: the manifest agrees with the file,
    so only the reader can notice the damage.
    """
    manifest_path = recording_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    data = (recording_dir / relative).read_bytes()
    manifest["files"][relative] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetCheckEvaluation]:
    """Every asset check evaluation recorded for one run."""
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return [record.dagster_event.event_specific_data for record in records]


TABLES = ("channel_quality", "clock_models", "dropped_frames", "recordings", "streams", "sync_events")
REPORT_FILES = ("sync_report.png", "sync_report.json")
STREAM_KINDS = ("video", "mocap", "emg", "physio")
# The store's work folder: writes in progress and crash debris (docs/store-format.md).
WORK_DIR = ".work"


def assert_failed_alone(
    runs: list,
    store: Path,
    *,
    bad: str,
    good: str,
    step: str,
    pattern: str,
    failed_kind: str,
    previous: dict[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
) -> re.Match:
    """``bad`` failed in ``step`` with a message matching ``pattern``; ``good`` succeeded and is published;
    no temporary file is left; of ``bad`` nothing is published, or (with ``previous``, the digests of
    ``published_digests`` before the run) the earlier publication is untouched; in ``instance``, the
    stream asset of ``failed_kind`` (the kind of the damaged stream), the clock fit and the publish of
    ``bad`` never materialised, while the other kinds' stream assets did. Returns the match."""
    by_key = {run.key: run for run in runs}
    assert set(by_key) == {bad, good}
    assert by_key[good].success and by_key[good].failures == [], by_key[good].failures
    failed = by_key[bad]
    assert not failed.success
    assert len(failed.failures) == 1, failed.failures
    match = re.fullmatch(rf"{step}: {pattern}", failed.failures[0], flags=re.DOTALL)
    assert match, f"failure message {failed.failures[0]!r} does not match {pattern!r}"

    published = Store(store)
    assert published.recordings() == sorted({good, bad} if previous is not None else {good})
    group = published.open_recording(good)
    assert group.attrs["status"] == "complete" and group.attrs["recording"] == good
    for table in TABLES:
        assert published.table_partition(table, good).is_file(), table
    if previous is None:
        assert published_digests(store, bad) == {}, "a failed recording must not be published"
    else:
        assert published_digests(store, bad) == previous, "the earlier publication of the recording changed"
    if instance is not None:
        assert failed_kind in STREAM_KINDS, failed_kind
        for asset in (f"{failed_kind}_streams", "clock_models", "aligned_recording"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == {good}, asset
        # the streams share one step: the sound kinds of the bad recording are still staged
        for kind in STREAM_KINDS:
            if kind != failed_kind:
                assert instance.get_materialized_partitions(dg.AssetKey(f"{kind}_streams")) == {good, bad}, kind
    assert_no_temporaries(store)
    return match


def assert_no_temporaries(store: Path) -> None:
    """Nothing hidden in the store but its (empty) work folder ``.work``, where writers build."""
    work = store / WORK_DIR
    hidden = [path for path in store.rglob(".*") if path != work]
    assert hidden == [], f"temporary files left in the store: {hidden[:5]}"
    debris = sorted(work.iterdir()) if work.is_dir() else []
    assert debris == [], f"temporary files left in {work}: {debris[:5]}"


def published_digests(store: Path, key: str) -> dict[str, str]:
    """Digests of what readers see of a recording: its Zarr tree, its partition of every table and its
    sync report, keyed by their paths relative to the store root."""
    published = Store(store)
    digests = {}
    zarr_root = published.recording_path(key)
    if zarr_root.exists():
        digests.update({f"{_relative(store, zarr_root)}/{rel}": d for rel, d in file_digests(zarr_root).items()})
    members = [published.table_partition(table, key) for table in TABLES]
    members += [published.report_file(key, name) for name in REPORT_FILES]
    for path in members:
        if path.exists():
            digests[_relative(store, path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def copy_published(source_store: Path, store: Path, key: str) -> dict[str, str]:
    """Copy a recording's published unit (Zarr, table partitions, report) to another store; return its digests."""
    source, target = Store(source_store), Store(store)
    shutil.copytree(source.recording_path(key), target.recording_path(key))
    members = [(source.table_partition(t, key), target.table_partition(t, key)) for t in TABLES]
    members += [(source.report_file(key, n), target.report_file(key, n)) for n in REPORT_FILES]
    for origin, destination in members:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, destination)
    return published_digests(store, key)


def copy_staged(source_store: Path, store: Path, key: str, streams: Iterable[str]) -> None:
    """Stage ``streams`` of recording ``key`` in ``store`` as they are staged in ``source_store``."""
    source, target = Store(source_store), Store(store)
    for stream in streams:
        with target.write_staged_stream(key, stream) as folder:
            shutil.copytree(source.staged_stream_path(key, stream), folder, dirs_exist_ok=True)


def _relative(store: Path, path: Path) -> str:
    return path.relative_to(store).as_posix()
