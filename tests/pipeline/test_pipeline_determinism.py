"""Same raw inputs, same bytes: a recording materialised twice gives identical files.

Compared file by file (sha256) over everything the recording owns in the store: the published
Zarr tree, the staged streams, its repetition samples, its Parquet partition of every table and
its sync report (PNG and JSON). Run ids, wall-clock times and temporary names must not leak into any of them.
"""

from __future__ import annotations

from pipeline_helpers import file_digests

from flexsync.pipelines.runner import run_recordings

KEY = "S01_A01_T1"
TABLES = ("channel_quality", "clock_models", "dropped_frames", "recordings", "streams", "sync_events")


def _owned_by(key: str, relative: str) -> bool:
    owned = (f"recordings/{key}.zarr/", f"staging/{key}/", f"reports/{key}/", f"samples/{key}.zarr/")
    return relative.startswith(owned) or (relative.startswith("tables/") and relative.endswith(f"/{key}.parquet"))


def _recording_digests(store, key: str) -> dict[str, str]:
    return {rel: digest for rel, digest in file_digests(store).items() if _owned_by(key, rel)}


def test_fresh_store_and_rematerialisation_are_byte_identical(materialised, tmp_path):
    # run_recordings opens (and disposes) a throwaway instance per call: two independent runs.
    reference = _recording_digests(materialised.store, KEY)
    assert {f"tables/{table}/{KEY}.parquet" for table in TABLES} <= set(reference)
    assert {f"reports/{KEY}/sync_report.png", f"reports/{KEY}/sync_report.json"} <= set(reference)
    assert sum(rel.startswith(f"recordings/{KEY}.zarr/streams/cam1/frames/") for rel in reference) > 10
    assert sum(rel.startswith(f"samples/{KEY}.zarr/video/cam1/") for rel in reference) >= 2

    fresh = tmp_path / "fresh"
    first = run_recordings(materialised.raw, fresh, keys=[KEY])
    assert [r.success for r in first] == [True]
    once = _recording_digests(fresh, KEY)
    assert once == reference, _difference(reference, once)

    again = run_recordings(materialised.raw, fresh, keys=[KEY])
    assert [r.success for r in again] == [True] and again[0].run_id != first[0].run_id
    twice = file_digests(fresh)
    assert {rel: d for rel, d in twice.items() if _owned_by(KEY, rel)} == reference
    assert set(twice) == set(once), "re-materialising left extra files behind"
    leftovers = [rel for rel in twice if any(part.startswith(".") for part in rel.split("/"))]
    assert leftovers == [], f"temporary files left in the store: {leftovers[:5]}"


def _difference(expected: dict[str, str], got: dict[str, str]) -> str:
    changed = sorted(rel for rel in expected.keys() & got.keys() if expected[rel] != got[rel])
    return (
        f"changed: {changed[:10]}; missing: {sorted(expected.keys() - got.keys())[:10]}; "
        f"extra: {sorted(got.keys() - expected.keys())[:10]}"
    )
