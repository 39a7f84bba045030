"""The raw dataset tree: its layout, the recording manifest and safe path resolution.

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

__all__ = [
    "CALIBRATION_FILE",
    "DATASET_FILE",
    "FKG_FILE",
    "MANIFEST_FILE",
    "RECORDINGS_DIR",
    "SUBJECTS_FILE",
    "Manifest",
    "StreamEntry",
    "list_complete_recordings",
    "read_manifest",
    "recording_dir",
    "resolve_inside",
    "write_manifest",
]
