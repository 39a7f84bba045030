"""The pipeline writes a store on S3 that is byte for byte a local run's, and every reader reads it back.

One recording of the generated dataset is materialised twice, into a local folder and into
``s3://<bucket>/pipeline`` on the real S3 server of conftest.py. The object store must hold each
file of the local run under its unit's committed version, at the same relative path with the
same sha256, and nothing else; the Store API, zarr and the loaders must read the same values from
S3 as from the folder, with a fresh working copy (what another machine would have).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from polars.testing import assert_frame_equal
from zarr.storage import ObjectStore

from flexsync.loaders.windows import MultimodalWindowDataset
from flexsync.pipelines.runner import run_recordings
from flexsync.storage import Store
from flexsync.storage.object_store import ObjectClient
from flexsync.storage.remote_units import COMMIT_FILE, VERSION_MARK, Commit
from flexsync.storage.urls import parse_root_url


@dataclass(frozen=True)
class Runs:
    key: str
    local: Path
    url: str
    seconds: dict[str, float]
    uploads: dict[str, tuple[int, int]]  # unit -> (bytes sent, bytes copied on the server), from the log


class _Uploads(logging.Handler):
    """Collects flexsync.storage.remote_units' "uploaded <unit> <version>: ..." records."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: dict[str, tuple[int, int]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("uploaded ") and len(record.args) == 5:
            unit, _, _, sent, copied = record.args
            self.seen[unit] = (int(sent), int(copied))


@pytest.fixture(scope="module")
def runs(synth_dataset, s3_server, tmp_path_factory) -> Iterator[Runs]:
    """The last generated recording materialised into a local folder and into the S3 store."""
    raw, _, keys = synth_dataset
    key = keys[-1]
    base = tmp_path_factory.mktemp("objectstore_pipeline")
    local, url = base / "local", s3_server.url("pipeline")
    seconds = {}
    uploads, logger = _Uploads(), logging.getLogger("flexsync.storage.remote_units")
    level = logger.level
    logger.addHandler(uploads)
    logger.setLevel(logging.INFO)
    try:
        with pytest.MonkeyPatch.context() as env:
            for name, value in s3_server.env(base / "writer-cache").items():
                env.setenv(name, value)
            for target in (local, url):
                started = time.perf_counter()
                with dg.DagsterInstance.ephemeral() as instance:
                    done = run_recordings(raw, target, keys=[key], instance=instance)
                assert [(r.success, r.failures) for r in done] == [(True, [])]
                seconds["s3" if target == url else "local"] = time.perf_counter() - started
            yield Runs(key=key, local=local, url=url, seconds=seconds, uploads=dict(uploads.seen))
    finally:
        logger.removeHandler(uploads)
        logger.setLevel(level)


