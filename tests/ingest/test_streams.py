"""The ingest skeleton every stream kind shares (``flexsync.ingest.streams``).

A stand-in ingester writes hand-built device times, so the shared checks (timestamps increasing,
sync events found) are driven exactly; the real physio and mocap ingesters run on a generated
recording where a real file is needed. Also: errors name the recording and the stream, a failed
ingest leaves neither a staged stream nor debris, and ``ingest_streams`` reports every stream in
the order asked, a broken one as its exception.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from flexsync.config import PipelineSettings
from flexsync.errors import InputFileError, ManifestError, MissingInputError
from flexsync.ingest import registry
from flexsync.ingest.checks import CheckDef, outcome
from flexsync.ingest.contract import StageOutput, StreamResult, StreamSource
from flexsync.ingest.recording import RawRecording, file_digest
from flexsync.ingest.staging import SyncEvent, read_staged, strictly_increasing_problem
from flexsync.ingest.streams import ingest_stream, ingest_streams, streams_of_kind
from flexsync.storage.store import Store
from flexsync.storage.zarr_io import open_group_for_write, write_array

SETTINGS = PipelineSettings()
OWN_CHECK = CheckDef("own_check", "warn", "The stand-in's own check.")
CHECKS = (
    CheckDef("timestamps_increasing", "error", "increasing"),
    OWN_CHECK,
    CheckDef("sync_events_found", "warn", "found"),
)


def _events(*labels_and_times: tuple[str, float]) -> list[SyncEvent]:
    return [SyncEvent(t, 1e-3, "log", label) for label, t in labels_and_times]


@dataclass
class StandIn:
    """An ingester that stages hand-built device times (and can fail half-way through)."""

    t_device: np.ndarray
    events: list[SyncEvent] = field(default_factory=list)
    no_sync_reason: str | None = None
    fail: Exception | None = None
    work: float = 1.0
    kind: str = "physio"
    description: str = "stand-in"
    checks: tuple[CheckDef, ...] = CHECKS
    time_noun: str = "ticks"
    events_noun: str = "beeps"

    def work_estimate(self, source_path: Path) -> float:
        return self.work

    def stage(self, source: StreamSource, group_dir: Path) -> StageOutput:
        group = open_group_for_write(group_dir, {"kind": self.kind})
        write_array(group, "t_device", self.t_device)
        if self.fail is not None:
            (group_dir / "half-written.bin").write_bytes(b"x" * 100)
            raise self.fail
        summary = source.summary(t_device=self.t_device, n_channels=2, sync_events=self.events, warnings=["w1"])
        group.attrs.update({"kind": self.kind, "ingest": summary.to_attrs()})
        return StageOutput(
            summary=summary,
            t_device=self.t_device,
            metadata={"samples": int(self.t_device.size)},
            checks=[outcome(OWN_CHECK, True, f"{source.where}: own check ran")],
            no_sync_reason=self.no_sync_reason,
        )


@pytest.fixture
def recording(synth_dataset) -> RawRecording:
    raw, _, keys = synth_dataset
    return RawRecording.open(raw, keys[0])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def _use(monkeypatch, stand_ins: dict[str, StandIn]) -> None:
    """Ingest the named streams with stand-ins, the others with their real ingesters."""
    real = registry.ingester_for

    def ingester_for(recording, stream):
        return stand_ins[stream] if stream in stand_ins else real(recording, stream)

    monkeypatch.setattr("flexsync.ingest.streams.ingester_for", ingester_for)


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _debris(store: Store) -> list[str]:
    """Hidden entries anywhere in the store: writes in progress or left by a failed writer."""
    return sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob(".*") if p.name != ".work") + sorted(
        p.name for p in (store.root / ".work").iterdir() if (store.root / ".work").is_dir()
    )


# -- the shared checks ------------------------------------------------------------------------------


def test_passing_stream_reports_its_checks_in_registry_order(monkeypatch, recording, store) -> None:
    t = np.arange(12) * 0.25
    _use(monkeypatch, {"physio": StandIn(t, _events(("end", 2.5), ("start", 0.5)))})
    result = ingest_stream(recording, "physio", store, SETTINGS)
    where = f"recording {recording.key}, stream physio"
    assert [c.name for c in result.checks] == ["timestamps_increasing", "own_check", "sync_events_found"]
    timestamps, own, sync = result.checks
    assert (timestamps.passed, timestamps.severity, timestamps.description) == (
        True, "error", f"{where}: ticks strictly increasing",
    )  # fmt: skip
    assert own.description == f"{where}: own check ran"
    assert (sync.passed, sync.severity, sync.description) == (True, "warn", f"{where}: beeps found: end, start")
    assert sync.metadata["n_events"] == 2
    assert (result.stream, result.kind, result.metadata, result.warnings) == (
        "physio",
        "physio",
        {"samples": 12},
        ["w1"],
    )
    staged = read_staged(store, recording.key, "physio")
    sha256, size = file_digest(recording.stream_path("physio"))
    assert (staged.summary.sha256, staged.summary.bytes, staged.summary.n_samples) == (sha256, size, 12)
    assert staged.summary.measured_rate_hz == pytest.approx(4.0)
    np.testing.assert_array_equal(staged.array("t_device"), t)


@pytest.mark.parametrize(
    ("t_device", "expected"),
    [
        ([0.0, 1.0, 1.0, 2.0], "1 non-increasing steps; first at sample 2: 1.000000 s then 1.000000 s"),
        ([0.0, 2.0, 1.0, 3.0, 2.5], "2 non-increasing steps; first at sample 2: 2.000000 s then 1.000000 s"),
        ([0.0, np.nan, 2.0, np.inf], "2 timestamps are not finite"),
    ],
)
def test_timestamp_check_fails_naming_where(monkeypatch, recording, store, t_device, expected) -> None:
    t = np.asarray(t_device)
    assert strictly_increasing_problem(t) == expected
    _use(monkeypatch, {"physio": StandIn(t, _events(("start", 0.0), ("end", 2.0)))})
    timestamps = ingest_stream(recording, "physio", store, SETTINGS).checks[0]
    assert not timestamps.passed
    assert timestamps.description == f"recording {recording.key}, stream physio: {expected}"


def test_strictly_increasing_problem_accepts_increasing_and_refuses_empty() -> None:
    assert strictly_increasing_problem(np.array([0.0, 1e-9, 5.0])) is None
    assert strictly_increasing_problem(np.array([])) == "no samples"


@pytest.mark.parametrize(
    ("events", "text", "n_events"),
    [(_events(("start", 0.5)), "beeps found: start", 1), ([], "beeps found: none", 0)],
)
def test_sync_check_fails_short_of_two_events(monkeypatch, recording, store, events, text, n_events) -> None:
    _use(monkeypatch, {"physio": StandIn(np.arange(5.0), events)})
    sync = ingest_stream(recording, "physio", store, SETTINGS).checks[-1]
    assert (sync.passed, sync.description) == (False, f"recording {recording.key}, stream physio: {text}")
    assert sync.metadata["n_events"] == n_events


def test_no_sync_reason_makes_the_sync_check_pass_and_says_why(monkeypatch, recording, store) -> None:
    reason = "trigger_channel is null in the manifest"
    _use(monkeypatch, {"physio": StandIn(np.arange(5.0), [], no_sync_reason=reason)})
    sync = ingest_stream(recording, "physio", store, SETTINGS).checks[-1]
    assert sync.passed
    assert sync.description == f"recording {recording.key}, stream physio: {reason}: no sync events expected"
    assert sync.metadata["n_events"] == 0


# -- errors -----------------------------------------------------------------------------------------


def test_reader_error_is_reraised_naming_recording_and_stream(monkeypatch, recording, store) -> None:
    path = recording.stream_path("physio")

    def broken_reader(file, **kwargs):
        raise InputFileError("row 3 has 2 columns, expected 3", path=file)

    monkeypatch.setattr("flexsync.ingest.physio.read_file", broken_reader)  # the real physio ingester
    with pytest.raises(InputFileError, match=r"row 3 has 2 columns") as caught:
        ingest_stream(recording, "physio", store, SETTINGS)
    error = caught.value
    assert str(error) == f"recording {recording.key}, stream physio, file {path}: row 3 has 2 columns, expected 3"
    assert (error.recording, error.stream, error.path) == (recording.key, "physio", path)
    assert isinstance(error.__cause__, InputFileError) and error.__cause__.stream is None
    with pytest.raises(MissingInputError, match="staged stream not found"):
        store.staged_stream_path(recording.key, "physio")


def test_other_errors_pass_through_unchanged(monkeypatch, recording, store) -> None:
    boom = RuntimeError("decoder crashed")
    _use(monkeypatch, {"physio": StandIn(np.arange(3.0), fail=boom)})
    with pytest.raises(RuntimeError, match=r"^decoder crashed$") as caught:
        ingest_stream(recording, "physio", store, SETTINGS)
    assert caught.value is boom


def test_a_file_changed_after_the_manifest_is_refused_naming_the_stream(synth_dataset, tmp_path, store) -> None:
    raw, _, keys = synth_dataset
    copy = tmp_path / "raw"
    shutil.copytree(raw, copy)
    recording = RawRecording.open(copy, keys[0])
    with recording.stream_path("physio").open("a") as handle:
        handle.write("999.000,60.0,12.0\n")
    with pytest.raises(InputFileError, match=rf"recording {keys[0]}, stream physio, file .*content does not match"):
        ingest_stream(recording, "physio", store, SETTINGS)


def test_unknown_stream_name_is_a_manifest_error(recording, store) -> None:
    with pytest.raises(ManifestError, match=r"stream 'cam9' is not in the manifest \(streams: "):
        ingest_stream(recording, "cam9", store, SETTINGS)


# -- atomicity ----------------------------------------------------------------------------------------


def test_failed_first_ingest_leaves_no_staged_stream_and_no_debris(monkeypatch, recording, store) -> None:
    _use(monkeypatch, {"physio": StandIn(np.arange(3.0), fail=InputFileError("bad"))})
    with pytest.raises(InputFileError, match=rf"recording {recording.key}, stream physio: bad"):
        ingest_stream(recording, "physio", store, SETTINGS)
    with pytest.raises(MissingInputError, match="staged stream not found"):
        store.staged_stream_path(recording.key, "physio")
    assert _debris(store) == []
    staging = store.root / "staging" / recording.key
    assert not staging.exists() or list(staging.iterdir()) == []


def test_failed_reingest_keeps_the_previous_staged_stream_byte_identical(monkeypatch, recording, store) -> None:
    ingest_stream(recording, "physio", store, SETTINGS)  # the real ingester
    path = store.staged_stream_path(recording.key, "physio")
    before = _digest(path)
    assert "zarr.json" in before and len(before) > 2
    _use(monkeypatch, {"physio": StandIn(np.arange(3.0), fail=InputFileError("truncated"))})
    with pytest.raises(InputFileError, match="truncated"):
        ingest_stream(recording, "physio", store, SETTINGS)
    assert _digest(path) == before
    assert _debris(store) == []
    assert read_staged(store, recording.key, "physio").summary.n_samples > 10


# -- several streams ------------------------------------------------------------------------------------


def test_ingest_streams_yields_in_the_order_asked_and_an_error_for_the_broken_one(
    monkeypatch, recording, store
) -> None:
    broken = StandIn(np.arange(3.0), fail=InputFileError("no trigger channel"), work=1e12)  # scheduled first
    _use(monkeypatch, {"emg": broken})
    asked = ["physio", "emg", "mocap"]
    results = list(ingest_streams(recording, asked, store, SETTINGS, workers=2))
    assert [name for name, _ in results] == asked
    outcome_of = dict(results)
    assert isinstance(outcome_of["emg"], InputFileError)
    assert str(outcome_of["emg"]) == f"recording {recording.key}, stream emg: no trigger channel"
    for name in ("physio", "mocap"):
        result = outcome_of[name]
        assert isinstance(result, StreamResult) and (result.stream, result.kind) == (name, name)
        assert all(c.passed for c in result.checks), [c.description for c in result.checks]
        assert read_staged(store, recording.key, name).summary.stream == name
    with pytest.raises(MissingInputError, match="staged stream not found"):
        store.staged_stream_path(recording.key, "emg")
    assert _debris(store) == []
    again = list(ingest_streams(recording, ["mocap", "physio"], store, SETTINGS, workers=1))
    assert [name for name, _ in again] == ["mocap", "physio"]


def test_streams_of_kind_follow_the_manifest(recording) -> None:
    videos = streams_of_kind(recording, "video")
    assert videos == [n for n, e in recording.manifest.streams.items() if e.kind == "video"]
    assert sorted(videos) == ["cam1", "cam2", "cam3", "cam4", "phone"]
    assert streams_of_kind(recording, "emg") == ["emg"]
    assert streams_of_kind(recording, "eeg") == []
