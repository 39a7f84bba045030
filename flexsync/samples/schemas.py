"""pandera schemas of the training-product tables: samples, sample index, VideoQA, FKG tables, checks.

Kept beside the code that writes these tables; validated by the same machinery as
``flexsync/schemas/tables.py`` (``validate_against``): strict columns, exact dtypes, no coercion,
every failure collected and raised once as ``TableValidationError``.

Nested columns (``phases``, ``errors``, ...) are polars lists; their element dtypes are checked
exactly like flat columns.
"""

from __future__ import annotations

import logging

import pandera.polars as pa
import polars as pl

from flexsync.raw.subjects import SKILLS
from flexsync.schemas.tables import RECORDING_KEY_REGEX, empty_frame, validate_against

__all__ = [
    "ANSWER_LEVELS",
    "PHASE_STRUCT",
    "SAMPLE_ID_REGEX",
    "SAMPLE_TABLE_SCHEMAS",
    "SCORE_TOLERANCE",
    "AnnotationProblemsTable",
    "FkgActionsTable",
    "FkgErrorTypesTable",
    "FkgFeedbackTable",
    "FkgKeyStepsTable",
    "FkgLinksTable",
    "SampleIndexTable",
    "SamplesTable",
    "ScoreChecksTable",
    "VideoQATable",
    "empty_sample_table",
    "validate_sample_table",
]

logger = logging.getLogger(__name__)

SAMPLE_ID_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}_R\d{2,}$"
_ACTION_REGEX = r"^A\d\d$"
# Expert and FKG scores agree when they differ by at most this (scores are written to 2 decimals).
SCORE_TOLERANCE = 0.01
ANSWER_LEVELS = (1, 2, 3, 4)
PHASE_STRUCT = pl.Struct({"phase": pl.String, "key_step": pl.String, "t_start_s": pl.Float64, "t_end_s": pl.Float64})
_STRINGS = pl.List(pl.String)
_PHASES = pl.List(PHASE_STRUCT)


def _finite(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_finite())


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = False


class SamplesTable(_Strict):
    """One row per repetition sample (one partition per recording, in its samples unit).

    ``fkg_score`` is null when an annotated error is not an error type of the action (the
    annotation check names the sample); ``score_agrees`` is then False.
    """

    recording: str = pa.Field(str_matches=RECORDING_KEY_REGEX)
    sample_id: str = pa.Field(str_matches=SAMPLE_ID_REGEX)
    subject: str = pa.Field(str_matches=r"^S\d+$")
    skill: str = pa.Field(isin=SKILLS)
    action: str = pa.Field(str_matches=_ACTION_REGEX)
    class_idx: pl.Int32 = pa.Field(in_range={"min_value": 1, "max_value": 20})
    take: pl.Int32 = pa.Field(ge=1)
    rep_index: pl.Int32 = pa.Field(ge=1)
    t_start_s: pl.Float64
    t_end_s: pl.Float64
    phases: _PHASES
    errors: _STRINGS
    error_key_steps: _STRINGS
    feedback: _STRINGS
    expert_score: pl.Float64 = pa.Field(in_range={"min_value": 0.0, "max_value": 100.0})
    fkg_score: pl.Float64 = pa.Field(in_range={"min_value": 0.0, "max_value": 100.0}, nullable=True)
    score_agrees: pl.Boolean
    emg_channels: _STRINGS

    class Config:
        unique = ("sample_id",)

    @pa.check("t_start_s", "t_end_s", name="finite")
    def _finite_times(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return _finite(data)

    @pa.dataframe_check(name="t_end_s > t_start_s")
    def _time_order(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("t_end_s") > pl.col("t_start_s"))

    @pa.dataframe_check(name="sample_id is recording_Rnn of rep_index")
    def _sample_id(cls, data: pa.PolarsData) -> pl.LazyFrame:
        expected = pl.format("{}_R{}", pl.col("recording"), pl.col("rep_index").cast(pl.String).str.zfill(2))
        return data.lazyframe.select(pl.col("sample_id") == expected)

    @pa.dataframe_check(name="one key step per error")
    def _error_key_steps(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("errors").list.len() == pl.col("error_key_steps").list.len())

    @pa.dataframe_check(name="score_agrees is |expert_score - fkg_score| <= 0.01")
    def _agreement(cls, data: pa.PolarsData) -> pl.LazyFrame:
        agrees = ((pl.col("expert_score") - pl.col("fkg_score")).abs() <= SCORE_TOLERANCE).fill_null(False)
        return data.lazyframe.select(pl.col("score_agrees") == agrees)


class SampleIndexTable(SamplesTable):
    """Every sample of the dataset with its FLEX number per action and its normalised score."""

    action_sample_index: pl.Int32 = pa.Field(ge=1)
    score_min: pl.Float64 = pa.Field(in_range={"min_value": 0.0, "max_value": 100.0})
    score_max: pl.Float64 = pa.Field(in_range={"min_value": 0.0, "max_value": 100.0})
    score_norm: pl.Float64 = pa.Field(in_range={"min_value": 0.0, "max_value": 1.0})

    class Config:
        unique = ("sample_id",)

    @pa.dataframe_check(name="score_min <= expert_score <= score_max")
    def _score_range(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("score_min") <= pl.col("expert_score")) & (pl.col("expert_score") <= pl.col("score_max"))
        )

    @pa.dataframe_check(name="action_sample_index unique per action")
    def _unique_number(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.struct("action", "action_sample_index").is_duplicated())


