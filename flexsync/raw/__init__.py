"""The raw dataset tree: its layout, the recording manifest, the subjects table and safe path resolution.

This is the contract between whoever records (a lab, or ``flexsync synth``) and the pipeline.
See docs/raw-format.md for the prose version.
"""

from flexsync.raw.layout import (
    CALIBRATION_FILE,
    DATASET_FILE,
    FKG_FILE,
    MANIFEST_FILE,
    RECORDINGS_DIR,
    SUBJECTS_FILE,
    list_complete_recordings,
    recording_dir,
)
from flexsync.raw.manifest import (
    Manifest,
    StreamEntry,
    read_manifest,
    resolve_inside,
    write_manifest,
)
from flexsync.raw.subjects import SKILLS, SUBJECT_COLUMNS, SubjectInfo, read_subjects_csv, write_subjects_csv

__all__ = [
    "CALIBRATION_FILE",
    "DATASET_FILE",
    "FKG_FILE",
    "MANIFEST_FILE",
    "RECORDINGS_DIR",
    "SKILLS",
    "SUBJECTS_FILE",
    "SUBJECT_COLUMNS",
    "Manifest",
    "StreamEntry",
    "SubjectInfo",
    "list_complete_recordings",
    "read_manifest",
    "read_subjects_csv",
    "recording_dir",
    "resolve_inside",
    "write_manifest",
    "write_subjects_csv",
]
