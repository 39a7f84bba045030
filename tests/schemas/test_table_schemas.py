"""Table schemas: valid rows pass; each constraint rejects the value just outside it, with a named failure."""

from __future__ import annotations

import polars as pl
import pytest

from flexsync.schemas.tables import (
    TABLE_KEYS,
    TABLE_SCHEMAS,
    TableValidationError,
    empty_table,
    validate_table,
)

KEY = "S01_A16_T1"
SHA = "ab" * 32


def _rows(table: str) -> pl.DataFrame:
    """Two valid rows of ``table`` for recording KEY, with exact dtypes."""
    if table == "recordings":
        return pl.DataFrame(
            {
                "recording": [KEY, "S02_A16_T1"],
                "subject": ["S01", "S02"],
                "action": ["A16", "A16"],
                "take": [1, 2],
                "reference_stream": ["mocap", "mocap"],
                "n_streams": [8, 8],
                "duration_s": [30.5, 0.001],
                "n_repetitions": [10, 0],
                "code_version": ["0.1.0", "0.1.0"],
            },
            schema_overrides={"take": pl.Int32, "n_streams": pl.Int32, "n_repetitions": pl.Int32},
        )
    if table == "streams":
        return pl.DataFrame(
            {
                "recording": [KEY, KEY],
                "stream": ["cam1", "emg"],
                "kind": ["video", "emg"],
                "format": ["mp4", "bdf"],
                "device": ["cinema camera 1", ""],
                "file": ["video/cam1.mp4", "emg/emg.bdf"],
                "sha256": [SHA, SHA],
                "bytes": [123_456, 0],
                "nominal_rate_hz": [60.0, 2000.0],
                "measured_rate_hz": [59.94, 0.0],
                "n_samples": [1800, 0],
                "n_channels": [3, 0],
                "t_device_first_s": [0.0, 1.5],
                "t_device_last_s": [29.98, 1.5],
                "width": [455, None],
                "height": [256, None],
                "codec": ["h264", None],
            },
            schema_overrides={
                "bytes": pl.Int64,
                "n_samples": pl.Int64,
                "n_channels": pl.Int32,
                "width": pl.Int32,
                "height": pl.Int32,
                "codec": pl.String,
            },
        )
    if table == "clock_models":
        return pl.DataFrame(
            {
                "recording": [KEY, KEY],
                "stream": ["emg", "emg"],
                "reference": ["mocap", "mocap"],
                "segment": [0, 1],
                "method": ["events", "events+offset-only"],
                "device_start_s": [0.0, 12.0],
                "device_end_s": [12.0, 12.0],
                "offset_s": [0.41, -3.2],
                "drift_ppm": [21.5, -4.0],
                "n_events": [2, 0],
                "rms_residual_s": [0.0002, 0.0],
                "max_abs_residual_s": [0.0002, 0.0],
                "confidence": [1.0, 0.0],
                "sync_source": ["coded_train", None],
                "n_pulses_found": [14, 1],
                "n_pulses_matched": [12, 0],
                "n_pulses_rejected": [2, 1],
                "event_uncertainty_s": [1.4e-5, None],
            },
            schema_overrides={
                "segment": pl.Int32,
                "n_events": pl.Int32,
                "sync_source": pl.String,
                "n_pulses_found": pl.Int32,
                "n_pulses_matched": pl.Int32,
                "n_pulses_rejected": pl.Int32,
                "event_uncertainty_s": pl.Float64,
            },
        )
    if table == "sync_events":
        return pl.DataFrame(
            {
                "recording": [KEY, KEY],
                "stream": ["cam1", "cam1"],
                "event": [0, 1],
                "source": ["flash", "flash"],
                "t_device_s": [0.79, 24.39],
                "t_ref_s": [1.2, 24.8],
                "residual_s": [-0.0003, 0.0003],
                "uncertainty_s": [0.0, 0.004],
                "reference_event": [0, None],
                "status": ["fitted", "unmatched"],
            },
            schema_overrides={"event": pl.Int32, "reference_event": pl.Int32},
        )
    if table == "dropped_frames":
        return pl.DataFrame(
            {
                "recording": [KEY, KEY],
                "stream": ["cam1", "cam1"],
                "after_frame": [0, 902],
                "t_device_s": [0.0, 15.03],
                "gap_s": [0.0334, 0.05],
                "n_missing": [1, 2],
            },
            schema_overrides={"after_frame": pl.Int64, "n_missing": pl.Int32},
        )
    if table == "channel_quality":
        return pl.DataFrame(
            {
                "recording": [KEY, KEY],
                "stream": ["emg", "emg"],
                "channel": ["vl_L", "vl_R"],
                "rms_uv": [45.0, 0.0],
                "snr_db": [18.0, float("-inf")],
                "powerline_ratio": [0.01, 0.0],
                "saturation_fraction": [0.0, 1.0],
                "flat": [False, True],
                "saturated": [False, True],
                "powerline": [False, False],
                "ok": [True, False],
            },
        )
    raise KeyError(table)


