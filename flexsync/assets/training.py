"""Training products: repetition samples per recording, then dataset-wide index, splits, export, QA."""

from pathlib import Path

import dagster as dg
import polars as pl

from flexsync.assets._translate import to_check_result, to_metadata
from flexsync.assets.partitions import recordings_partitions
from flexsync.assets.recording import aligned_recording
from flexsync.assets.resources import FlexsyncResource
from flexsync.exports.flex import export_flex_protocols, ranges_description, sample_score_problems
from flexsync.exports.flex_reader import FlexExport
from flexsync.exports.score_ranges import SCORE_CHECK, score_check
from flexsync.fkg.catalogue import read_fkg
from flexsync.quality import PathMeta, TableMeta
from flexsync.raw.layout import FKG_FILE
from flexsync.samples.extract import build_recording_samples
from flexsync.samples.fkg_tables import write_fkg_tables
from flexsync.samples.index import build_sample_index
from flexsync.samples.scores import annotated_error_problems, score_disagreements
from flexsync.samples.videoqa import build_videoqa
from flexsync.splits.protocols import PROTOCOLS, check_split, write_splits

__all__ = ["DATASET_ASSETS", "repetition_samples"]

# Dataset-wide products follow new samples by themselves when the automation sensor runs
# (make ui); `flexsync run` materialises them after the recordings.
EAGER = dg.AutomationCondition.eager()
# The FKG tables have no upstream asset, and eager() counts what is missing at the sensor's first
# tick as handled: they would never build. Build them while missing, unless their last run failed
# (no new run every tick; a manual run after fixing the FKG file clears that).
FKG_CONDITION = (
    dg.AutomationCondition.missing()
    & ~dg.AutomationCondition.in_progress()
    & ~dg.AutomationCondition.execution_failed()
).with_label("missing, last run not failed")


def _fkg(flexsync: FlexsyncResource):
    return read_fkg(Path(flexsync.raw_root) / FKG_FILE)


def _table_meta(df: pl.DataFrame, limit: int = 20) -> TableMeta:
    head = df.head(limit)
    return TableMeta(tuple(head.columns), tuple(tuple(row) for row in head.iter_rows()))


@dg.asset(
    partitions_def=recordings_partitions,
    group_name="training",
    kinds={"zarr", "parquet"},
    deps=[aligned_recording],
    description="One sample per repetition: 103-frame clips per view, pose, EMG and physiology on the same instants.",
)
def repetition_samples(context: dg.AssetExecutionContext, flexsync: FlexsyncResource) -> dg.MaterializeResult:
    result = build_recording_samples(
        flexsync.raw_root, flexsync.store(), context.partition_key, settings=flexsync.settings()
    )
    return dg.MaterializeResult(
        metadata=to_metadata(
            {
                "samples": result.n_samples,
                "views": list(result.views),
                "frame_length": result.frame_length,
                "invalid_video_frames": result.n_invalid_video_frames,
                "score_disagreements": result.n_score_disagreements,
                "path": PathMeta(result.zarr_path),
            }
        )
    )


@dg.asset(
    group_name="training",
    kinds={"parquet"},
    automation_condition=FKG_CONDITION,
    description="The Fitness Knowledge Graph as tables.",
)
def fkg_tables(flexsync: FlexsyncResource) -> dg.MaterializeResult:
    paths = write_fkg_tables(flexsync.store(), _fkg(flexsync))
    return dg.MaterializeResult(metadata=to_metadata({name: PathMeta(path) for name, path in paths.items()}))


@dg.asset(
    group_name="training",
    kinds={"parquet"},
    deps=[repetition_samples],
    automation_condition=EAGER,
    check_specs=[
        dg.AssetCheckSpec(
            "annotations_in_fkg",
            asset="sample_index",
            blocking=True,
            description="Every annotated error is one the FKG lists for its action, on the key step it belongs to; "
            "names the samples whose labels are not.",
        ),
        dg.AssetCheckSpec(
            "scores_match_fkg",
            asset="sample_index",
            description="Every expert score equals the score the FKG formula gives the sample's annotated errors "
            "(warning only: the stored score is kept); names the samples that differ.",
        ),
    ],
    description="Every sample numbered per action (FLEX's NNN), with per-action score ranges and normalised scores.",
)
def sample_index(flexsync: FlexsyncResource) -> dg.MaterializeResult:
    index = build_sample_index(flexsync.store())
    fkg = _fkg(flexsync)
    problems = annotated_error_problems(index, fkg)
    disagreements = score_disagreements(index, fkg)
    return dg.MaterializeResult(
        metadata=to_metadata(
            {
                "samples": index.height,
                "per_action": _table_meta(index.group_by("action").len().sort("action"), limit=20),
            }
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name="annotations_in_fkg",
                passed=problems.height == 0,
                description=f"{problems.height} annotated errors not in the FKG for their action and key step",
                metadata=to_metadata({"problems": _table_meta(problems)}),
            ),
            dg.AssetCheckResult(
                check_name="scores_match_fkg",
                passed=disagreements.height == 0,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"{disagreements.height} samples whose expert score differs from the FKG formula",
                metadata=to_metadata({"disagreements": _table_meta(disagreements)}),
            ),
        ],
    )


