"""A raw recording opened for processing: its folder, validated manifest and file paths."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from flexsync.calibration.camera import CameraCalibration
from flexsync.calibration.formats import read_calibration
from flexsync.errors import InputFileError, ManifestError, MissingInputError
from flexsync.raw.layout import recording_dir
from flexsync.raw.manifest import Manifest, StreamEntry, read_manifest

__all__ = ["RawRecording", "file_digest", "naming_errors", "verify_input"]


@dataclass(frozen=True)
class RawRecording:
    """Everything a processing step needs to locate a recording's inputs safely."""

    key: str
    folder: Path
    raw_root: Path
    manifest: Manifest

    @classmethod
    def open(cls, raw_root: Path | str, key: str) -> RawRecording:
        root = Path(raw_root)
        folder = recording_dir(root, key)
        return cls(key=key, folder=folder, raw_root=root, manifest=read_manifest(folder, raw_root=root))

    def stream(self, name: str) -> StreamEntry:
        try:
            return self.manifest.streams[name]
        except KeyError:
            raise ManifestError(
                f"stream {name!r} is not in the manifest (streams: {', '.join(self.manifest.streams)})",
                path=self.folder / "manifest.json",
                recording=self.key,
            ) from None

    def has_stream(self, name: str) -> bool:
        return name in self.manifest.streams

    def path(self, relative: str) -> Path:
        """Absolute path of a file named in the manifest (never outside the raw root)."""
        return self.manifest.path_of(self.folder, relative, raw_root=self.raw_root)

    def stream_path(self, name: str) -> Path:
        return self.path(self.stream(name).file)

    @cached_property
    def annotations(self) -> dict[str, Any] | None:
        if not self.manifest.annotations:
            return None
        return self._json_object(self.manifest.annotations, "annotations")

    @cached_property
    def calibration(self) -> dict[str, CameraCalibration] | None:
        """The cameras of the manifest's ``calibration`` file by stream name (format by its extension), if any.

        Raises MissingInputError when the named file is absent and InputFileError (naming the
        recording, the file, the camera and the field) when it cannot be used.
        """
        if not self.manifest.calibration:
            return None
        path = self.path(self.manifest.calibration)
        if not path.is_file():
            raise MissingInputError(
                "the calibration file named in the manifest is missing", path=path, recording=self.key
            )
        try:
            return read_calibration(path)
        except InputFileError as error:
            raise InputFileError(error.problem, path=error.path, recording=self.key, stream=error.stream) from None

    def _json_object(self, relative: str, what: str) -> dict[str, Any]:
        """A JSON object file of the recording, or an InputFileError naming the file and what is wrong."""
        path = self.path(relative)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MissingInputError(
                f"the {what} file named in the manifest is missing", path=path, recording=self.key
            ) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputFileError(f"the {what} file is not valid JSON: {exc}", path=path, recording=self.key) from None
        if not isinstance(data, dict):
            raise InputFileError(
                f"the {what} file must hold one JSON object, got a {type(data).__name__}", path=path, recording=self.key
            )
        return data


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def verify_input(recording: RawRecording, relative: str, *, stream: str | None = None) -> tuple[str, int]:
    """Hash an input file and compare with the manifest's record, if it has one.

    A mismatch means the file changed or arrived broken after the recorder wrote the manifest.
    """
    path = recording.path(relative)
    sha256, size = file_digest(path)
    expected = recording.manifest.files.get(relative)
    if expected and expected.get("sha256") and expected["sha256"] != sha256:
        raise InputFileError(
            f"content does not match the manifest (sha256 {sha256[:12]}… vs {str(expected['sha256'])[:12]}…, "
            f"{size} vs {expected.get('bytes')} bytes): the file changed or was damaged after recording",
            path=path,
            recording=recording.key,
            stream=stream,
        )
    return sha256, size


@contextmanager
def naming_errors(recording: RawRecording, stream: str) -> Iterator[None]:
    """Re-raise a reader's InputFileError with the recording and stream it happened in.

    Readers know the file, not which recording or stream it belongs to; the run summary and the
    UI should still say "recording S01_A01_T1, stream physio, file ...: <problem>".
    """
    try:
        yield
    except InputFileError as error:
        if error.recording and error.stream:
            raise
        raise type(error)(
            error.problem,
            path=error.path,
            recording=error.recording or recording.key,
            stream=error.stream or stream,
        ) from error
