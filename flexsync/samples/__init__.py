"""Training products: repetition samples, FKG tables, score checks, the sample index and FLEX-VideoQA.

Dagster-free; the assets call these. Store layout in ``flexsync.samples._io``, table schemas in
``flexsync.samples.schemas``, the per-recording layout in docs/store-format.md ("Training products").
"""

from flexsync.samples._io import fkg_table_path, samples_path, samples_table_path, training_path
from flexsync.samples.extract import (
    DEFAULT_FRAME_LENGTH,
    VIEW_ORDER,
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
    "VIEW_ORDER",
    "Repetition",
    "SamplesResult",
    "annotated_error_problems",
    "build_recording_samples",
    "build_sample_index",
    "build_videoqa",
    "fkg_score_or_none",
    "fkg_table_path",
    "fkg_tables",
    "read_repetitions",
    "read_samples",
    "recompute_scores",
    "sample_rows",
    "samples_path",
    "samples_table_path",
    "score_disagreements",
    "score_ranges",
    "training_path",
    "validate_sample_table",
    "videoqa_rows",
    "write_fkg_tables",
]
