"""Typed errors that say which recording, file and stream went wrong.

Each class also inherits the builtin a caller would naturally catch (ValueError,
FileNotFoundError), so generic handlers keep working.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "FlexsyncError",
    "InputFileError",
    "ManifestError",
    "MissingInputError",
    "StoreWriteError",
    "UnsafePathError",
]


class FlexsyncError(Exception):
    """Base class of every error flexsync raises on purpose."""


def _where(recording: str | None, path: Path | str | None, stream: str | None) -> str:
    parts = []
    if recording:
        parts.append(f"recording {recording}")
    if stream:
        parts.append(f"stream {stream}")
    if path is not None:
        parts.append(f"file {path}")
    return ", ".join(parts)


class InputFileError(FlexsyncError, ValueError):
    """An input file exists but cannot be used as it is (truncated, wrong header, bad values)."""

    def __init__(
        self,
        problem: str,
        *,
        path: Path | str | None = None,
        recording: str | None = None,
        stream: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = None if path is None else Path(path)
        self.recording = recording
        self.stream = stream
        where = _where(recording, path, stream)
        super().__init__(f"{where}: {problem}" if where else problem)


class MissingInputError(InputFileError, FileNotFoundError):
    """A file the manifest names is not there."""


class ManifestError(InputFileError):
    """The recording's manifest is missing fields, malformed or inconsistent."""


class UnsafePathError(InputFileError, PermissionError):
    """A path named in a manifest would escape the raw root."""


class StoreWriteError(FlexsyncError, OSError):
    """The store cannot take the bytes (disk full, file-size limit, read-only): names what was being written."""

    def __init__(self, target: Path | str, cause: OSError) -> None:
        self.target = Path(target)
        reason = cause.strerror or str(cause)
        super().__init__(cause.errno, f"cannot write {self.target}: {reason}; nothing was replaced there")

    def __str__(self) -> str:
        return str(self.strerror)
