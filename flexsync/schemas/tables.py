"""pandera schemas of every Parquet table, and the one validation entry point that uses them.

Each table has a strict model (no extra or missing columns, exact dtypes, no coercion: a wrong
dtype is a bug upstream, not something to paper over) with value checks and dataframe-level
consistency checks. ``validate_table`` collects every failure (``lazy=True``) and raises one
``TableValidationError`` whose message names the table and recordings and whose
``failure_cases`` is a small polars DataFrame, ready for Dagster check metadata.

NaN counts as a missing value (pandera's ``not_nullable``), so a float column without
``nullable=True`` rejects NaN; times and rates are also checked to be finite.
"""

from __future__ import annotations

import logging

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from flexsync.errors import FlexsyncError

__all__ = [
    "CLOCK_METHODS",
    "EVENT_SOURCES",
    "EVENT_STATUSES",
    "RECORDING_KEY_REGEX",
    "STREAM_KINDS",
    "SYNC_SOURCES",
    "TABLE_KEYS",
    "TABLE_SCHEMAS",
    "ChannelQualityTable",
    "ClockModelsTable",
    "DroppedFramesTable",
    "RecordingsTable",
    "StreamsTable",
    "SyncEventsTable",
    "TableValidationError",
    "empty_frame",
    "empty_table",
    "table_schema",
    "validate_against",
    "validate_table",
]

logger = logging.getLogger(__name__)

RECORDING_KEY_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
_NAME_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
STREAM_KINDS = ("video", "mocap", "emg", "physio")
CLOCK_METHODS = ("events", "events+offset-only", "identity", "nominal", "motion-xcorr", "declared")
EVENT_SOURCES = ("flash", "trigger", "analog", "log", "xcorr")
SYNC_SOURCES = ("flashes", "pulse_train", "coded_train")
# How the clock fit used a sync event (flexsync.ingest.clock_tables).
EVENT_STATUSES = ("fitted", "rejected", "unmatched", "unused", "reference")
MAX_FAILURE_ROWS = 100
_MESSAGE_FAILURES = 5
# max|r| >= rms(r) holds exactly; allow float rounding of the two computations.
_RESIDUAL_SLACK_S = 1e-12


def _finite(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_finite())


class _Base(pa.DataFrameModel):
    """Columns every table starts with."""

    recording: str = pa.Field(str_matches=RECORDING_KEY_REGEX)

    class Config:
        strict = True
        coerce = False