@dg.asset(
    group_name="training",
    kinds={"parquet"},
    deps=[sample_index],
    automation_condition=EAGER,
    check_specs=[
        dg.AssetCheckSpec(
            "split_promises",
            asset="splits",
            blocking=True,
            description="Each protocol keeps its promises: every sample once per split, no subject, view or skill "
            "on both sides where it promises so, every action in train and test, test shares as promised.",
        )
    ],
    description="Vanilla, cross-subject, cross-view and cross-skill splits, deterministic from the seed.",
)
def splits(flexsync: FlexsyncResource) -> dg.MaterializeResult:
    store = flexsync.store()
    table = write_splits(store, protocols=PROTOCOLS, seeds=(0,))
    index = store.read_parquet(store.training_path("sample_index.parquet"), what="sample_index")
    made = table["protocol"].unique().sort().to_list()
    problems = [
        f"{protocol}: {problem}"
        for protocol in made
        for problem in check_split(table.filter(pl.col("protocol") == protocol), index)
    ]
    counts = table.group_by("protocol", "side").len().sort("protocol", "side")
    return dg.MaterializeResult(
        metadata=to_metadata(
            {
                "rows": table.height,
                "sides": _table_meta(counts),
                "protocols_not_possible": sorted(set(PROTOCOLS) - set(made)),
            }
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name="split_promises",
                passed=not problems,
                description="; ".join(problems[:10]) or "no leakage; every action on both sides where promised",
            )
        ],
    )


class FlexExportConfig(dg.Config):
    """Which splits to export, and the score ranges the training code will normalise with."""

    protocols: list[str] | None = None  # default: every protocol stored with seed 0; vanilla -> export/flex
    score_ranges: str | None = None  # CSV or JSON table of per-class ranges; default FLEX's hard-coded one


@dg.asset(
    group_name="training",
    kinds={"jpeg", "csv"},
    deps=[splits],
    automation_condition=EAGER,
    output_required=False,  # a failed score check writes nothing: the previous export stays
    check_specs=[
        dg.AssetCheckSpec(
            SCORE_CHECK,
            asset="flex_export",
            blocking=True,
            description="Every exported raw score lies inside the score range the training code applies to its "
            "class (FLEX's hard-coded table unless config.score_ranges); names the samples that do not.",
        )
    ],
    description="The FLEX / CoRe folder layout (JPEG frames, skeleton and EMG CSVs, split .mat files), "
    "one tree per split protocol: export/flex (vanilla), export/flex-<protocol>.",
)
def flex_export(config: FlexExportConfig, flexsync: FlexsyncResource):
    store = flexsync.store()
    source = ranges_description(config.score_ranges)
    problems = sample_score_problems(store, config.score_ranges)
    if problems.height:  # before writing anything: the step fails on the blocking check
        n_samples = store.read_parquet(store.training_path("sample_index.parquet"), what="sample_index").height
        yield to_check_result(score_check(problems, ranges_source=source, n_checked=n_samples), "flex_export")
        return
    stored = store.read_parquet(store.training_path("splits.parquet"), what="splits").filter(pl.col("seed") == 0)
    available = set(stored.get_column("protocol").unique().to_list())
    wanted = list(PROTOCOLS) if config.protocols is None else list(config.protocols)
    protocols = [p for p in wanted if p in available]
    if not protocols:
        raise ValueError(f"no split of seed 0 for protocols {wanted} in splits.parquet (has {sorted(available)})")
    results = export_flex_protocols(store, protocols=protocols, seed=0, score_ranges=config.score_ranges)
    written = [FlexExport(r.out).score_problems(config.score_ranges) for r in results]
    n_rows = sum(r.n_train + r.n_test for r in results)
    outcome = score_check(pl.concat(written), ranges_source=source, n_checked=n_rows)
    main = next((r for r in results if r.protocol == "vanilla"), results[0])
    yield dg.MaterializeResult(
        metadata=to_metadata(
            {
                "path": PathMeta(main.out),
                "train": main.n_train,
                "test": main.n_test,
                "classes_with_data": list(main.classes),
                "trainable_classes": list(main.trainable_classes),
                "exports": {r.protocol: str(r.out) for r in results},
                "protocols_not_exported": sorted(set(wanted) - set(protocols)),
                "files": sum(r.n_files for r in results),
                "bytes": sum(r.n_bytes for r in results),
                "jpegs_linked": sum(r.n_frames_linked for r in results),
                "score_ranges": source,
            }
        ),
        check_results=[to_check_result(outcome, "flex_export")],
    )


@dg.asset(
    group_name="training",
    kinds={"parquet"},
    deps=[sample_index],
    automation_condition=EAGER,
    description="FLEX-VideoQA: four hierarchical questions per sample from the FKG and the annotations.",
)
def videoqa(flexsync: FlexsyncResource) -> dg.MaterializeResult:
    table = build_videoqa(flexsync.store(), _fkg(flexsync))
    return dg.MaterializeResult(
        metadata=to_metadata({"questions": table.height, "first_rows": _table_meta(table, limit=8)})
    )


DATASET_ASSETS = [fkg_tables, sample_index, splits, flex_export, videoqa]
