"""What every corpus test asserts about a case, shared by the tests of this folder.

Imported by the test modules (pytest puts this folder on ``sys.path``). Each corpus module runs one
batch (``flexsync.bench.faults.run_corpus``: one ``run_recordings`` over its cases' damaged clones and
one untouched recording) and checks every case twice: the answer (``check_answer``: the run of the
damaged recording fails naming the recording, the file and the problem, or is accepted with its
warning) and what was kept (``check_kept``: the recording published before the damage is
byte-identical and still reads back complete).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from flexsync.bench.faults import (
    GOOD_KEY,
    CorpusRun,
    FaultCase,
    hidden_paths,
    recording_problems,
    run_corpus,
    run_text,
    unit_digests,
)
from flexsync.storage import Store

__all__ = [
    "answer_params",
    "check_answer",
    "check_batch",
    "check_kept",
    "corpus_tests",
    "kept_params",
    "run_batch",
]


def run_batch(cases: Sequence[FaultCase], workdir: Path, fault_base) -> CorpusRun:
    """One corpus batch of ``cases`` in an ephemeral instance (the runs' logs are read before it closes)."""
    with dg.DagsterInstance.ephemeral() as instance:
        return run_corpus(cases, workdir, base_raw=fault_base.raw, reference_store=fault_base.store, instance=instance)


def answer_params(cases: Sequence[FaultCase]) -> list:
    """The cases, each xfail (strict) while its answer is known not to be clear (``case.pending``)."""
    return [
        pytest.param(case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=case.pending)])
        if case.pending
        else pytest.param(case, id=case.name)
        for case in cases
    ]


def kept_params(cases: Sequence[FaultCase]) -> list:
    """The cases, each xfail (strict) while it is known to change an earlier publication (``case.loses``)."""
    return [
        pytest.param(case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=case.loses)])
        if case.loses
        else pytest.param(case, id=case.name)
        for case in cases
    ]


def check_answer(corpus: CorpusRun, case: FaultCase) -> None:
    runs = corpus.batch.runs
    if case.outcome == "skipped":
        assert case.key not in runs, sorted(runs)
        return
    run = runs[case.folder]
    text = run_text(run)
    if case.outcome == "refused":
        assert not run.success and run.run_id == "", "a refused folder must not become a Dagster run"
        (failure,) = run.failures
        assert str(corpus.raw_root / "recordings" / case.folder) in failure
        assert re.search(case.expect, failure), failure
        return
    if case.outcome == "fails":
        assert not run.success, f"the run of {case.key} succeeded on damaged input: {text}"
        assert case.key in text, text
        assert case.file in text, text
        assert re.search(case.expect, text), text
        if case.step is not None:
            assert any(f.startswith(f"{case.step}: ") for f in run.failures), run.failures
        return
    assert run.success, f"input accepted by design failed: {text}"
    assert run.failures == []
    if case.outcome == "warns":
        lines = [*run.failed_checks, *corpus.batch.run_warnings[case.key]]
        said = [line for line in lines if re.search(case.expect, line)]
        assert any(case.key in line for line in said), f"no check or warning of {case.key} says {case.expect!r}"


def check_kept(corpus: CorpusRun, case: FaultCase) -> None:
    store = Store(corpus.store_root)
    if case.outcome in ("refused", "skipped"):
        assert case.key not in store.recordings()
        assert not (corpus.store_root / "recordings" / case.folder).exists()
        assert unit_digests(corpus.store_root, case.key) == {}
        return
    assert case.key in store.recordings()
    assert recording_problems(corpus.store_root, case.key) == []
    if case.outcome in ("fails", "accepted"):
        before = corpus.before[case.key]
        assert len(before) > 30, "the case had no real publication to lose"
        after = unit_digests(corpus.store_root, case.key)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        assert changed == [], f"{len(changed)} files of the earlier publication changed, e.g. {changed[:3]}"


def check_batch(corpus: CorpusRun, cases: Sequence[FaultCase]) -> None:
    """The untouched recording is republished byte for byte; only the batch's recordings ran; no debris."""
    runs = corpus.batch.runs
    assert runs[GOOD_KEY].success and runs[GOOD_KEY].failures == [], run_text(runs[GOOD_KEY])
    assert corpus.good_identical, "the untouched recording's unit differs from its clean publication"
    assert sorted(runs) == sorted([GOOD_KEY, *(c.folder for c in cases if c.outcome != "skipped")])
    assert hidden_paths(corpus.store_root) == ([], []), "failed writers left temporaries"


def corpus_tests(cases: Sequence[FaultCase], name: str) -> dict[str, Any]:
    """The module fixture ``corpus`` (one batch of ``cases``) and the three tests of a corpus module, by name.

    A corpus module puts them in its namespace (``globals().update(...)``); each module is one
    batch, so the batches of the stream kinds run on different test workers.
    """

    @pytest.fixture(scope="module")
    def corpus(fault_base, tmp_path_factory):
        return run_batch(cases, tmp_path_factory.mktemp(f"corpus_{name}"), fault_base)

    @pytest.mark.parametrize("case", answer_params(cases))
    def test_the_answer_names_the_recording_the_file_and_the_problem(corpus, case):
        check_answer(corpus, case)

    @pytest.mark.parametrize("case", kept_params(cases))
    def test_the_publication_before_the_damage_is_kept(corpus, case):
        check_kept(corpus, case)

    def test_the_untouched_recording_is_republished_and_nothing_is_left_behind(corpus):
        check_batch(corpus, cases)

    tests = (
        corpus,
        test_the_answer_names_the_recording_the_file_and_the_problem,
        test_the_publication_before_the_damage_is_kept,
        test_the_untouched_recording_is_republished_and_nothing_is_left_behind,
    )
    return {function.__name__: function for function in tests}
