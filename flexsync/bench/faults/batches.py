"""Corpus batches: clone, publish, damage and rerun a set of cases in one run_recordings, and judge each case."""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flexsync.bench.faults.corpus import FaultCase
from flexsync.bench.faults.readback import recording_problems, unit_digests
from flexsync.bench.faults.targets import (
    FAULT_SETTINGS,
    FAULT_SYNTH_OPTIONS,
    GOOD_KEY,
    OUTSIDE_DIR,
    SOURCE_KEY,
    Target,
    clone_recording,
)
from flexsync.raw.layout import RECORDINGS_DIR
from flexsync.storage.store import Store
from flexsync.synth.options import SynthOptions

# -- building and running a corpus batch ------------------------------------------------------------------------

ROOT_FILES = ("dataset.json", "fkg.json", "subjects.csv")


def generate_base(raw_root: Path, truth_root: Path, options: SynthOptions = FAULT_SYNTH_OPTIONS) -> list[str]:
    """Generate the small raw root every corpus batch and crash run starts from; return its keys."""
    from flexsync.synth.dataset import generate_dataset

    keys = generate_dataset(raw_root, truth_root, options)
    if SOURCE_KEY not in keys or GOOD_KEY not in keys:
        raise ValueError(f"the fault corpus needs recordings {SOURCE_KEY} and {GOOD_KEY}; the options gave {keys}")
    return keys


def make_batch_root(base_raw: Path, raw_root: Path, cases: Sequence[FaultCase]) -> Path:
    """A raw root with the untouched ``GOOD_KEY`` and one sound clone of ``SOURCE_KEY`` per case (``case.key``)."""
    (raw_root / RECORDINGS_DIR).mkdir(parents=True)
    for name in ROOT_FILES:
        shutil.copyfile(base_raw / name, raw_root / name)
    shutil.copytree(base_raw / RECORDINGS_DIR / GOOD_KEY, raw_root / RECORDINGS_DIR / GOOD_KEY)
    for case in cases:
        clone_recording(base_raw / RECORDINGS_DIR / SOURCE_KEY, raw_root, case.key)
    return raw_root


def damage_corpus(raw_root: Path, cases: Sequence[FaultCase]) -> None:
    """Apply each case's damage to its clone (``outside/<key>/`` beside the raw root is the case's own)."""
    for case in cases:
        outside = raw_root.parent / OUTSIDE_DIR / case.key
        outside.mkdir(parents=True, exist_ok=True)
        case.damage(Target(raw_root=raw_root, key=case.key, outside=outside))


def prepublish(
    raw_root: Path,
    store_root: Path,
    keys: Iterable[str],
    *,
    reference_store: Path,
    source: str = SOURCE_KEY,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, str]]:
    """Publish each (still sound) clone ``key`` of ``source`` into ``store_root``; return each unit's digests.

    A clone's stream files are the source's byte for byte, so its staged streams are copied from
    ``reference_store`` (a clean run that staged ``source``); the clock fit and the publish then run
    for the clone's key as the pipeline runs them. Every case so has a publication its rerun over
    damaged input could lose, for a third of the cost of a run.
    """
    from flexsync.ingest.align import publish_recording
    from flexsync.ingest.clocks import fit_recording_clocks
    from flexsync.ingest.recording import RawRecording
    from flexsync.pipelines.runner import make_resource

    resource = make_resource(raw_root, store_root, FAULT_SETTINGS if settings is None else settings)
    store, pipeline_settings = resource.store(), resource.settings()
    staged = Path(reference_store) / "staging" / source
    digests = {}
    for key in keys:
        recording = RawRecording.open(raw_root, key)
        for stream in recording.manifest.streams:
            with store.write_staged_stream(key, stream) as folder:
                shutil.copytree(staged / f"{stream}.zarr", folder, dirs_exist_ok=True)
        fit_recording_clocks(recording, store, pipeline_settings)
        publish_recording(recording, store, pipeline_settings)
        digests[key] = unit_digests(store_root, key)
    return digests


