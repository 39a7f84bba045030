"""``flexsync run``, ``demo`` and ``backfill``: the pipeline in-process, or through the Dagster daemon."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from flexsync import config
from flexsync.cli.app import app
from flexsync.cli.options import RawOpt, SetOpt, StoreOpt, TruthOpt, parse_settings
from flexsync.cli.output import progress
from flexsync.cli.synth import synth

__all__ = ["backfill", "demo", "run"]


@app.command()
def demo(raw: RawOpt = None, truth: TruthOpt = None, store: StoreOpt = None) -> None:
    """Generate the demo dataset if absent, then run the pipeline.

    The demo's recordings carry a coded sync train. An existing raw dataset is reused; delete it to
    regenerate.
    """
    from flexsync.raw.layout import list_complete_recordings

    raw_root = config.raw_root(raw)
    if not list_complete_recordings(raw_root):
        # No typer context outside the command line (it is only read with a preset); realistic frames, as the
        # CLI, and a coded sync train: every stream placed by tens of pulses, every clock segment by its own.
        synth(None, raw=raw_root, truth=truth, workers=2, look="realistic", sync_source="coded_train")  # type: ignore[arg-type]
    else:
        typer.echo(f"using the existing raw dataset in {raw_root} (delete it to regenerate)")
    run(raw=raw_root, store=store, recording=None, parallel=2, training=True)


@app.command()
def run(
    raw: RawOpt = None,
    store: StoreOpt = None,
    recording: Annotated[
        list[str] | None, typer.Option("--recording", "-r", metavar="KEY", help="Only this recording (repeatable)")
    ] = None,
    parallel: Annotated[int, typer.Option(help="Recordings processed at once (worker processes)")] = 2,
    training: Annotated[bool, typer.Option(help="Then build the sample index, splits, FLEX export and VideoQA")] = True,
    set_: SetOpt = None,
) -> None:
    """Run the whole pipeline in-process and print a summary.

    Materialises every asset for every complete recording (one run each), prints the clock fits
    and where the outputs are, then builds the training products. Exits 1 if any run failed.
    """
    from flexsync.pipelines.runner import build_training_products, run_recordings
    from flexsync.pipelines.summary import format_products, format_summary
    from flexsync.storage import Store

    raw_root, store_root = config.raw_root(raw), config.store_root(store)
    started = time.perf_counter()
    settings = parse_settings(set_)
    runs = run_recordings(
        raw_root, store_root, keys=recording or None, progress=progress("run"), parallel=parallel, settings=settings
    )
    typer.echo(format_summary(runs, Store(store_root), time.perf_counter() - started))
    if training and any(r.success for r in runs):
        products = build_training_products(raw_root, store_root, settings=settings)
        typer.echo(format_products(products, Store(store_root)))
        runs.append(products)
    if not all(r.success for r in runs):
        raise typer.Exit(code=1)


@app.command()
def backfill(
    keys: Annotated[
        list[str] | None, typer.Argument(metavar="KEYS", help="Recording keys (default: every complete recording)")
    ] = None,
    raw: RawOpt = None,
    store: StoreOpt = None,
    wait: Annotated[bool, typer.Option(help="Follow the backfill until it finishes")] = False,
    timeout_s: Annotated[float, typer.Option(help="Give up following after this many seconds")] = 3600.0,
) -> None:
    """Submit a backfill of recordings to the Dagster daemon.

    The backfill goes to the instance in DAGSTER_HOME; its daemon (make ui, or dagster-daemon run)
    executes it with the daemon's own FLEXSYNC_RAW_ROOT and FLEXSYNC_STORE_ROOT. Without KEYS,
    every complete recording under --raw is submitted. --wait shows progress, then checks that
    every recording was published in --store.
    """
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
    if not wait:
        return
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
    _check_published(config.store_root(store), selected)


def _check_published(store_root: Path, keys: list[str]) -> None:
    """Exit 1 with a hint when finished runs did not publish into ``store_root`` (the daemon writes elsewhere)."""
    from flexsync.storage import Store

    missing = sorted(set(keys) - set(Store(store_root).recordings()))
    if missing:
        where = f"{len(missing)} finished recordings are not published in {store_root} (first: {missing[0]})"
        typer.echo(f"flexsync backfill: error: {where}", err=True)
        typer.echo(f"start the daemon with FLEXSYNC_STORE_ROOT={store_root}, or pass its store as --store", err=True)
        raise typer.Exit(code=1)