@pytest.mark.parametrize("table", sorted(TABLE_SCHEMAS))
def test_valid_rows_pass_and_come_back_in_schema_order(table):
    df = _rows(table)
    shuffled = df.select(list(reversed(df.columns)))
    out = validate_table(shuffled, table)
    assert out.columns == list(TABLE_SCHEMAS[table].to_schema().columns)
    assert out.equals(df)


@pytest.mark.parametrize("table", sorted(TABLE_SCHEMAS))
def test_empty_table_has_schema_dtypes_and_validates(table):
    empty = empty_table(table)
    assert empty.height == 0
    assert empty.schema == _rows(table).schema
    assert validate_table(empty, table).height == 0


def _set(df: pl.DataFrame, column: str, value, row: int = 0) -> pl.DataFrame:
    values = df.get_column(column).to_list()
    values[row] = value
    return df.with_columns(pl.Series(column, values, dtype=df.schema[column]))


# (table, column, bad value, expected failing check, column reported by the failure (None: row-level))
VALUE_CASES = [
    ("recordings", "subject", "P01", "str_matches('^S\\d+$')", "subject"),
    ("recordings", "action", "A1", "str_matches('^A\\d\\d$')", "action"),
    ("recordings", "take", 0, "greater_than_or_equal_to(1)", "take"),
    ("recordings", "duration_s", 0.0, "greater_than(0)", "duration_s"),
    ("recordings", "duration_s", float("inf"), "finite", "duration_s"),
    ("recordings", "n_repetitions", -1, "greater_than_or_equal_to(0)", "n_repetitions"),
    ("recordings", "recording", "S01/../x", "str_matches('^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$')", "recording"),
    ("streams", "kind", "audio", "isin(('video', 'mocap', 'emg', 'physio'))", "kind"),
    ("streams", "sha256", "ab" * 31 + "a", "str_matches('^[0-9a-f]{64}$')", "sha256"),
    ("streams", "sha256", "AB" * 32, "str_matches('^[0-9a-f]{64}$')", "sha256"),
    ("streams", "nominal_rate_hz", 0.0, "greater_than(0)", "nominal_rate_hz"),
    ("streams", "measured_rate_hz", -0.001, "greater_than_or_equal_to(0)", "measured_rate_hz"),
    ("streams", "t_device_last_s", -0.001, "t_device_last_s >= t_device_first_s", None),
    ("streams", "width", None, "video streams have width, height and codec", None),
    ("streams", "height", 0, "greater_than(0)", "height"),
    (
        "clock_models",
        "method",
        "magic",
        "isin(('events', 'events+offset-only', 'identity', 'nominal', 'motion-xcorr', 'declared'))",
        "method",
    ),
    ("clock_models", "confidence", 1.0000001, "in_range(0.0, 1.0)", "confidence"),
    ("clock_models", "segment", -1, "greater_than_or_equal_to(0)", "segment"),
    ("clock_models", "device_end_s", -0.5, "device_end_s >= device_start_s", None),
    ("clock_models", "max_abs_residual_s", 0.0001, "max_abs_residual_s >= rms_residual_s", None),
    ("clock_models", "drift_ppm", float("inf"), "finite", "drift_ppm"),
    ("sync_events", "source", "gps", "isin(('flash', 'trigger', 'analog', 'log', 'xcorr'))", "source"),
    (
        "sync_events",
        "status",
        "lost",
        "isin(('fitted', 'rejected', 'unmatched', 'unused', 'reference'))",
        "status",
    ),
    ("clock_models", "sync_source", "gps", "isin(('flashes', 'pulse_train', 'coded_train'))", "sync_source"),
    ("clock_models", "n_pulses_found", 15, "n_pulses_found = n_pulses_matched + n_pulses_rejected", None),
    ("sync_events", "uncertainty_s", -1e-9, "greater_than_or_equal_to(0)", "uncertainty_s"),
    ("dropped_frames", "gap_s", 0.0, "greater_than(0)", "gap_s"),
    ("dropped_frames", "n_missing", 0, "greater_than_or_equal_to(1)", "n_missing"),
    ("dropped_frames", "after_frame", -1, "greater_than_or_equal_to(0)", "after_frame"),
    ("channel_quality", "saturation_fraction", 1.01, "in_range(0.0, 1.0)", "saturation_fraction"),
    ("channel_quality", "rms_uv", -0.1, "greater_than_or_equal_to(0)", "rms_uv"),
    ("channel_quality", "flat", True, "ok implies not flat, saturated or powerline", None),
]