def _local_files(root: Path) -> dict[str, str]:
    """sha256 of every file of a local store outside hidden folders (what readers see)."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    }


def test_the_object_store_holds_the_local_run_byte_for_byte(runs):
    client = ObjectClient(parse_root_url(runs.url))
    objects = {info.key: info.size for info in client.list("")}
    commits = [
        Commit.from_bytes(client.get(key), where=key) for key in sorted(objects) if key.endswith(f"/{COMMIT_FILE}")
    ]
    units = sorted(c.unit for c in commits)
    assert units == sorted(
        [f"recordings/{runs.key}", f"samples/{runs.key}", f"staging/{runs.key}/clock"]
        + [f"staging/{runs.key}/{s}.zarr" for s in ("cam1", "cam2", "cam3", "cam4", "emg", "mocap", "phone", "physio")]
    )
    remote: dict[str, str] = {}
    for commit in commits:
        version = f"{commit.unit}/{VERSION_MARK}{commit.version}/"
        stored = {k[len(version) :]: size for k, size in objects.items() if k.startswith(version)}
        assert stored == {f.path: f.size for f in commit.files}, commit.unit  # the version is exactly its record
        for entry in commit.files:
            remote[f"{commit.unit}/{entry.path}"] = entry.sha256
    # Every object's bytes, fetched back from the server, hash to what the record says.
    pairs = [(c.key(f.path), f.sha256) for c in commits for f in c.files]
    fetched = client.map(lambda pair: hashlib.sha256(client.get(pair[0])).hexdigest() == pair[1], pairs)
    assert len(fetched) == len(remote) and all(fetched)
    assert remote == _local_files(runs.local)
    # Nothing else on the store: no debris, no probe, no uncommitted version.
    assert len(objects) == len(remote) + len(commits)
    assert len(remote) > 600 and sum(objects.values()) > 100e6


def test_the_store_api_reads_s3_like_the_local_folder(runs, s3_env):
    remote, local = Store(runs.url), Store(runs.local)  # a fresh working copy: another machine
    assert type(remote).__name__ == "RemoteStore" and remote.recordings() == local.recordings() == [runs.key]
    assert remote.samples_keys() == [runs.key]
    for table in ("streams", "clock_models", "sync_events", "dropped_frames"):
        assert_frame_equal(remote.read_table(table), local.read_table(table))
    assert remote.read_report(runs.key) == local.read_report(runs.key)
    # Not in the working copy: opened through zarr's ObjectStore, chunks fetched on demand.
    group = remote.open_recording(runs.key)
    assert isinstance(group.store, ObjectStore)
    mine = local.open_recording(runs.key)
    assert group.attrs.asdict() == mine.attrs.asdict()
    frames = group["streams/cam1/frames"]
    assert frames.shape == mine["streams/cam1/frames"].shape and frames.shape[0] > 100
    np.testing.assert_array_equal(frames[20:40], mine["streams/cam1/frames"][20:40])
    np.testing.assert_array_equal(group["grid/pose"][:], mine["grid/pose"][:])
    assert remote.open_samples(runs.key)["video/cam1"].shape == local.open_samples(runs.key)["video/cam1"].shape
    # Paths are fetched into the working copy, byte for byte, and only the member asked for.
    partition = remote.table_partition("streams", runs.key)
    assert partition.read_bytes() == local.table_partition("streams", runs.key).read_bytes()
    assert not (partition.parents[1] / "recording.zarr").exists()


def test_the_loader_reads_samples_from_s3_equal_to_local(runs, s3_env):
    options = {"source": "samples", "window_frames": 32, "streams": ("video", "pose", "emg_envelope", "physio")}
    remote = MultimodalWindowDataset(runs.url, **options)
    local = MultimodalWindowDataset(runs.local, **options)
    assert len(remote) == len(local) > 4
    for index in (0, len(local) - 1):
        got, want = remote[index], local[index]
        assert got.keys() == want.keys() and got["sample_id"] == want["sample_id"]
        for name, value in want.items():
            if isinstance(value, np.ndarray):
                assert got[name].dtype == value.dtype and got[name].shape == value.shape, name
                np.testing.assert_array_equal(got[name], value, err_msg=name)
            else:
                assert got[name] == value, name
    frames = remote[0]["video_cam1"]
    assert frames.ndim == 4 and frames.shape[0] == 32 and frames.dtype == np.uint8 and frames.any()


def test_a_recording_copies_its_staged_chunks_on_the_server_instead_of_uploading_them(runs):
    """Locally the published frames are hard links of the staged ones; on S3 they are server-side copies."""
    client = ObjectClient(parse_root_url(runs.url))
    units = {u: Commit.from_bytes(client.get(f"{u}/{COMMIT_FILE}"), where=u) for u in runs.uploads}
    recording = units[f"recordings/{runs.key}"]
    staged = {f.sha256 for unit, c in units.items() if unit.startswith("staging/") for f in c.files}
    shared = sum(f.size for f in recording.files if f.sha256 in staged)
    sent, copied = runs.uploads[recording.unit]
    assert shared > 0.5 * recording.size  # the frames dominate a recording
    assert copied >= shared and sent + copied == recording.size