class RecordingsTable(_Base):
    """One row per published recording."""

    subject: str = pa.Field(str_matches=r"^S\d+$")
    action: str = pa.Field(str_matches=r"^A\d\d$")
    take: pl.Int32 = pa.Field(ge=1)
    reference_stream: str = pa.Field(str_matches=_NAME_REGEX)
    n_streams: pl.Int32 = pa.Field(ge=1)
    duration_s: pl.Float64 = pa.Field(gt=0)
    n_repetitions: pl.Int32 = pa.Field(ge=0)
    code_version: str = pa.Field(str_length={"min_value": 1})

    class Config:
        unique = ("recording",)

    @pa.check("duration_s", name="finite")
    def _finite_duration(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _finite(data)


class StreamsTable(_Base):
    """One row per stream of a recording: its source file and what was measured in it."""

    stream: str = pa.Field(str_matches=_NAME_REGEX)
    kind: str = pa.Field(isin=STREAM_KINDS)
    format: str = pa.Field(str_length={"min_value": 1})
    device: str
    file: str = pa.Field(str_length={"min_value": 1})
    sha256: str = pa.Field(str_matches=r"^[0-9a-f]{64}$")
    bytes: pl.Int64 = pa.Field(ge=0)
    nominal_rate_hz: pl.Float64 = pa.Field(gt=0)
    measured_rate_hz: pl.Float64 = pa.Field(ge=0)
    n_samples: pl.Int64 = pa.Field(ge=0)
    n_channels: pl.Int32 = pa.Field(ge=0)
    t_device_first_s: pl.Float64
    t_device_last_s: pl.Float64
    width: pl.Int32 = pa.Field(gt=0, nullable=True)
    height: pl.Int32 = pa.Field(gt=0, nullable=True)
    codec: str = pa.Field(nullable=True)

    class Config:
        unique = ("recording", "stream")

    @pa.check("nominal_rate_hz", "measured_rate_hz", "t_device_first_s", "t_device_last_s", name="finite")
    def _finite_times(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _finite(data)

    @pa.dataframe_check(name="t_device_last_s >= t_device_first_s")
    def _time_order(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("t_device_last_s") >= pl.col("t_device_first_s"))

    @pa.dataframe_check(name="video streams have width, height and codec")
    def _video_geometry(cls, data: pa.PolarsData) -> pl.LazyFrame:
        has_all = pl.col("width").is_not_null() & pl.col("height").is_not_null() & pl.col("codec").is_not_null()
        return data.lazyframe.select((pl.col("kind") != "video") | has_all)


class ClockModelsTable(_Base):
    """One row per clock-model segment: ``t_ref = offset_s + (1 + drift_ppm * 1e-6) * t_device``.

    The sync columns (``sync_source`` .. ``event_uncertainty_s``) came with pulse trains; a table
    written before them validates without them (optional columns), the pipeline always writes them.
    ``sync_source``: what placed the segment ("flashes", "pulse_train", "coded_train"; null for the
    motion, declared, nominal and identity models without events); ``n_pulses_found``: sync events
    detected in the segment, of which ``n_pulses_matched`` were fitted (the reference's own count as
    matched) and ``n_pulses_rejected`` not; ``event_uncertainty_s``: RMS timing uncertainty of the
    fitted events, beside (not inside) the residuals; null when unknown or nothing was fitted.
    """

    stream: str = pa.Field(str_matches=_NAME_REGEX)
    reference: str = pa.Field(str_matches=_NAME_REGEX)
    segment: pl.Int32 = pa.Field(ge=0)
    method: str = pa.Field(isin=CLOCK_METHODS)
    device_start_s: pl.Float64
    device_end_s: pl.Float64
    offset_s: pl.Float64
    drift_ppm: pl.Float64
    n_events: pl.Int32 = pa.Field(ge=0)
    rms_residual_s: pl.Float64 = pa.Field(ge=0)
    max_abs_residual_s: pl.Float64 = pa.Field(ge=0)
    confidence: pl.Float64 = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0})
    sync_source: str | None = pa.Field(isin=SYNC_SOURCES, nullable=True)  # `| None`: an optional column
    n_pulses_found: pl.Int32 | None = pa.Field(ge=0)
    n_pulses_matched: pl.Int32 | None = pa.Field(ge=0)
    n_pulses_rejected: pl.Int32 | None = pa.Field(ge=0)
    event_uncertainty_s: pl.Float64 | None = pa.Field(ge=0, nullable=True)

    class Config:
        unique = ("recording", "stream", "segment")

    @pa.check(
        "device_start_s", "device_end_s", "offset_s", "drift_ppm", "rms_residual_s", "max_abs_residual_s", name="finite"
    )
    def _finite_values(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _finite(data)

    @pa.dataframe_check(name="device_end_s >= device_start_s")
    def _segment_order(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("device_end_s") >= pl.col("device_start_s"))

    @pa.dataframe_check(name="max_abs_residual_s >= rms_residual_s")
    def _residual_order(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("max_abs_residual_s") + _RESIDUAL_SLACK_S >= pl.col("rms_residual_s"))

    @pa.dataframe_check(name="n_pulses_found = n_pulses_matched + n_pulses_rejected")
    def _pulse_counts(cls, data: pa.PolarsData) -> pl.LazyFrame:
        names = ("n_pulses_found", "n_pulses_matched", "n_pulses_rejected")
        if not all(name in data.lazyframe.collect_schema().names() for name in names):
            return data.lazyframe.select(pl.lit(True).alias("ok"))
        total = pl.col("n_pulses_matched") + pl.col("n_pulses_rejected")
        return data.lazyframe.select(pl.col("n_pulses_found") == total)


class SyncEventsTable(_Base):
    """One row per sync event seen in a stream, with its time on both clocks and its fit residual.

    ``reference_event``: the reference's event it was paired with (same label for the flash pair, the
    pulse the train fit chose); ``status``: how the fit used it (``EVENT_STATUSES``). Both optional
    columns (tables written before pulse trains lack them); the pipeline always writes them.
    """

    stream: str = pa.Field(str_matches=_NAME_REGEX)
    event: pl.Int32 = pa.Field(ge=0)
    source: str = pa.Field(isin=EVENT_SOURCES)
    t_device_s: pl.Float64
    t_ref_s: pl.Float64
    residual_s: pl.Float64 = pa.Field(nullable=True)  # null: the reference has no event of this label
    uncertainty_s: pl.Float64 = pa.Field(ge=0)
    reference_event: pl.Int32 | None = pa.Field(ge=0, nullable=True)  # `| None`: an optional column
    status: str | None = pa.Field(isin=EVENT_STATUSES)

    class Config:
        unique = ("recording", "stream", "event")

    @pa.check("t_device_s", "t_ref_s", "uncertainty_s", name="finite")
    def _finite_values(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _finite(data)

    @pa.check("residual_s", name="finite or null")
    def _finite_residual(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_finite().fill_null(True))


class DroppedFramesTable(_Base):
    """One row per gap in a video stream: ``n_missing`` frames are absent after ``after_frame``."""

    stream: str = pa.Field(str_matches=_NAME_REGEX)
    after_frame: pl.Int64 = pa.Field(ge=0)
    t_device_s: pl.Float64
    gap_s: pl.Float64 = pa.Field(gt=0)
    n_missing: pl.Int32 = pa.Field(ge=1)

    class Config:
        unique = ("recording", "stream", "after_frame")

    @pa.check("t_device_s", "gap_s", name="finite")
    def _finite_values(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _finite(data)


class ChannelQualityTable(_Base):
    """One row per signal channel: amplitude, noise and the flags derived from them."""

    stream: str = pa.Field(str_matches=_NAME_REGEX)
    channel: str = pa.Field(str_length={"min_value": 1})
    rms_uv: pl.Float64 = pa.Field(ge=0)
    snr_db: pl.Float64
    powerline_ratio: pl.Float64 = pa.Field(ge=0)
    saturation_fraction: pl.Float64 = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0})
    flat: pl.Boolean
    saturated: pl.Boolean
    powerline: pl.Boolean
    ok: pl.Boolean

    class Config:
        unique = ("recording", "stream", "channel")

    @pa.check("rms_uv", "powerline_ratio", name="finite")
    def _finite_values(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _finite(data)

    @pa.dataframe_check(name="ok implies not flat, saturated or powerline")
    def _ok_consistent(cls, data: pa.PolarsData) -> pl.LazyFrame:
        flagged = pl.col("flat") | pl.col("saturated") | pl.col("powerline")
        return data.lazyframe.select(~(pl.col("ok") & flagged))


TABLE_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "recordings": RecordingsTable,
    "streams": StreamsTable,
    "clock_models": ClockModelsTable,
    "sync_events": SyncEventsTable,
    "dropped_frames": DroppedFramesTable,
    "channel_quality": ChannelQualityTable,
}

# The columns that identify a row (the models' ``unique``); tables are sorted by them when read.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    name: tuple(model.to_schema().unique or ()) for name, model in TABLE_SCHEMAS.items()
}


