"""Training products: repetition samples, FKG tables, score checks, the sample index and FLEX-VideoQA.

Dagster-free; the assets call these. Every file goes through a :class:`flexsync.storage.Store`
(which owns where it lives); table schemas are in ``flexsync.samples.schemas``, the layout in
docs/store-format.md ("Training products").
"""

from flexsync.samples.extract import (
    DEFAULT_FRAME_LENGTH,
    Repetition,
    SamplesResult,
    build_recording_samples,
    read_repetitions,
    sample_rows,
)
from flexsync.samples.fkg_tables import FKG_TABLES, fkg_tables, write_fkg_tables
from flexsync.samples.index import build_sample_index, read_samples, score_ranges
from flexsync.samples.schemas import SAMPLE_TABLE_SCHEMAS, SCORE_TOLERANCE, validate_sample_table
from flexsync.samples.scores import annotated_error_problems, fkg_score_or_none, recompute_scores, score_disagreements
from flexsync.samples.videoqa import QUESTIONS, build_videoqa, videoqa_rows

__all__ = [
    "DEFAULT_FRAME_LENGTH",
    "FKG_TABLES",
    "QUESTIONS",
    "SAMPLE_TABLE_SCHEMAS",
    "SCORE_TOLERANCE",
    "Repetition",
    "SamplesResult",
    "annotated_error_problems",
    "build_recording_samples",
    "build_sample_index",
    "build_videoqa",
    "fkg_score_or_none",
    "fkg_tables",
    "read_repetitions",
    "read_samples",
    "recompute_scores",
    "sample_rows",
    "score_disagreements",
    "score_ranges",
    "validate_sample_table",
    "videoqa_rows",
    "write_fkg_tables",
]
