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
