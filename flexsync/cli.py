"""The ``flexsync`` command line: generate data, run the pipeline, backfill, inspect, benchmark.

Heavy imports happen inside each command so ``flexsync --help`` stays instant.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from flexsync import config

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print ratios measured in one run.")
app.add_typer(bench_app, name="bench")

RawOpt = Annotated[
    Path | None, typer.Option("--raw", help="Raw dataset root [env FLEXSYNC_RAW_ROOT, default data/raw]")
]
TruthOpt = Annotated[
    Path | None, typer.Option("--truth", help="Ground-truth folder [env FLEXSYNC_TRUTH_ROOT, default data/truth]")
]
StoreOpt = Annotated[
    Path | None, typer.Option("--store", help="Output store root [env FLEXSYNC_STORE_ROOT, default data/store]")
]


def _progress(desc: str):
    from tqdm import tqdm

    def wrap(iterable, total: int):
        return tqdm(iterable, total=total, desc=desc, unit="rec")

    return wrap


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@app.command()
def synth(
    raw_root: Annotated[Path | None, typer.Argument(help="Where to write the raw dataset")] = None,
    truth: TruthOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed and options, same bytes")] = 0,
    subjects: Annotated[int, typer.Option(help="Number of subjects (FLEX has 38)")] = 2,
    actions: Annotated[str, typer.Option(help="Comma-separated action ids, or 'all' for A01-A20")] = "A01,A13",
    takes: Annotated[int, typer.Option(help="Takes (sets) per subject and action")] = 1,
    repetitions: Annotated[int, typer.Option(help="Repetitions per set (FLEX: about 10)")] = 4,
    width: Annotated[int, typer.Option(help="Cinema camera frame width (even)")] = 480,
    height: Annotated[int, typer.Option(help="Cinema camera frame height (even)")] = 270,
    emg_format: Annotated[str, typer.Option(help="bdf or edf")] = "bdf",
    workers: Annotated[int, typer.Option(help="Recordings generated in parallel")] = 1,
) -> None:
    """Write a synthetic FLEX-style raw dataset (and its ground truth beside it)."""
    from flexsync.synth.dataset import generate_dataset
    from flexsync.synth.options import SynthOptions

    action_ids = tuple(f"A{i:02d}" for i in range(1, 21)) if actions == "all" else tuple(actions.split(","))
    options = SynthOptions(
        seed=seed,
        subjects=subjects,
        actions=action_ids,
        takes=takes,
        repetitions=repetitions,
        width=width,
        height=height,
        phone_width=_even(height),
        phone_height=_even(width),
        emg_format=emg_format,
    )
    raw = config.raw_root(raw_root)
    truth_dir = config.truth_root(truth)
    started = time.perf_counter()
    keys = generate_dataset(raw, truth_dir, options, workers=workers, progress=_progress("synth"))
    size = sum(p.stat().st_size for p in raw.rglob("*") if p.is_file())
    typer.echo(
        f"wrote {len(keys)} recordings to {raw} ({size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s; "
        f"ground truth in {truth_dir}"
    )


def _even(n: int) -> int:
    return n - (n % 2)


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="Any supported file (mp4, c3d, trc, edf, bdf, xdf, csv)")],
    format: Annotated[str | None, typer.Option("--format", help="Force a reader instead of the extension")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text")] = False,
) -> None:
    """Show what flexsync reads from a file, like ffprobe does for video."""
    from flexsync.readers.inspect import format_inspection, inspect_file

    summary = inspect_file(file, format=format)
    typer.echo(json.dumps(summary, indent=2) if as_json else format_inspection(summary))


def main() -> None:
    app()


if __name__ == "__main__":
    main()


@app.command()
def run(
    raw: RawOpt = None,
    store: StoreOpt = None,
    recording: Annotated[
        list[str] | None, typer.Option("--recording", "-r", help="Only these recordings (repeatable)")
    ] = None,
    parallel: Annotated[int, typer.Option(help="Recordings processed at once (worker processes)")] = 2,
    training: Annotated[bool, typer.Option(help="Then build the sample index, splits, FLEX export and VideoQA")] = True,
) -> None:
    """Materialise every asset for every complete recording, in-process, and print a summary."""
    from flexsync.pipelines.runner import build_training_products, run_recordings
    from flexsync.pipelines.summary import format_products, format_summary

    raw_root, store_root = config.raw_root(raw), config.store_root(store)
    started = time.perf_counter()
    runs = run_recordings(raw_root, store_root, keys=recording or None, progress=_progress("run"), parallel=parallel)
    typer.echo(format_summary(runs, store_root, time.perf_counter() - started))
    if training and any(r.success for r in runs):
        products = build_training_products(raw_root, store_root)
        typer.echo(format_products(products, store_root))
        runs.append(products)
    if not all(r.success for r in runs):
        raise typer.Exit(code=1)


@app.command()
def demo(raw: RawOpt = None, truth: TruthOpt = None, store: StoreOpt = None) -> None:
    """Generate the default synthetic dataset (if absent) and run the pipeline on it."""
    from flexsync.raw.layout import list_complete_recordings

    raw_root = config.raw_root(raw)
    if not list_complete_recordings(raw_root):
        synth(raw_root=raw_root, truth=truth, workers=2)
    else:
        typer.echo(f"using the existing raw dataset in {raw_root} (delete it to regenerate)")
    run(raw=raw_root, store=store, recording=None, parallel=2, training=True)


@app.command()
def backfill(
    keys: Annotated[list[str] | None, typer.Argument(help="Recording keys (default: every complete recording)")] = None,
    raw: RawOpt = None,
    wait: Annotated[bool, typer.Option(help="Follow the backfill until it finishes")] = False,
    timeout_s: Annotated[float, typer.Option(help="Give up following after this many seconds")] = 3600.0,
) -> None:
    """Submit an asset backfill of recordings to the Dagster instance in DAGSTER_HOME.

    The daemon (`make ui`, or `dagster-daemon run`) executes it; `--wait` shows progress.
    """
    import os

    from flexsync.definitions import defs
    from flexsync.pipelines.backfill import launch_backfill, wait_for_backfill
    from flexsync.pipelines.runner import open_instance
    from flexsync.raw.layout import list_complete_recordings

    if not os.environ.get("DAGSTER_HOME"):
        raise typer.BadParameter("set DAGSTER_HOME to the instance the daemon uses (make ui uses .dagster_home)")
    selected = list(keys) if keys else list_complete_recordings(config.raw_root(raw))
    instance = open_instance()
    backfill_id = launch_backfill(instance, defs, selected)
    typer.echo(f"backfill {backfill_id} submitted for {len(selected)} recordings")
    if wait:
        from tqdm import tqdm

        with tqdm(total=len(selected), desc="backfill", unit="rec") as bar:

            def show(progress) -> None:
                bar.n = progress.runs_succeeded + progress.runs_failed
                bar.set_postfix(status=progress.status, failed=progress.runs_failed)
                bar.refresh()

            final = wait_for_backfill(instance, backfill_id, len(selected), timeout_s=timeout_s, on_progress=show)
        typer.echo(f"backfill {backfill_id}: {final.status}, {final.runs_succeeded} ok, {final.runs_failed} failed")
        if final.runs_failed or not final.done:
            raise typer.Exit(code=1)


@bench_app.command("ingest")
def bench_ingest(
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures here as JSON")] = None,
    width: Annotated[int, typer.Option(help="Cinema source width (FLEX: 1920)")] = 1280,
    height: Annotated[int, typer.Option(help="Cinema source height (FLEX: 1080)")] = 720,
    short_reps: Annotated[int, typer.Option(help="Repetitions of the short recording")] = 2,
    long_reps: Annotated[int, typer.Option(help="Repetitions of the long recording")] = 8,
) -> None:
    """Pipeline wall time vs the unavoidable decode+convert work, and peak memory for two durations."""
    from flexsync.bench.ingest import run_ingest_benchmark

    typer.echo(f"generating two recordings at {width}x{height} and measuring (a few minutes)...")
    result = run_ingest_benchmark(width=width, height=height, short_reps=short_reps, long_reps=long_reps)
    typer.echo(result.format())
    _write_json(json_out, result.to_dict())


@bench_app.command("sync")
def bench_sync(
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures here as JSON")] = None,
    recordings: Annotated[int, typer.Option(help="Recordings to generate (offsets up to +-5 s)")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the generated recordings")] = 0,
) -> None:
    """Alignment accuracy against the generator's ground truth, per stream type."""
    from flexsync.bench.sync import run_sync_benchmark

    result = run_sync_benchmark(n_recordings=recordings, seed=seed)
    typer.echo(result.format())
    _write_json(json_out, result.to_dict())


@bench_app.command("loader")
def bench_loader(
    store: StoreOpt = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures here as JSON")] = None,
    clips: Annotated[int, typer.Option(help="Clips to read per side")] = 20,
) -> None:
    """Clips/s of the Zarr fast loader vs the FLEX code's JPEG folders (PIL), on the same samples."""
    from flexsync.bench.loader import run_loader_benchmark

    store_root = config.store_root(store)
    result = run_loader_benchmark(store_root, store_root / "export" / "flex", n_clips=clips)
    typer.echo(result["summary"])
    _write_json(json_out, result)


def _write_json(path: Path | None, data: dict) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        typer.echo(f"figures written to {path}")
