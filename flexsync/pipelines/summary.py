"""The text summary `flexsync run` prints: runs, clock fits and residuals, outputs."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flexsync.ingest.clocks import read_clock_models
from flexsync.pipelines.runner import RecordingRun
from flexsync.storage.layout import StoreLayout
from flexsync.storage.tables import read_table

__all__ = ["format_products", "format_summary"]


def format_summary(runs: list[RecordingRun], store_root: Path, elapsed_s: float) -> str:
    ok = [r for r in runs if r.success]
    lines = [f"processed {len(runs)} recordings in {elapsed_s:.1f} s: {len(ok)} ok, {len(runs) - len(ok)} failed"]
    for run in runs:
        for failure in run.failures:
            lines.append(f"  FAILED {run.key}: {failure}")
        for check in run.failed_checks:
            lines.append(f"  check {run.key}: {check}")
    if ok:
        models = read_table(store_root, "clock_models").filter(pl.col("recording").is_in([r.key for r in ok]))
        quality = pl.DataFrame(
            [
                {"recording": run.key, "stream": stream, "quality_ms": model.quality_s * 1e3}
                for run in ok
                for stream, model in read_clock_models(StoreLayout(store_root), run.key).items()
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
    lines.append(f"outputs: {store_root}/recordings/*.zarr, {store_root}/tables/*/, {store_root}/reports/*/")
    return "\n".join(lines)


def format_products(run: RecordingRun, store_root: Path) -> str:
    """What the dataset-wide step built, or why it failed."""
    if not run.success:
        return "training products FAILED: " + "; ".join(run.failures + run.failed_checks)
    index = pl.read_parquet(store_root / "training" / "sample_index.parquet")
    splits = pl.read_parquet(store_root / "training" / "splits.parquet")
    sides = splits.group_by("protocol", "side").len().sort("protocol", "side")
    lines = [
        f"training products: {index.height} samples of {index['action'].n_unique()} actions; splits "
        + ", ".join(f"{r['protocol']}/{r['side']}={r['len']}" for r in sides.iter_rows(named=True)),
        f"  samples: {store_root}/samples/*.zarr; FLEX export: {store_root}/export/flex; "
        f"QA: {store_root}/training/videoqa.jsonl",
    ]
    lines += [f"  check {check}" for check in run.failed_checks]
    return "\n".join(lines)