class TableValidationError(FlexsyncError, ValueError):
    """A table failed its schema; ``failure_cases`` holds up to 100 failures as a polars DataFrame.

    Columns of ``failure_cases``: recording (null when the failure is not about one row),
    column (null for row-level checks across columns), check, failure_case, row.
    """

    def __init__(self, table: str, recordings: list[str], failure_cases: pl.DataFrame, n_failures: int) -> None:
        self.table = table
        self.recordings = recordings
        self.failure_cases = failure_cases
        self.n_failures = n_failures
        where = f"table {table!r}"
        if recordings:
            where += f" (recording {', '.join(recordings)})"
        shown = [_describe_failure(r) for r in failure_cases.head(_MESSAGE_FAILURES).iter_rows(named=True)]
        more = f"; {n_failures - len(shown)} more in .failure_cases" if n_failures > len(shown) else ""
        super().__init__(f"{where}: {n_failures} schema failure(s): " + "; ".join(shown) + more)


def _describe_failure(row: dict) -> str:
    case = row["failure_case"] if len(row["failure_case"] or "") <= 120 else row["failure_case"][:117] + "..."
    if row["check"] == "column_in_dataframe":
        return f"missing column {case!r}"
    if row["check"] == "column_in_schema":
        return f"unexpected column {case!r}"
    what = f"column {row['column']!r} failed {row['check']}" if row["column"] else f"rows failed {row['check']}"
    return f"{what}: {case}" + ("" if row["row"] is None else f" (row {row['row']})")


