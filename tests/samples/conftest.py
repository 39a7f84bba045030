"""Fixtures for the training-product tests: a real store built by the pipeline, then its samples.

The generated raw root (``synth_dataset``: 1 subject, A01 and A13, 2 repetitions each) is
materialised by the Dagster runner once per test worker, then samples, the index and VideoQA
are built from it. Tests treat the store as read-only, except rebuilds that must give the
same bytes; tests that change inputs work on copies.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from codec_settings import DEFAULT_CODEC_SETTINGS

from flexsync.fkg import FitnessKnowledgeGraph, read_fkg
from flexsync.pipelines.runner import run_recordings
from flexsync.samples import SamplesResult, build_recording_samples, build_sample_index, build_videoqa
from flexsync.storage import Store


@dataclass(frozen=True)
class SampleStore:
    raw: Path
    store: Store
    keys: list[str]
    fkg: FitnessKnowledgeGraph
    results: dict[str, SamplesResult]
    build_s: dict[str, float]


def _tree_digest(path: Path) -> dict[str, str]:
    """sha256 of every file under ``path`` (or of ``path`` itself), keyed by relative name."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="session")
def tree_digest():
    """``tree_digest(path) -> {relative file: sha256}``: compare two builds byte for byte."""
    return _tree_digest


@pytest.fixture(scope="session")
def sample_store(synth_dataset, tmp_path_factory) -> SampleStore:
    raw, _, keys = synth_dataset
    store = Store(tmp_path_factory.mktemp("samples_store"))
    with dg.DagsterInstance.ephemeral() as instance:  # disposed: its temporary folder goes with it
        # The default codec: the samples' clips are cut from H.264 GOPs, as in a real store.
        runs = run_recordings(raw, store.root, instance=instance, settings=DEFAULT_CODEC_SETTINGS)
    failed = [(r.key, r.failures) for r in runs if not r.success]
    assert not failed, f"pipeline failed: {failed}"
    fkg = read_fkg(raw / "fkg.json")
    results, build_s = {}, {}
    for key in keys:
        start = time.perf_counter()
        results[key] = build_recording_samples(raw, store, key)
        build_s[key] = time.perf_counter() - start
    build_sample_index(store)
    build_videoqa(store, fkg)
    return SampleStore(raw=raw, store=store, keys=list(keys), fkg=fkg, results=results, build_s=build_s)
