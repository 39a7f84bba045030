"""``flexsync bench ingest|sync|loader|faults|store|scale``: benchmarks that print figures measured in one run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flexsync import config
from flexsync.cli.app import app, bench_app
from flexsync.cli.options import JsonOpt, StoreOpt
from flexsync.cli.output import report, status

__all__ = ["bench_faults", "bench_ingest", "bench_loader", "bench_scale", "bench_store", "bench_sync"]

app.add_typer(bench_app, name="bench")


@bench_app.command("ingest")
def bench_ingest(
    json_out: JsonOpt = None,
    width: Annotated[int, typer.Option(help="Cinema source width (FLEX: 1920)")] = 1280,
    height: Annotated[int, typer.Option(help="Cinema source height (FLEX: 1080)")] = 720,
    short_reps: Annotated[int, typer.Option(help="Repetitions of the short recording")] = 2,
    long_reps: Annotated[int, typer.Option(help="Repetitions of the long recording")] = 8,
) -> None:
    """Ingest time vs the unavoidable decode+scale work, and peak memory.

    Generates a short and a long recording and measures both in one process (docs/pipeline.md).
    """
    from flexsync.bench.ingest import run_ingest_benchmark

    status(f"generating two recordings at {width}x{height} and measuring (a few minutes)...", json_out)
    result = run_ingest_benchmark(width=width, height=height, short_reps=short_reps, long_reps=long_reps)
    report(result.format(), result.to_dict(), json_out)


@bench_app.command("sync")
def bench_sync(
    json_out: JsonOpt = None,
    recordings: Annotated[int, typer.Option(help="Recordings to generate (offsets up to +-5 s)")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the generated recordings")] = 0,
    look: Annotated[
        str,
        typer.Option(
            help="Frame look of the generated videos: realistic (noise, blur, rolling shutter), flat, or both"
        ),
    ] = "realistic",
    sync_source: Annotated[
        str,
        typer.Option(
            help="Comma-separated sync sources (flashes, pulse_train, coded_train), or all: one table each, "
            "on the same recordings"
        ),
    ] = "all",
    repetitions: Annotated[int, typer.Option(help="Repetitions per recording (its length: 4 is about 20-25 s)")] = 4,
) -> None:
    """Alignment accuracy against the generator's ground truth.

    Generates recordings with known clock offsets and drifts and reports the error per stream type,
    per sync source and look.
    """
    from flexsync.bench.sync import SYNC_SOURCES, run_sync_benchmarks
    from flexsync.synth.options import LOOKS

    looks = LOOKS if look == "both" else (look,)
    if any(v not in LOOKS for v in looks):
        raise typer.BadParameter(f"must be one of {', '.join(LOOKS)} or both, got {look!r}", param_hint="--look")
    sources = SYNC_SOURCES if sync_source == "all" else tuple(sync_source.split(","))
    if any(v not in SYNC_SOURCES for v in sources):
        raise typer.BadParameter(
            f"must be among {', '.join(SYNC_SOURCES)} or all, got {sync_source!r}", param_hint="--sync-source"
        )
    status(f"sync benchmark: {recordings} recordings x {len(looks)} look(s) x {len(sources)} source(s)...", json_out)
    result = run_sync_benchmarks(
        n_recordings=recordings, seed=seed, looks=looks, sync_sources=sources, repetitions=repetitions
    )
    report(result.format(), result.to_dict(), json_out)


@bench_app.command("loader")
def bench_loader(
    store: StoreOpt = None,
    json_out: JsonOpt = None,
    clips: Annotated[int, typer.Option(help="Clips to read per side")] = 20,
    decoder: Annotated[str, typer.Option(help="Decoder of the stored H.264 frames: pyav, torchcodec or auto")] = "pyav",
) -> None:
    """Clips/s of the Zarr loader vs the FLEX code's JPEG folders.

    Reads the same samples from the store's samples and from its FLEX export (export/flex);
    missing JPEG folders are written first.
    """
    from flexsync.bench.loader import run_loader_benchmark
    from flexsync.storage import Store
    from flexsync.storage.decoder_choice import DECODERS

    if decoder not in DECODERS:
        raise typer.BadParameter(f"must be one of {', '.join(DECODERS)}, got {decoder!r}", param_hint="--decoder")
    result = run_loader_benchmark(Store(config.store_root(store)), n_clips=clips, decoder=decoder)
    report(result["summary"], result, json_out)


@bench_app.command("faults")
def bench_faults(
    json_out: JsonOpt = None,
    cases: Annotated[int | None, typer.Option(help="Corpus cases to run (a seeded sample; default all)")] = None,
    kills: Annotated[int, typer.Option(help="SIGKILLs of `flexsync run` in the crash test")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the case sample and of the kill delays")] = 0,
) -> None:
    """Fault corpus and crash test: errors, losses, reruns.

    Damages generated recordings (docs/faults.md), kills `flexsync run` at random points and reruns,
    all in a temporary folder.
    """
    from flexsync.bench.faults import run_fault_bench

    status(f"fault corpus and {kills} kills of flexsync run (several minutes)...", json_out)
    result = run_fault_bench(n_kills=kills, seed=seed, n_cases=cases, status=lambda line: status(line, json_out))
    report(result["summary"], result, json_out)


@bench_app.command("store")
def bench_store(
    json_out: JsonOpt = None,
    frames: Annotated[int, typer.Option(help="Frames per input (the real video holds 390)")] = 390,
    clips: Annotated[int, typer.Option(help="103-frame clips per loader pass")] = 6,
    source_width: Annotated[int, typer.Option(help="Width of the generated cinema camera")] = 960,
    source_height: Annotated[int, typer.Option(help="Height of the generated cinema camera")] = 540,
    quick: Annotated[bool, typer.Option(help="120 frames, 3 clips, one pass, no flat-look input")] = False,
    real: Annotated[
        Path | None, typer.Option(metavar="PATH", help="Real video to measure [default: nasa_13013.mp4]")
    ] = None,
) -> None:
    """Bytes, PSNR/SSIM, encode CPU and loader speed of each frame codec.

    Compares zstd, H.264 GOPs, per-frame image codecs and FLEX's JPEG folders on a real video and
    generated recordings, in a temporary folder, and extrapolates to FLEX's size (docs/frame-storage.md).
    """
    from flexsync.bench.store import REAL_VIDEO, run_store_benchmark

    if quick:
        frames, clips = min(frames, 120), min(clips, 3)
    status(f"frame storage benchmark: {frames} frames per input, {clips} clips (a few minutes)...", json_out)
    result = run_store_benchmark(
        n_frames=frames,
        n_clips=clips,
        source_width=source_width,
        source_height=source_height,
        with_flat=not quick,
        real_video=real or REAL_VIDEO,
        repeats=1 if quick else 2,
        status=lambda line: status(line, json_out),
    )
    report(result.format(), result.to_dict(), json_out)


def _size(text: str | None) -> tuple[int, int] | None:
    """``WxH`` as (width, height); ``none`` or empty: None."""
    if text is None or text.lower() in ("", "none"):
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"must be WIDTHxHEIGHT or none, got {text!r}", param_hint="--probe-size") from None
    return width, height


@bench_app.command("scale")
def bench_scale(
    json_out: JsonOpt = None,
    recordings: Annotated[int, typer.Option(help="Partitions to register through the sensor (FLEX: 760)")] = 760,
    backfill: Annotated[
        int | None,
        typer.Option(help="Registered partitions to backfill through the instance (fewer: a sample) [default: all]"),
    ] = None,
    direct: Annotated[
        int | None,
        typer.Option(help="Backfilled recordings also run directly, without Dagster [default: min(backfill, 40)]"),
    ] = None,
    engine: Annotated[str, typer.Option(help="Executor of the backfill's runs: in_process, multiprocess or celery")] = (
        "in_process"
    ),
    workers: Annotated[
        int, typer.Option(help="Runs at once, Celery workers and direct processes (0: one per core)")
    ] = 0,
    storage: Annotated[
        str, typer.Option(help="Instance storage: postgres (a throwaway local cluster), sqlite, or auto")
    ] = "auto",
    code_server: Annotated[
        str,
        typer.Option(
            help="Who runs the code location's server: standalone (`dagster api grpc`, as deployed) or daemon "
            "(`dagster-daemon run -m`, which reloads it every 60 s)"
        ),
    ] = "standalone",
    look: Annotated[str, typer.Option(help="Frame look of generated recordings: realistic or flat")] = "realistic",
    reuse_raw: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="A raw root written by `flexsync synth --preset flex-size` to use instead of generating one",
        ),
    ] = None,
    probe_size: Annotated[
        str,
        typer.Option(metavar="WxH", help="Cinema size of the decode probe scaled to full-size FLEX, or none"),
    ] = "1920x1080",
    ui: Annotated[bool, typer.Option(help="Time the partitioned assets' pages in a real dagster-webserver")] = True,
    workdir: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Where to make the work folder [default: the temp folder]")
    ] = None,
    keep: Annotated[bool, typer.Option(help="Keep the work folder (store, instance, logs) afterwards")] = False,
    timeout_s: Annotated[float, typer.Option(help="Give up on the backfill after this many seconds")] = 3600.0,
) -> None:
    """760 partitions: sensor ticks, run overhead, throughput and UI.

    Registers the flex-size recordings through the new-recordings sensor, backfills them with a real
    daemon and compares with the same work run directly (docs/scale.md).
    """
    from flexsync.bench.scale.options import ScaleOptions
    from flexsync.bench.scale.run import run_scale_benchmark

    try:
        options = ScaleOptions(
            recordings=recordings,
            backfill=backfill,
            direct=direct,
            engine=engine,
            workers=workers,
            storage=storage,
            code_server=code_server,
            look=look,
            reuse_raw=reuse_raw,
            probe_size=_size(probe_size),
            ui=ui,
            workdir=workdir,
            keep=keep,
            timeout_s=timeout_s,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    status(f"scale benchmark: {recordings} partitions, backfill {options.n_backfill} on {engine}...", json_out)
    result = run_scale_benchmark(options, status=lambda line: status(line, json_out))
    report(result.format(), result.to_dict(), json_out)
