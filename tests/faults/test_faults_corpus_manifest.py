"""Fault corpus: the manifest, the paths it names and the recording folders; one batch, checked by
tests/faults/fault_checks.py::corpus_tests, and what the whole corpus covers.
"""

from __future__ import annotations

from fault_checks import corpus_tests

from flexsync.bench.faults import CORPUS, cases_of
from flexsync.raw.layout import check_recording_key

globals().update(corpus_tests(cases_of("manifest", "layout"), "manifest"))


def test_the_corpus_covers_every_stream_kind_the_manifest_and_each_named_fault():
    names = [case.name for case in CORPUS]
    assert len(set(names)) == len(names) >= 30
    assert {case.stream for case in CORPUS} == {"manifest", "layout", "video", "mocap", "emg", "physio", "annotations"}
    assert sorted({case.key for case in CORPUS}) == sorted(check_recording_key(case.key) for case in CORPUS)
    truncated = {case.stream for case in CORPUS if "_cut_" in case.name or case.name.endswith("_truncated")}
    assert truncated >= {"video", "mocap", "emg", "physio", "manifest"}
    assert [c.name for c in CORPUS if c.absurd] == ["c3d_huge_frame_count", "edf_huge_record_count"]
    assert {c.outcome for c in CORPUS} == {"fails", "warns", "accepted", "refused", "skipped"}
    # every case whose answer or publication is known wrong says why (the tests mark it xfail)
    assert all(c.pending.strip() for c in CORPUS if c.pending) and all(c.loses.strip() for c in CORPUS if c.loses)
