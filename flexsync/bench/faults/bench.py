"""`flexsync bench faults`: the corpus and the crash test at larger counts, and the figures they give."""

from __future__ import annotations

import math
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flexsync.bench.faults.batches import CaseResult, damage_corpus, generate_base, make_batch_root, run_corpus
from flexsync.bench.faults.corpus import CORPUS, FaultCase
from flexsync.bench.faults.crash import CrashResult, clean_run, concurrent_runs, crash_test
from flexsync.bench.faults.readback import store_digests
from flexsync.bench.faults.subprocesses import CliRun, cli_environment, read_with_memory_limit
from flexsync.raw.layout import RECORDINGS_DIR

# -- the benchmark ---------------------------------------------------------------------------------------------------


def run_fault_bench(
    n_kills: int = 50,
    seed: int = 0,
    *,
    n_cases: int | None = None,
    batch_size: int = 12,
    workdir: Path | None = None,
    status: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The corpus (``n_cases`` of it, seeded sample; all by default) and ``n_kills`` kills, in a temporary folder.

    Returns the figures as a dict (``summary`` is the text report): cases tried, clear errors,
    recordings lost (target 0), reruns identical (target all), per-case answers and per-kill findings.
    """
    import dagster as dg

    say = status or (lambda message: None)
    owned = workdir is None
    base = Path(tempfile.mkdtemp(prefix="flexsync-faults-")) if owned else Path(workdir)
    try:
        say(f"generating the base recordings in {base}")
        base_raw, truth = base / "base" / "raw", base / "base" / "truth"
        generate_base(base_raw, truth)
        env = cli_environment(base / "tmp")
        reference_store = base / "base" / "store"
        reference = clean_run(base_raw, reference_store, env)
        cases = list(CORPUS)
        if n_cases is not None and n_cases < len(cases):
            cases = sorted(random.Random(seed).sample(cases, n_cases), key=CORPUS.index)
        results: list[CaseResult] = []
        good_identical: list[bool] = []
        corpus_started = time.perf_counter()
        with dg.DagsterInstance.ephemeral() as instance:
            for number, start in enumerate(range(0, len(cases), batch_size)):
                batch = cases[start : start + batch_size]
                say(f"corpus batch {number + 1}: {len(batch)} cases")
                corpus = run_corpus(
                    batch,
                    base / f"batch{number}",
                    base_raw=base_raw,
                    reference_store=reference_store,
                    instance=instance,
                )
                results += list(corpus.results.values())
                good_identical.append(corpus.good_identical)
        corpus_seconds = time.perf_counter() - corpus_started
        memory = {}
        for case in (c for c in cases if c.absurd):
            memory[case.name] = _absurd_read(case, base_raw, base / "absurd")
        say(f"crash test: {n_kills} kills")
        crash_started = time.perf_counter()
        crash = crash_test(
            base_raw,
            base / "crash",
            n_kills=n_kills,
            seed=seed,
            reference=reference,
            reference_store=reference_store,
            on_kill=lambda k: say(
                f"  kill {k.delay_s:.2f} s after the first write: {len(k.published)} published, {k.debris} debris"
            ),
        )
        crash_seconds = time.perf_counter() - crash_started
        both = concurrent_runs(base_raw, base / "concurrent", env)
        concurrent_identical = store_digests(base / "concurrent") == store_digests(reference_store)
        return _bench_figures(
            results, good_identical, memory, crash, both, concurrent_identical, corpus_seconds, crash_seconds, seed
        )
    finally:
        if owned:
            shutil.rmtree(base, ignore_errors=True)


def absurd_file(case: FaultCase, base_raw: Path, folder: Path) -> Path:
    """Make ``case``'s damaged file in a scratch raw root under ``folder``; return its path."""
    raw_root = make_batch_root(base_raw, folder / "raw", [case])
    damage_corpus(raw_root, [case])
    return raw_root / RECORDINGS_DIR / case.key / case.file


def _absurd_read(case: FaultCase, base_raw: Path, folder: Path) -> dict[str, Any]:
    path = absurd_file(case, base_raw, folder / case.key)
    return read_with_memory_limit(path, path.suffix.lstrip("."))


def _bench_figures(
    results: list[CaseResult],
    good_identical: list[bool],
    memory: dict[str, dict[str, Any]],
    crash: CrashResult,
    concurrent: list[CliRun],
    concurrent_identical: bool,
    corpus_seconds: float,
    crash_seconds: float,
    seed: int,
) -> dict[str, Any]:
    failing = [r for r in results if r.outcome == "fails"]
    clear_errors = [r for r in failing if r.clear]
    by_design = [r for r in results if r.outcome != "fails"]
    lost_cases = [r for r in results if r.lost]
    # Reruns that must reproduce a clean publication byte for byte: the untouched recording of each
    # corpus batch, the clean rerun after the kills, and the store written by two runs at once.
    concurrent_ok = concurrent_identical and all(r.returncode == 0 for r in concurrent)
    reruns = [*good_identical, crash.final_identical, concurrent_ok]
    figures: dict[str, Any] = {
        "seed": seed,
        "cases_tried": len(results),
        "failing_cases": len(failing),
        "clear_errors": len(clear_errors),
        "accepted_by_design": f"{sum(r.clear for r in by_design)}/{len(by_design)}",
        "unclear": {r.name: r.answer_problems for r in results if not r.clear},
        "cases_losing_a_publication": {r.name: r.kept_problems for r in lost_cases},
        "absurd_sizes": memory,
        "kills": len(crash.kills),
        "kills_that_left_debris": sum(1 for k in crash.kills if k.debris),
        "kill_findings": [asdict(k) for k in crash.kills if k.problems],
        "recordings_lost": crash.recordings_lost + len(lost_cases),
        "recordings_lost_to_kills": crash.recordings_lost,
        "reruns_identical": f"{sum(reruns)}/{len(reruns)}",
        "final_work_left": crash.final_work_left,
        "final_differences": crash.final_differences,
        "concurrent_exit_codes": [r.returncode for r in concurrent],
        "clean_run_s": round(crash.clean_seconds, 2),
        "kill_window_s": [round(t, 2) for t in crash.window_s],
        "corpus_s": round(corpus_seconds, 1),
        "crash_s": round(crash_seconds, 1),
        "cases": [r.to_dict() for r in results],
    }
    lines = [
        f"fault corpus: {len(results)} cases tried; {len(clear_errors)}/{len(failing)} failing cases give a clear "
        f"error (recording, file, problem); {figures['accepted_by_design']} accepted by design as expected",
        *(f"  unclear  {r.name}: {'; '.join(r.answer_problems)}" for r in results if not r.clear),
        *(f"  lost     {r.name}: {'; '.join(r.kept_problems)}" for r in lost_cases),
        *(
            f"  absurd size {name}: {m.get('type') or 'read'}: {(m.get('error') or '').split(': ', 1)[-1][:100]} "
            f"(peak {m.get('maxrss_mb', math.nan):.0f} MB)"
            for name, m in memory.items()
        ),
        f"crash test: {len(crash.kills)} SIGKILLs, each 0-{crash.window_s[1] - crash.window_s[0]:.1f} s after the "
        f"run's first write (the clean run: {crash.window_s[0]:.1f} s of imports, {crash.clean_seconds:.1f} s in all); "
        f"{figures['kills_that_left_debris']} left debris in .work/; "
        f"inconsistent stores after a kill: {crash.recordings_lost}",
        f".work/ after the final rerun: {crash.final_work_left or 'empty'}; two runs at once exit "
        f"{figures['concurrent_exit_codes']}",
        f"recordings lost: {figures['recordings_lost']} (target 0); reruns identical: {figures['reruns_identical']} "
        "(target all)",
    ]
    figures["summary"] = "\n".join(lines)
    return figures
