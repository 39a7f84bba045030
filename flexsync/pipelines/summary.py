"""The text summary `flexsync run` prints: runs, clock fits and residuals, outputs."""

from __future__ import annotations

import polars as pl

from flexsync.pipelines.runner import RecordingRun
from flexsync.storage.store import SYNC_REPORT_JSON, Store
from flexsync.timing.clock_model import ClockModel

__all__ = ["format_products", "format_summary"]


def format_summary(runs: list[RecordingRun], store: Store, elapsed_s: float) -> str:
    ok = [r for r in runs if r.success]
    lines = [f"processed {len(runs)} recordings in {elapsed_s:.1f} s: {len(ok)} ok, {len(runs) - len(ok)} failed"]
    for run in runs:
        for failure in run.failures:
            lines.append(f"  FAILED {run.key}: {failure}")
        for check in run.failed_checks:
            lines.append(f"  check {run.key}: {check}")
    if ok:
        models = store.read_table("clock_models", keys=[r.key for r in ok])
        quality = pl.DataFrame(
            [
                {"recording": run.key, "stream": stream, "quality_ms": model.quality_s * 1e3}
                for run in ok
                for stream, model in _published_clock_models(store, run.key).items()
            ]
        )
        table = (
            models.filter(pl.col("segment") == 0)
            .join(quality, on=["recording", "stream"], how="left")
            .select(
                "recording",
                "stream",
                "method",
                pl.col("offset_s").round(6),
                pl.col("drift_ppm").round(2),
                "n_events",
                (pl.col("max_abs_residual_s") * 1e3).round(4).alias("residual_ms"),
                pl.col("quality_ms").round(4),
            )
            .sort("recording", "stream")
        )
        lines.append(
            "clock fits against each recording's reference stream (residual: worst event misfit, 0 for an exact "
            "two-event fit; quality: the gated figure, max of residuals and event timing uncertainty):"
        )
        with pl.Config(tbl_rows=200, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            lines.append(str(table))
        first = ok[0].key
        if store.location != str(store.root):  # an object store: its URL, not the local working copy
            lines.append(f"outputs: {len(store.recordings())} published recordings in {store.location}")
            return "\n".join(lines)
        lines.append(
            f"outputs: {len(store.recordings())} published recordings in {store.root}, e.g. "
            f"{store.recording_path(first)} with its tables ({store.table_partition('clock_models', first).parent}) "
            f"and sync report ({store.report_file(first, SYNC_REPORT_JSON).parent})"
        )
    else:
        lines.append(f"outputs: {len(store.recordings())} published recordings in {store.location}")
    return "\n".join(lines)


def format_products(run: RecordingRun, store: Store) -> str:
    """What the dataset-wide step built, or why it failed."""
    if not run.success:
        return "training products FAILED: " + "; ".join(run.failures + run.failed_checks)
    index = store.read_parquet(store.training_path("sample_index.parquet"), what="sample_index")
    splits = store.read_parquet(store.training_path("splits.parquet"), what="splits")
    sides = splits.group_by("protocol", "side").len().sort("protocol", "side")
    keys = store.samples_keys()
    samples = f"{len(keys)} recordings, e.g. {store.samples_path(keys[0])}" if keys else "none"
    lines = [
        f"training products: {index.height} samples of {index['action'].n_unique()} actions; splits "
        + ", ".join(f"{r['protocol']}/{r['side']}={r['len']}" for r in sides.iter_rows(named=True)),
        f"  samples: {samples}; FLEX export: {store.export_dir('flex')}; QA: {store.training_path('videoqa.jsonl')}",
    ]
    lines += [f"  check {check}" for check in run.failed_checks]
    return "\n".join(lines)


def _published_clock_models(store: Store, key: str) -> dict[str, ClockModel]:
    """The clock models of the published recording ``key``, from the sync report in its unit."""
    data = store.read_report(key)
    return {name: ClockModel.from_dict(model) for name, model in data["models"].items()}