@pytest.mark.parametrize(("table", "column", "value", "check", "reported"), VALUE_CASES)
def test_value_just_outside_a_constraint_fails(table, column, value, check, reported):
    df = _set(_rows(table), column, value)
    with pytest.raises(TableValidationError, match=f"table '{table}' \\(recording .*: 1 schema failure") as info:
        validate_table(df, table)
    err = info.value
    assert err.table == table
    assert err.recordings == sorted(set(df.get_column("recording")))
    cases = err.failure_cases
    assert cases.columns == ["recording", "column", "check", "failure_case", "row"]
    assert cases.select("column", "check", "row").rows() == [(reported, check, 0)]
    assert cases.get_column("recording").to_list() == [df.get_column("recording")[0]]
    assert err.n_failures == 1


def test_nan_is_missing_and_not_finite():
    df = _set(_rows("streams"), "t_device_first_s", float("nan"))
    with pytest.raises(TableValidationError, match="3 schema failure") as info:
        validate_table(df, "streams")
    assert set(info.value.failure_cases.select("column", "check", "row").rows()) == {
        ("t_device_first_s", "not_nullable", 0),
        ("t_device_first_s", "finite", 0),
        (None, "t_device_last_s >= t_device_first_s", 0),
    }


def test_duplicate_keys_fail_for_every_table():
    for table, keys in TABLE_KEYS.items():
        df = _rows(table)
        dup = pl.concat([df.head(1), df.head(1)])
        with pytest.raises(TableValidationError, match="rows failed multiple_fields_uniqueness") as info:
            validate_table(dup, table)
        assert info.value.failure_cases.get_column("row").to_list() == [0, 1], table
        assert set(keys) <= set(df.columns)


def test_wrong_dtype_missing_and_extra_columns_are_all_collected():
    df = _rows("dropped_frames").with_columns(pl.col("n_missing").cast(pl.Int64)).drop("gap_s")
    df = df.with_columns(pl.lit(1).alias("comment"))
    with pytest.raises(TableValidationError, match="missing column 'gap_s'") as info:
        validate_table(df, "dropped_frames")
    got = set(info.value.failure_cases.select("column", "check", "failure_case").rows())
    assert got == {
        (None, "column_in_dataframe", "gap_s"),
        (None, "column_in_schema", "comment"),
        ("n_missing", "dtype('Int32')", "Int64"),
    }
    assert "unexpected column 'comment'" in str(info.value)


def test_failure_cases_are_capped_and_message_stays_short():
    n = 250
    df = pl.DataFrame(
        {
            "recording": [KEY] * n,
            "stream": ["cam1"] * n,
            "after_frame": list(range(n)),
            "t_device_s": [0.0] * n,
            "gap_s": [0.0] * n,
            "n_missing": [1] * n,
        },
        schema_overrides={"after_frame": pl.Int64, "n_missing": pl.Int32},
    )
    with pytest.raises(TableValidationError, match=r"250 schema failure\(s\).*245 more in \.failure_cases") as info:
        validate_table(df, "dropped_frames")
    assert info.value.failure_cases.height == 100
    assert info.value.n_failures == n
    assert len(str(info.value)) < 1000


def test_unknown_table():
    with pytest.raises(KeyError, match="unknown table 'repetitionz'; known tables: channel_quality"):
        validate_table(_rows("streams"), "repetitionz")


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        (
            "clock_models",
            ["sync_source", "n_pulses_found", "n_pulses_matched", "n_pulses_rejected", "event_uncertainty_s"],
        ),
        ("sync_events", ["reference_event", "status"]),
    ],
)
def test_tables_written_before_the_sync_columns_still_validate(table, columns):
    """The pulse-train columns are optional: a table without them (an older store) passes, without them."""
    old = _rows(table).drop(columns)
    out = validate_table(old, table)
    assert out.columns == old.columns and out.equals(old)