def table_schema(table: str) -> type[pa.DataFrameModel]:
    """The model of ``table``; KeyError listing the known tables otherwise."""
    try:
        return TABLE_SCHEMAS[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; known tables: {', '.join(sorted(TABLE_SCHEMAS))}") from None


def empty_table(table: str) -> pl.DataFrame:
    """A zero-row DataFrame with exactly the columns and dtypes of ``table``."""
    return empty_frame(table_schema(table))


def empty_frame(model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """A zero-row DataFrame with exactly the columns and dtypes of ``model``."""
    columns = model.to_schema().columns
    return pl.DataFrame(schema={name: column.dtype.type for name, column in columns.items()})


def validate_table(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Validate ``df`` against the schema of ``table``, collecting every failure.

    Returns ``df`` with its columns in schema order.

    Raises
    ------
    KeyError
        If ``table`` is unknown.
    TableValidationError
        Listing the failures; ``.failure_cases`` is a polars DataFrame.
    """
    return validate_against(df, table_schema(table), table)


def validate_against(df: pl.DataFrame, model: type[pa.DataFrameModel], table: str) -> pl.DataFrame:
    """``validate_table`` for a model outside the registry (the training products' own tables)."""
    recordings = _recordings_of(df)
    try:
        model.validate(df, lazy=True)
    except SchemaErrors as exc:
        cases, n_failures = _failure_table(exc.failure_cases, df)
        raise TableValidationError(table, recordings, cases, n_failures) from None
    except SchemaError as exc:  # raised eagerly by a few structural checks even when lazy
        cases = pl.DataFrame(
            {
                "recording": [None],
                "column": [str(exc.schema.name)],
                "check": [str(exc.check)],
                "failure_case": [str(exc)],
                "row": [None],
            },
            schema=_FAILURE_SCHEMA,
        )
        raise TableValidationError(table, recordings, cases, 1) from None
    return df.select([name for name in model.to_schema().columns if name in df.columns])  # optional ones may be absent


_FAILURE_SCHEMA = {
    "recording": pl.String,
    "column": pl.String,
    "check": pl.String,
    "failure_case": pl.String,
    "row": pl.Int64,
}


def _recordings_of(df: pl.DataFrame) -> list[str]:
    if "recording" not in df.columns or df.schema["recording"] != pl.String:
        return []
    return sorted(v for v in df.get_column("recording").unique().to_list() if v is not None)


def _failure_table(raw: pl.DataFrame, df: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """pandera's failure cases, with the recording of each failing row, capped in size."""
    rows = raw.get_column("index").cast(pl.Int64)
    keys = df.get_column("recording") if "recording" in df.columns and df.schema["recording"] == pl.String else None
    recording = [None if (row is None or keys is None or row >= len(keys)) else keys[row] for row in rows.to_list()]
    cases = pl.DataFrame(
        {
            "recording": recording,
            # Dataframe-level checks report the model name as their column: say "no column" instead.
            "column": raw.select(
                pl.when(pl.col("schema_context") == "DataFrameSchema").then(None).otherwise(pl.col("column"))
            )
            .to_series()
            .cast(pl.String),
            "check": raw.get_column("check").cast(pl.String),
            "failure_case": raw.get_column("failure_case").cast(pl.String),
            "row": rows,
        },
        schema=_FAILURE_SCHEMA,
    )
    cases = cases.sort(["row", "column", "check"], nulls_last=False, maintain_order=True)
    return cases.head(MAX_FAILURE_ROWS), cases.height