class _LogCollector(logging.Handler):
    """flexsync's own warnings (``flexsync.*`` loggers) while a batch runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("flexsync"):
            self.messages.append(f"{record.name}: {record.getMessage()}")


@dataclass
class BatchRun:
    """One ``run_recordings`` over a raw root: the runs by key, each run's logged warnings, flexsync's warnings."""

    runs: dict[str, Any]
    run_warnings: dict[str, list[str]]
    warnings: list[str]
    seconds: float


def run_corpus_batch(
    raw_root: Path, store_root: Path, instance: Any, *, settings: Mapping[str, Any] | None = None
) -> BatchRun:
    """Run every complete recording of ``raw_root`` into ``store_root`` in-process, one run each, in ``instance``."""
    from flexsync.pipelines.runner import run_recordings

    collector = _LogCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    started = time.perf_counter()
    try:
        runs = run_recordings(
            raw_root, store_root, instance=instance, settings=FAULT_SETTINGS if settings is None else settings
        )
    finally:
        root.removeHandler(collector)
    seconds = time.perf_counter() - started
    run_warnings = {
        run.key: [
            entry.user_message
            for entry in instance.all_logs(run.run_id)
            if entry.level >= logging.WARNING and entry.user_message
        ]
        for run in runs
    }
    return BatchRun({run.key: run for run in runs}, run_warnings, collector.messages, seconds)


def run_text(run: Any) -> str:
    """What a run said was wrong: its step failures, then its failed checks, one per line."""
    return "\n".join([*run.failures, *run.failed_checks])


@dataclass
class CaseResult:
    """How the pipeline answered one case. ``answer_problems``: what is unclear in its answer;
    ``kept_problems``: what it lost or changed that it should have kept. Both empty: as expected."""

    name: str
    key: str
    stream: str
    outcome: str
    ran: bool
    success: bool | None
    text: str
    answer_problems: list[str] = field(default_factory=list)
    kept_problems: list[str] = field(default_factory=list)
    pending: str | None = None
    loses: str | None = None

    @property
    def clear(self) -> bool:
        return not self.answer_problems

    @property
    def lost(self) -> bool:
        return bool(self.kept_problems)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "clear": self.clear, "lost": self.lost}


def evaluate_case(case: FaultCase, batch: BatchRun, store_root: Path, before: Mapping[str, str]) -> CaseResult:
    """Judge the answer to ``case`` in ``batch``; ``before``: the unit's digests before it (empty: none)."""
    store = Store(store_root)
    run = batch.runs.get(case.folder)
    answer: list[str] = []
    kept: list[str] = []
    if run is None:
        text = "\n".join(batch.warnings)
    else:
        text = run_text(run) + (
            "\n" + "\n".join(batch.run_warnings.get(case.key, [])) if case.outcome == "warns" else ""
        )
    said = re.search(case.expect, text) is not None if case.expect else True
    after = unit_digests(store_root, case.key)
    if case.outcome == "fails":
        if run is None:
            answer.append("the recording was not run")
        elif run.success:
            answer.append("the run succeeded on damaged input")
        else:
            if case.key not in text or case.file not in text:
                answer.append(f"the failure does not name both the recording {case.key} and the file {case.file}")
            if not said:
                answer.append(f"the failure does not say {case.expect!r}")
            if case.step is not None and not any(f.startswith(f"{case.step}: ") for f in run.failures):
                answer.append(f"no failure of step {case.step}")
    elif case.outcome in ("warns", "accepted"):
        if run is None or not run.success:
            answer.append("the run failed on input accepted by design")
        elif case.outcome == "warns" and not (case.key in text and said):
            answer.append(f"no failed check or warning names the recording and says {case.expect!r}")
    elif case.outcome == "refused":
        if run is None or run.success or run.run_id:
            answer.append("the folder was not reported as refused (a failed run without a Dagster run)")
        elif case.folder not in text or not said:
            answer.append(f"the refusal does not name the folder {case.folder!r} and say {case.expect!r}")
    elif run is not None:
        answer.append("a folder that is not a complete recording was run")
    if case.outcome in ("fails", "accepted"):
        if not before:
            kept.append("nothing was published before the damage (the case cannot test it)")
        elif after != before:
            changed = sorted(set(after) ^ set(before) | {k for k in set(after) & set(before) if after[k] != before[k]})
            kept.append(f"the unit published before the damage changed ({len(changed)} files, e.g. {changed[:3]})")
        if case.key not in store.recordings():
            kept.append("the recording published before is no longer listed")
        elif before:
            kept += recording_problems(store_root, case.key)
    elif case.outcome == "warns":
        if case.key not in store.recordings():
            kept.append("the accepted recording is not published")
        else:
            kept += recording_problems(store_root, case.key)
    elif after or (store.root / "recordings" / case.folder).exists():
        kept.append(f"something is published for a folder that is not a recording: {sorted(after)[:3]}")
    return CaseResult(
        name=case.name,
        key=case.key,
        stream=case.stream,
        outcome=case.outcome,
        ran=run is not None,
        success=None if run is None else bool(run.success),
        text=text,
        answer_problems=answer,
        kept_problems=kept,
        pending=case.pending,
        loses=case.loses,
    )


@dataclass
class CorpusRun:
    """A corpus batch end to end: where it ran, the units before, the batch, each case's result."""

    raw_root: Path
    store_root: Path
    before: dict[str, dict[str, str]]
    batch: BatchRun
    results: dict[str, CaseResult]
    good_identical: bool  # the untouched recording was republished byte for byte as in the reference store


def run_corpus(
    cases: Sequence[FaultCase], workdir: Path, *, base_raw: Path, reference_store: Path, instance: Any
) -> CorpusRun:
    """Clone, publish, damage and rerun ``cases`` under ``workdir`` (one run_recordings); judge every case.

    ``reference_store``: a clean run of ``base_raw`` (staged streams of the source, and the untouched
    recording's publication, which the batch must reproduce byte for byte).
    """
    raw_root = make_batch_root(base_raw, workdir / "raw", cases)
    store_root = workdir / "store"
    published = [case.key for case in cases if case.outcome not in ("refused", "skipped")]
    before = prepublish(raw_root, store_root, published, reference_store=reference_store)
    damage_corpus(raw_root, cases)
    batch = run_corpus_batch(raw_root, store_root, instance)
    results = {case.name: evaluate_case(case, batch, store_root, before.get(case.key, {})) for case in cases}
    good = unit_digests(store_root, GOOD_KEY)
    return CorpusRun(
        raw_root, store_root, before, batch, results, good == unit_digests(reference_store, GOOD_KEY) and bool(good)
    )
