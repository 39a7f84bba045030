"""The recordings a fault case damages: the small generated raw root, its clones, and a case's target folder."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from flexsync.raw.layout import MANIFEST_FILE, RECORDINGS_DIR
from flexsync.synth.options import SynthOptions

# Small recordings: two cinema views and the phone at 96x54, one repetition, frames stored at the source size.
FAULT_SYNTH_OPTIONS = SynthOptions(
    seed=5,
    subjects=1,
    actions=("A01", "A13"),
    repetitions=1,
    width=96,
    height=54,
    phone_width=54,
    phone_height=96,
    cinema_cameras=2,
)
FAULT_SETTINGS: dict[str, Any] = {"frame_width": 96, "frame_height": 54}
# The generated recording every case clones, and the one no case touches (published in every run).
SOURCE_KEY, GOOD_KEY = "S01_A01_T1", "S01_A13_T1"
OUTSIDE_DIR = "outside"  # beside the raw root: where escaping paths and symlinks lead

Outcome = Literal["fails", "warns", "accepted", "refused", "skipped"]


# -- the damaged recording -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The recording folder a case damages, with helpers that edit it the way a broken recorder would."""

    raw_root: Path
    key: str
    outside: Path  # a folder outside the raw root (for escaping paths and symlinks)

    @property
    def folder(self) -> Path:
        return self.raw_root / RECORDINGS_DIR / self.key

    def path(self, relative: str) -> Path:
        return self.folder / relative

    def read(self, relative: str) -> bytes:
        return self.path(relative).read_bytes()

    def write(self, relative: str, data: bytes, *, record_hash: bool = True) -> None:
        """Replace a file; with ``record_hash`` the manifest records its new hash (the recorder wrote it so)."""
        self.path(relative).parent.mkdir(parents=True, exist_ok=True)
        self.path(relative).write_bytes(data)
        if record_hash:
            rehash(self.folder, relative)

    def text(self, relative: str) -> str:
        return self.read(relative).decode("utf-8")

    def manifest(self) -> dict[str, Any]:
        return json.loads(self.path(MANIFEST_FILE).read_text(encoding="utf-8"))

    def write_manifest(self, data: dict[str, Any]) -> None:
        self.path(MANIFEST_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def edit_manifest(self, edit: Callable[[dict[str, Any]], None]) -> None:
        data = self.manifest()
        edit(data)
        self.write_manifest(data)


def rehash(folder: Path, relative: str) -> None:
    """Record the size and SHA-256 of ``relative`` (or its absence) in the recording's manifest."""
    manifest_path = folder / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    path = folder / relative
    if path.is_file():
        data = path.read_bytes()
        manifest.setdefault("files", {})[relative] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    else:
        manifest.get("files", {}).pop(relative, None)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def clone_recording(source: Path, raw_root: Path, key: str) -> Path:
    """Copy the recording folder ``source`` into ``raw_root`` as recording ``key`` (its manifest names ``key``).

    The manifest's file hashes stay valid: no file but the manifest (which is not hashed) changes.
    """
    target = raw_root / RECORDINGS_DIR / key
    shutil.copytree(source, target, symlinks=True)
    manifest_path = target / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["recording"] = key
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return target
