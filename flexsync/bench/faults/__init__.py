"""Fault injection: a corpus of damaged raw recordings, kills of `flexsync run`, and their benchmark.

**Corpus** (``CORPUS``, docs/faults.md): each ``FaultCase`` damages ONE recording folder of a copy of a
small generated raw root (a truncated video, an EDF header claiming 99,999,999 records, a path
escaping the raw root, ...) and says what the pipeline must answer: the run of that recording fails
with an error naming the recording, the file and the problem (``expect``), or, where the input is
accepted by design, the recording is published with a warning. ``run_corpus`` builds a batch: the
untouched ``GOOD_KEY`` plus one clone of ``SOURCE_KEY`` per case (``clone_recording``: the manifest's
``recording`` follows the folder name, its hashes stay valid), publishes every clone (``prepublish``)
so that a rerun over damaged input has something to lose, damages the clones, runs ONE
``run_recordings`` over the batch and judges each case (``evaluate_case``).

**Crashes** (``crash_test``): ``python -m flexsync.cli run`` in a subprocess, SIGKILLed after seeded
random delays within the part of a clean run that writes the store, each kill interrupting a rerun of
the same store; after each, ``store_problems`` reads the store as a reader would. A final clean rerun
must leave ``.work/`` empty and the store byte-identical (``store_digests``) to a clean run.

``run_fault_bench`` runs both at larger counts (``flexsync bench faults``). The tests in tests/faults/
import these builders; nothing here imports pytest.

Modules: ``targets`` (the generated raw root and its clones), ``binary_edits`` (EDF/BDF and C3D edits),
``corpus`` (the cases), ``batches`` (running and judging a batch of cases), ``readback`` (what a
reader finds in a store), ``subprocesses`` (``flexsync run`` and readers under limits), ``crash``
(kills and concurrent runs), ``bench`` (``run_fault_bench``).
"""

from __future__ import annotations

from flexsync.bench.faults.batches import (
    BatchRun,
    CaseResult,
    CorpusRun,
    damage_corpus,
    evaluate_case,
    generate_base,
    make_batch_root,
    prepublish,
    run_corpus,
    run_corpus_batch,
    run_text,
)
from flexsync.bench.faults.bench import absurd_file, run_fault_bench
from flexsync.bench.faults.corpus import CORPUS, FaultCase, case_by_name, cases_of, invalid_folder_name
from flexsync.bench.faults.crash import CrashResult, KillRecord, clean_run, concurrent_runs, crash_test
from flexsync.bench.faults.readback import (
    file_digests,
    hidden_paths,
    recording_problems,
    store_digests,
    store_problems,
    unit_digests,
)
from flexsync.bench.faults.subprocesses import (
    CliRun,
    cli_environment,
    cli_run_command,
    read_with_memory_limit,
    run_cli,
    with_file_size_limit,
)
from flexsync.bench.faults.targets import (
    FAULT_SETTINGS,
    FAULT_SYNTH_OPTIONS,
    GOOD_KEY,
    SOURCE_KEY,
    Target,
    clone_recording,
    rehash,
)

__all__ = [
    "CORPUS",
    "FAULT_SETTINGS",
    "FAULT_SYNTH_OPTIONS",
    "GOOD_KEY",
    "SOURCE_KEY",
    "BatchRun",
    "CaseResult",
    "CliRun",
    "CorpusRun",
    "CrashResult",
    "FaultCase",
    "KillRecord",
    "Target",
    "absurd_file",
    "case_by_name",
    "cases_of",
    "clean_run",
    "cli_environment",
    "cli_run_command",
    "clone_recording",
    "concurrent_runs",
    "crash_test",
    "damage_corpus",
    "evaluate_case",
    "file_digests",
    "generate_base",
    "hidden_paths",
    "invalid_folder_name",
    "make_batch_root",
    "prepublish",
    "read_with_memory_limit",
    "recording_problems",
    "rehash",
    "run_cli",
    "run_corpus",
    "run_corpus_batch",
    "run_fault_bench",
    "run_text",
    "store_digests",
    "store_problems",
    "unit_digests",
    "with_file_size_limit",
]
