"""The pipeline never reads ground truth: its outputs cannot depend on the truth folder.

Dynamic: the same raw root is materialised into two stores, once with the generator's truth folder
in place (and ``FLEXSYNC_TRUTH_ROOT`` pointing at it) and once after the folder was renamed away;
every file of the two stores must be byte-identical. Static: no module of the pipeline's layers
imports ``flexsync.synth.truth`` or names ``truth.json``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from pipeline_helpers import REPO_ROOT, file_digests

from flexsync.pipelines.runner import run_recordings
from flexsync.storage import Store
from flexsync.synth.dataset import generate_dataset
from flexsync.synth.options import SynthOptions
from flexsync.synth.truth import RecordingTruth

PIPELINE_PACKAGES = ("ingest", "assets", "pipelines", "timing", "readers")
TRUTH_MODULE = "flexsync.synth.truth"
KEY = "S01_A01_T1"


def test_outputs_are_identical_with_and_without_the_truth_folder(tmp_path, monkeypatch):
    raw, truth = tmp_path / "raw", tmp_path / "truth"
    options = SynthOptions(
        seed=3,
        subjects=1,
        actions=("A01",),
        repetitions=3,
        width=192,
        height=108,
        phone_width=108,
        phone_height=192,
        missing_flash_probability=0.5,  # the fallback path runs too
    )
    assert generate_dataset(raw, truth, options) == [KEY]
    assert any(truth.rglob("truth.json"))

    monkeypatch.setenv("FLEXSYNC_TRUTH_ROOT", str(truth))
    with_truth = run_recordings(raw, tmp_path / "store_with_truth")
    truth.rename(tmp_path / "hidden")
    without_truth = run_recordings(raw, tmp_path / "store_without_truth")

    assert [(r.key, r.success, r.failures) for r in with_truth] == [
        (r.key, r.success, r.failures) for r in without_truth
    ]
    first = file_digests(tmp_path / "store_with_truth")
    second = file_digests(tmp_path / "store_without_truth")
    clock_models = Store(tmp_path / "store_with_truth").table_partition("clock_models", KEY)
    assert clock_models.relative_to(tmp_path / "store_with_truth").as_posix() in first, sorted(first)[:10]
    assert len(first) > 20
    changed = sorted(rel for rel in first.keys() & second.keys() if first[rel] != second[rel])
    assert (changed, sorted(first.keys() ^ second.keys())) == ([], [])

    # Seed 3 hides one flash from cam1, cam2 and phone: each keeps its one-event offset, confirmed
    # by motion cross-correlation, and the recording passes the clock gate and is published.
    truth_data = RecordingTruth.read(next((tmp_path / "hidden").rglob("truth.json")))
    one_missed = sorted(v for v, s in truth_data.streams.items() if len(s.extra.get("missed_flashes", [])) == 1)
    assert one_missed == ["cam1", "cam2", "phone"]
    store = Store(tmp_path / "store_with_truth")
    report = json.loads(store.report_file(KEY, "sync_report.json").read_text(encoding="utf-8"))
    assert sorted(report["fallback"]) == one_missed
    for view in one_missed:
        info = report["fallback"][view]
        assert (info["n_events"], info["used"], info["method"]) == (1, False, "events+offset-only")
        assert abs(info["event_minus_motion_s"]) <= 0.05
    methods = dict(store.read_table("clock_models", keys=[KEY]).select("stream", "method").iter_rows())
    assert {v: methods[v] for v in one_missed} == dict.fromkeys(one_missed, "events+offset-only")
    assert [r.success for r in with_truth] == [True]
    assert store.recordings() == [KEY] and (store.recording_path(KEY) / "zarr.json").is_file()


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, with ``from a import b`` also counted as ``a.b`` (b may be a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_pipeline_module_imports_the_truth():
    files = sorted(p for pkg in PIPELINE_PACKAGES for p in (REPO_ROOT / "flexsync" / pkg).rglob("*.py"))
    assert len(files) > 20 and any(f.name == "clocks.py" for f in files)
    offenders = [
        str(f.relative_to(REPO_ROOT))
        for f in files
        if any(m == TRUTH_MODULE or m.startswith(TRUTH_MODULE + ".") for m in _imported_modules(f))
        or TRUTH_MODULE in f.read_text(encoding="utf-8")
        or "truth.json" in f.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_import_scan_sees_a_truth_import(tmp_path):
    # The static test above must be able to fail: both import forms are recognised.
    sample = tmp_path / "sample.py"
    sample.write_text("from flexsync.synth import truth\nimport flexsync.synth.truth as t\n", encoding="utf-8")
    assert TRUTH_MODULE in _imported_modules(sample)
    sample.write_text("from flexsync.synth.truth import expected_model\n", encoding="utf-8")
    assert TRUTH_MODULE in _imported_modules(sample)
