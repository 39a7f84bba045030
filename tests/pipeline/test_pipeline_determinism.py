"""Same raw inputs, same bytes: a recording materialised twice gives identical files.

Compared file by file (sha256) over everything the recording owns in the store: the published
unit (Zarr tree, its Parquet partition of every table, its sync report PNG and JSON), the staged
streams and clock fit, and its repetition samples (Zarr and table). Run ids, wall-clock times
and temporary names must not leak into any of them.
"""

from __future__ import annotations

from pathlib import Path

import zarr
from codec_settings import DEFAULT_CODEC_SETTINGS
from pipeline_helpers import file_digests

from flexsync.pipelines.runner import run_recordings
from flexsync.storage import Store
from flexsync.storage.zarr_io import frame_codec_of

KEY = "S01_A01_T1"
TABLES = ("channel_quality", "clock_models", "dropped_frames", "recordings", "streams", "sync_events")


def _owned_by(key: str, relative: str) -> bool:
    # Every unit of the recording: its published recording, its staged streams and clock fit, its samples.
    return relative.startswith((f"recordings/{key}/", f"staging/{key}/", f"samples/{key}/"))


def _recording_digests(store, key: str) -> dict[str, str]:
    return {rel: digest for rel, digest in file_digests(store).items() if _owned_by(key, rel)}


def _relative(store: Store, path: Path) -> str:
    return path.relative_to(store.root).as_posix()


def test_fresh_store_and_rematerialisation_are_byte_identical(materialised, tmp_path):
    # run_recordings opens (and disposes) a throwaway instance per call: two independent runs.
    reference = _recording_digests(materialised.store, KEY)
    store = Store(materialised.store)
    assert {_relative(store, store.table_partition(table, KEY)) for table in TABLES} <= set(reference)
    reports = {_relative(store, store.report_file(KEY, name)) for name in ("sync_report.png", "sync_report.json")}
    reports |= {_relative(store, store.clock_fit_file(KEY, name)) for name in ("sync_report.png", "sync_report.json")}
    assert reports <= set(reference)
    frames = _relative(store, store.recording_path(KEY) / "streams" / "cam1" / "frames")
    assert sum(rel.startswith(f"{frames}/") for rel in reference) > 10
    clips = _relative(store, store.samples_path(KEY) / "video" / "cam1")
    assert sum(rel.startswith(f"{clips}/") for rel in reference) >= 2
    assert _relative(store, store.table_partition("samples", KEY)) in reference

    fresh = tmp_path / "fresh"
    first = run_recordings(materialised.raw, fresh, keys=[KEY])
    assert [r.success for r in first] == [True]
    once = _recording_digests(fresh, KEY)
    assert once == reference, _difference(reference, once)
    _assert_rematerialisation_is_identical(materialised.raw, fresh, first[0].run_id, reference)


def test_default_codec_store_rematerialises_byte_identical(materialised, tmp_path):
    """The default (H.264) frames too: libx264 is run deterministically, so a rerun rewrites the same bytes."""
    fresh = tmp_path / "h264"
    first = run_recordings(materialised.raw, fresh, keys=[KEY], settings=DEFAULT_CODEC_SETTINGS)
    assert [r.success for r in first] == [True]
    once = _recording_digests(fresh, KEY)
    frames = zarr.open_array(Store(fresh).recording_path(KEY) / "streams" / "cam1" / "frames", mode="r")
    assert frame_codec_of(frames)["compressor"] == "h264"
    _assert_rematerialisation_is_identical(materialised.raw, fresh, first[0].run_id, once, DEFAULT_CODEC_SETTINGS)


def _assert_rematerialisation_is_identical(raw, store, first_run_id, reference, settings=None) -> None:
    before = set(file_digests(store))
    again = run_recordings(raw, store, keys=[KEY], settings=settings)
    assert [r.success for r in again] == [True] and again[0].run_id != first_run_id
    twice = file_digests(store)
    assert {rel: d for rel, d in twice.items() if _owned_by(KEY, rel)} == reference
    assert set(twice) == before, "re-materialising left extra files behind"
    leftovers = [rel for rel in twice if any(part.startswith(".") for part in rel.split("/"))]
    assert leftovers == [], f"temporary files left in the store: {leftovers[:5]}"


def _difference(expected: dict[str, str], got: dict[str, str]) -> str:
    changed = sorted(rel for rel in expected.keys() & got.keys() if expected[rel] != got[rel])
    return (
        f"changed: {changed[:10]}; missing: {sorted(expected.keys() - got.keys())[:10]}; "
        f"extra: {sorted(got.keys() - expected.keys())[:10]}"
    )
