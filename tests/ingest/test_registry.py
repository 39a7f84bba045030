"""The ingester registry: one ingester per stream kind, each with its checks in a fixed shape."""

from __future__ import annotations

import pytest

from flexsync.assets.streams import CHECK_SPECS, STREAM_ASSET_KEYS
from flexsync.errors import ManifestError
from flexsync.ingest.checks import STREAM_CHECKS
from flexsync.ingest.recording import RawRecording
from flexsync.ingest.registry import INGESTERS, ingester_for
from flexsync.raw.manifest import STREAM_KINDS


def test_one_ingester_per_manifest_kind() -> None:
    assert list(INGESTERS) == ["video", "mocap", "emg", "physio"]
    assert set(INGESTERS) == set(STREAM_KINDS)  # every kind the manifest accepts can be ingested
    for kind, ingester in INGESTERS.items():
        assert ingester.kind == kind
        assert ingester.description.strip() and ingester.time_noun.strip() and ingester.events_noun.strip()
        assert callable(ingester.stage) and callable(ingester.work_estimate)


@pytest.mark.parametrize("kind", ["video", "mocap", "emg", "physio"])
def test_checks_start_with_timestamps_and_end_with_sync_events(kind: str) -> None:
    checks = INGESTERS[kind].checks
    assert checks == STREAM_CHECKS[kind]
    assert len(checks) >= 2
    assert (checks[0].name, checks[0].severity) == ("timestamps_increasing", "error")
    assert (checks[-1].name, checks[-1].severity) == ("sync_events_found", "warn")
    names = [c.name for c in checks]
    assert len(set(names)) == len(names)
    assert "timestamps_increasing" not in names[1:] and "sync_events_found" not in names[:-1]


def test_the_stream_assets_and_their_checks_come_from_the_registry() -> None:
    assert STREAM_ASSET_KEYS == ["video_streams", "mocap_streams", "emg_streams", "physio_streams"]
    specs = {(spec.asset_key.to_user_string(), spec.name): spec for spec in CHECK_SPECS}
    expected = {(f"{kind}_streams", c.name): c for kind, i in INGESTERS.items() for c in i.checks}
    assert set(specs) == set(expected)
    for key, check in expected.items():
        assert specs[key].blocking is (check.severity == "error"), key


def test_ingester_for_finds_each_stream_by_its_kind(synth_dataset) -> None:
    raw, _, keys = synth_dataset
    recording = RawRecording.open(raw, keys[0])
    for name, entry in recording.manifest.streams.items():
        assert ingester_for(recording, name) is INGESTERS[entry.kind]


def test_ingester_for_a_kind_without_ingester_names_the_stream(synth_dataset, monkeypatch) -> None:
    raw, _, keys = synth_dataset
    recording = RawRecording.open(raw, keys[0])
    monkeypatch.delitem(INGESTERS, "physio")  # a kind the manifest knows but no ingester handles
    with pytest.raises(
        ManifestError,
        match=rf"recording {keys[0]}, stream physio, file .*manifest.json: stream 'physio' has kind 'physio', "
        r"which no ingester handles \(kinds: video, mocap, emg\)",
    ) as caught:
        ingester_for(recording, "physio")
    assert caught.value.stream == "physio"


def test_ingester_for_an_unknown_stream_lists_the_streams(synth_dataset) -> None:
    raw, _, keys = synth_dataset
    recording = RawRecording.open(raw, keys[0])
    with pytest.raises(ManifestError, match=r"stream 'cam6' is not in the manifest \(streams: .*cam1.*phone"):
        ingester_for(recording, "cam6")