class VideoQATable(_Strict):
    """FLEX-VideoQA: four hierarchical questions per sample, answers from annotations and templates.

    ``clip_path`` is the samples group relative to the store root and ``clip_row`` the sample's
    row in it; ``views`` the views to show. ``answer_score`` is the expert score on level 4.
    """

    question_id: str = pa.Field(str_matches=r"^.+_L[1-4]$")
    sample_id: str = pa.Field(str_matches=SAMPLE_ID_REGEX)
    recording: str = pa.Field(str_matches=RECORDING_KEY_REGEX)
    action: str = pa.Field(str_matches=_ACTION_REGEX)
    level: pl.Int32 = pa.Field(isin=list(ANSWER_LEVELS))
    question: str = pa.Field(str_length={"min_value": 1})
    answer: str = pa.Field(str_length={"min_value": 1})
    answer_score: pl.Float64 = pa.Field(in_range={"min_value": 0.0, "max_value": 100.0}, nullable=True)
    views: _STRINGS
    clip_path: str = pa.Field(str_length={"min_value": 1})
    clip_row: pl.Int32 = pa.Field(ge=0)
    t_start_s: pl.Float64
    t_end_s: pl.Float64

    class Config:
        unique = ("question_id",)

    @pa.dataframe_check(name="answer_score set exactly on level 4")
    def _score_level(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("level") == 4) == pl.col("answer_score").is_not_null())


class ScoreChecksTable(_Strict):
    """Per sample: the expert score, the score recomputed from the FKG, and whether they agree."""

    sample_id: str = pa.Field(str_matches=SAMPLE_ID_REGEX)
    recording: str = pa.Field(str_matches=RECORDING_KEY_REGEX)
    action: str = pa.Field(str_matches=_ACTION_REGEX)
    expert_score: pl.Float64
    fkg_score: pl.Float64 = pa.Field(nullable=True)
    difference: pl.Float64 = pa.Field(nullable=True)
    agrees: pl.Boolean
    reason: str


class AnnotationProblemsTable(_Strict):
    """One row per annotated error that the FKG does not allow where it was annotated."""

    sample_id: str = pa.Field(str_matches=SAMPLE_ID_REGEX)
    recording: str = pa.Field(str_matches=RECORDING_KEY_REGEX)
    action: str
    position: pl.Int32 = pa.Field(ge=0)
    error: str
    key_step: str = pa.Field(nullable=True)
    expected_key_step: str = pa.Field(nullable=True)
    problem: str = pa.Field(str_length={"min_value": 1})


class FkgActionsTable(_Strict):
    """FKG actions: one row per exercise."""

    action_id: str = pa.Field(str_matches=_ACTION_REGEX, unique=True)
    class_idx: pl.Int32 = pa.Field(ge=1)
    name: str
    equipment: str
    family: str
    main_muscles: _STRINGS
    emg_muscles: _STRINGS
    emg_channels: _STRINGS
    n_key_steps: pl.Int32 = pa.Field(ge=1)
    n_error_types: pl.Int32 = pa.Field(ge=1)
    total_weight: pl.Float64 = pa.Field(gt=0)


class FkgKeyStepsTable(_Strict):
    """FKG key steps, in execution order per action (``step_order`` 1-based)."""

    key_step_id: str = pa.Field(unique=True)
    action_id: str = pa.Field(str_matches=_ACTION_REGEX)
    step_order: pl.Int32 = pa.Field(ge=1)
    name: str
    phase: str = pa.Field(isin=["preparation", "eccentric", "concentric"])


class FkgErrorTypesTable(_Strict):
    """FKG error types with their severity weight (the score's terms)."""

    error_id: str = pa.Field(unique=True)
    action_id: str = pa.Field(str_matches=_ACTION_REGEX)
    key_step_id: str
    error_order: pl.Int32 = pa.Field(ge=1)
    name: str
    category: str
    weight: pl.Float64 = pa.Field(gt=0)
    kinematic_effect: str = pa.Field(nullable=True)


class FkgFeedbackTable(_Strict):
    """FKG feedback sentences, one per error type."""

    feedback_id: str = pa.Field(unique=True)
    error_id: str
    action_id: str = pa.Field(str_matches=_ACTION_REGEX)
    text: str = pa.Field(str_length={"min_value": 1})


class FkgLinksTable(_Strict):
    """The graph's edges: action -> key step -> error type -> feedback."""

    source_id: str
    source_kind: str = pa.Field(isin=["action", "key_step", "error_type"])
    relation: str = pa.Field(isin=["has_key_step", "may_show_error", "corrected_by"])
    target_id: str
    target_kind: str = pa.Field(isin=["key_step", "error_type", "feedback"])

    class Config:
        unique = ("source_id", "relation", "target_id")


SAMPLE_TABLE_SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "samples": SamplesTable,
    "sample_index": SampleIndexTable,
    "videoqa": VideoQATable,
    "score_checks": ScoreChecksTable,
    "annotation_problems": AnnotationProblemsTable,
    "fkg_actions": FkgActionsTable,
    "fkg_key_steps": FkgKeyStepsTable,
    "fkg_error_types": FkgErrorTypesTable,
    "fkg_feedback": FkgFeedbackTable,
    "fkg_links": FkgLinksTable,
}


def _schema(table: str) -> type[pa.DataFrameModel]:
    try:
        return SAMPLE_TABLE_SCHEMAS[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; known: {', '.join(sorted(SAMPLE_TABLE_SCHEMAS))}") from None


def empty_sample_table(table: str) -> pl.DataFrame:
    """A zero-row DataFrame with exactly the columns and dtypes of ``table``."""
    return empty_frame(_schema(table))


def validate_sample_table(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Validate ``df`` against ``table``'s schema (every failure collected); columns in schema order.

    Raises
    ------
    KeyError
        If ``table`` is unknown.
    TableValidationError
        Listing the failures; ``.failure_cases`` is a polars DataFrame (recording, column,
        check, failure_case, row).
    """
    return validate_against(df, _schema(table), table)
