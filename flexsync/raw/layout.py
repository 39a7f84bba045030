"""Where things live in a raw dataset root.

::

    RAW_ROOT/
      dataset.json              # what wrote the tree (generator name, version, seed, options)
      fkg.json                  # the Fitness Knowledge Graph (actions, key steps, errors, feedback)
      subjects.csv              # subject_id, skill, sex, height_m, mass_kg
      recordings/
        S01_A01_T1/
          calibration.json      # per camera: intrinsics, extrinsics, image size
          annotations.json      # expert labels per repetition (frame indices of view cam1)
          video/cam1.mp4 .. cam4.mp4, video/phone.mp4
          mocap/mocap.c3d
          emg/emg.bdf (or .edf)
          physio/physio.csv, physio/physio_events.csv
          manifest.json         # written LAST: its presence marks the recording complete

Ground truth from the generator goes to a sibling folder (``TRUTH_ROOT/<recording>/truth.json``)
that the pipeline never reads.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = [
    "ANNOTATIONS_FILE",
    "CALIBRATION_FILE",
    "DATASET_FILE",
    "FKG_FILE",
    "MANIFEST_FILE",
    "RECORDINGS_DIR",
    "RECORDING_KEY_PATTERN",
    "SUBJECTS_FILE",
    "TRUTH_FILE",
    "check_recording_key",
    "list_complete_recordings",
    "recording_dir",
]

DATASET_FILE = "dataset.json"
FKG_FILE = "fkg.json"
SUBJECTS_FILE = "subjects.csv"
RECORDINGS_DIR = "recordings"
MANIFEST_FILE = "manifest.json"
CALIBRATION_FILE = "calibration.json"
ANNOTATIONS_FILE = "annotations.json"
TRUTH_FILE = "truth.json"

# Keys become Dagster partition keys and folder names: keep them boring.
RECORDING_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def check_recording_key(key: str) -> str:
    """Return ``key`` if it is a valid recording key, else raise ValueError saying why."""
    if not RECORDING_KEY_PATTERN.match(key):
        raise ValueError(
            f"invalid recording key {key!r}: use letters, digits, '_' and '-' only "
            "(at most 128 characters, not starting with '_' or '-')"
        )
    return key


def recording_dir(raw_root: Path | str, key: str) -> Path:
    """The folder of recording ``key`` under ``raw_root``."""
    return Path(raw_root) / RECORDINGS_DIR / check_recording_key(key)


def list_complete_recordings(raw_root: Path | str) -> list[str]:
    """Sorted keys of recordings whose manifest is present (the manifest is written last).

    Folders with invalid names are ignored: they can never become partition keys.
    """
    base = Path(raw_root) / RECORDINGS_DIR
    if not base.is_dir():
        return []
    keys = []
    for child in base.iterdir():
        if child.is_dir() and RECORDING_KEY_PATTERN.match(child.name) and (child / MANIFEST_FILE).is_file():
            keys.append(child.name)
    return sorted(keys)
