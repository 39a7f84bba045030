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

A raw root on an object store is read through a local cache folder laid out the same way
(flexsync.raw.remote_raw): listing and ``recording_dir`` fetch from the store on first use.

Ground truth from the generator goes to a sibling folder (``TRUTH_ROOT/<recording>/truth.json``)
that the pipeline never reads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

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
    "RecordingScan",
    "check_recording_key",
    "list_complete_recordings",
    "recording_dir",
    "scan_recordings",
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
    """The folder of recording ``key`` under ``raw_root`` (fetched first when the root caches an object store)."""
    folder = Path(raw_root) / RECORDINGS_DIR / check_recording_key(key)
    if not (folder / MANIFEST_FILE).is_file():
        from flexsync.raw.remote_raw import fetch_recording, is_raw_cache

        if is_raw_cache(raw_root):
            return fetch_recording(raw_root, key)
    return folder


class RecordingScan(NamedTuple):
    """Complete recording folders under a raw root: usable ``keys`` and ``refused`` (folder, why)."""

    keys: list[str]
    refused: list[tuple[str, str]]


def scan_recordings(raw_root: Path | str) -> RecordingScan:
    """Every complete folder (manifest present) under ``raw_root/recordings``, as a key or refused.

    A complete folder whose name is not a valid recording key cannot become a partition: it is
    listed in ``refused`` with the reason, so callers can report it instead of skipping it silently.
    Hidden folders (``.tmp-<key>`` while the generator builds a recording) and folders without a
    manifest (still being copied) are not complete and are in neither list. Both lists are sorted.
    """
    from flexsync.raw.remote_raw import is_raw_cache, list_remote_recordings

    base = Path(raw_root) / RECORDINGS_DIR
    if is_raw_cache(raw_root):  # an object-store raw root: its complete recordings are listed there
        names = list_remote_recordings(raw_root)
    elif base.is_dir():
        names = [c.name for c in base.iterdir() if c.is_dir() and (c / MANIFEST_FILE).is_file()]
    else:
        return RecordingScan([], [])
    keys: list[str] = []
    refused: list[tuple[str, str]] = []
    for name in names:
        if name.startswith("."):
            continue
        try:
            keys.append(check_recording_key(name))
        except ValueError as exc:
            refused.append((name, f"{base / name}: {exc}; rename the folder to process it"))
    return RecordingScan(sorted(keys), sorted(refused))


def list_complete_recordings(raw_root: Path | str) -> list[str]:
    """Sorted keys of recordings whose manifest is present (the manifest is written last).

    Folders with invalid names are left out: they can never become partition keys. Use
    ``scan_recordings`` to report them.
    """
    return scan_recordings(raw_root).keys
