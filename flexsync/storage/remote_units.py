"""Units on an object store: immutable versions made current by one commit record written last.

An object store has no rename, so a unit (a published recording, a staged stream, a training
file, an export) cannot be swapped in place. Instead::

    <root>/<unit>/@v<hash>/<files>        one immutable version: the unit's files, same relative paths
    <root>/<unit>/_commit.json            the commit record: which version is current, every file
                                          with its size and sha256, and the version before it

A writer uploads every file of a new version under a fresh prefix (named by the hash of its
content, so the same content is the same version), then PUTs the commit record, which is one
object: S3, GCS and Azure make a single PUT atomic, so a reader that reads the commit record
first sees the old version or the new one whole, never a mix. A crash before the commit leaves
an orphan version no reader looks at; a crash after it leaves the new version current. Garbage
collection then deletes versions other than the current and the previous one (kept for readers
that resolved the record just before the commit), and only once they are ``gc_grace_s`` old, so
a concurrent writer's upload in progress is never deleted under it.

Files already on the store with the same sha256 (a staged chunk re-used in a recording, a file
unchanged since the previous version) are copied server-side instead of uploaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from flexsync.errors import InputFileError
from flexsync.storage.object_store import ObjectClient

__all__ = [
    "COMMIT_FILE",
    "DEFAULT_GC_GRACE_S",
    "Commit",
    "FileEntry",
    "RemoteUnits",
    "scan_local",
    "version_of",
]

logger = logging.getLogger(__name__)

COMMIT_FILE = "_commit.json"
COMMIT_FORMAT = 1
VERSION_MARK = "@"
# Orphan versions younger than this are left alone: they may be a concurrent writer's upload in progress.
DEFAULT_GC_GRACE_S = 600.0
GC_GRACE_ENV = "FLEXSYNC_GC_GRACE_S"

UnitKind = Literal["dir", "file"]


@dataclass(frozen=True)
class FileEntry:
    """One file of a unit version: path relative to the unit (a file unit: its name), size, sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Commit:
    """A unit's commit record: the current version and its files."""

    unit: str
    kind: UnitKind
    version: str
    files: tuple[FileEntry, ...]
    previous: str | None = None

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def key(self, path: str) -> str:
        """Object key of one file of this version."""
        return f"{self.unit}/{VERSION_MARK}{self.version}/{path}"

    def member_files(self, member: str = "") -> tuple[FileEntry, ...]:
        """The files at or under ``member`` (a relative path; "" is the whole unit)."""
        member = member.strip("/")
        if not member:
            return self.files
        return tuple(f for f in self.files if f.path == member or f.path.startswith(member + "/"))

    def has_member(self, member: str) -> bool:
        return bool(self.member_files(member))

    def to_bytes(self) -> bytes:
        """Deterministic JSON (sorted keys, no times): the same commit always gives the same bytes."""
        body = {
            "flexsync_commit": COMMIT_FORMAT,
            "unit": self.unit,
            "kind": self.kind,
            "version": self.version,
            "previous": self.previous,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
        }
        return (json.dumps(body, sort_keys=True, indent=1) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str) -> Commit:
        """Parse a commit record; raises InputFileError naming ``where`` if it is not one this code reads."""
        try:
            body = json.loads(data)
            if body.get("flexsync_commit") != COMMIT_FORMAT:
                raise ValueError(f"flexsync_commit is {body.get('flexsync_commit')!r}, this code reads {COMMIT_FORMAT}")
            files = tuple(FileEntry(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in body["files"])
            return cls(
                unit=str(body["unit"]),
                kind=body["kind"],
                version=str(body["version"]),
                files=files,
                previous=body.get("previous"),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise InputFileError(f"unreadable commit record: {error}", path=where) from None


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def scan_local(path: Path) -> tuple[UnitKind, tuple[FileEntry, ...]]:
    """The files of a local unit (a folder, skipping hidden names as every reader does; or one file)."""
    path = Path(path)
    if path.is_file():
        return "file", (FileEntry(path.name, path.stat().st_size, _sha256_file(path)),)
    if not path.is_dir():
        raise FileNotFoundError(f"cannot publish {path}: no such file or folder")
    entries = []
    for folder, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            file = Path(folder) / name
            entries.append(FileEntry(file.relative_to(path).as_posix(), file.stat().st_size, _sha256_file(file)))
    return "dir", tuple(sorted(entries, key=lambda e: e.path))


def version_of(kind: UnitKind, files: tuple[FileEntry, ...]) -> str:
    """The content version: ``v`` + 20 hex digits of the sha256 of the kind and every (path, size, sha256)."""
    text = json.dumps([kind, [[f.path, f.size, f.sha256] for f in files]], separators=(",", ":"))
    return "v" + hashlib.sha256(text.encode()).hexdigest()[:20]


def _gc_grace_s() -> float:
    value = os.environ.get(GC_GRACE_ENV, "").strip()
    return float(value) if value else DEFAULT_GC_GRACE_S


class RemoteUnits:
    """Publish, read, delete and collect the versions of units on one object store."""

    def __init__(self, client: ObjectClient, *, gc_grace_s: float | None = None) -> None:
        self.client = client
        self.gc_grace_s = _gc_grace_s() if gc_grace_s is None else float(gc_grace_s)

    def read_commit(self, unit: str) -> Commit | None:
        """The unit's current commit record, or None if nothing is committed."""
        data = self.client.get(f"{unit}/{COMMIT_FILE}")
        if data is None:
            return None
        commit = Commit.from_bytes(data, where=self.client.url.join(unit, COMMIT_FILE))
        if commit.unit != unit:
            raise InputFileError(f"commit record names unit {commit.unit!r}", path=self.client.url.join(unit))
        return commit

    def list_units(self, parent: str) -> list[str]:
        """Names directly under ``parent`` that look like units (have children); commit records are not read."""
        return [name for name in self.client.list_dirs(parent) if not name.startswith((".", VERSION_MARK))]

    def upload(
        self, unit: str, local: Path, *, current: Commit | None = None, known: Mapping[str, str] | None = None
    ) -> Commit:
        """Upload ``local`` as a new version of ``unit`` and return its commit record, NOT yet committed.

        ``known`` maps sha256 to keys already on the store (copied server-side instead of uploaded).
        If ``current`` already is this content, nothing is uploaded and ``current`` is returned.
        """
        kind, files = scan_local(local)
        version = version_of(kind, files)
        if current is not None and current.version == version:
            return current
        pending = Commit(
            unit=unit,
            kind=kind,
            version=version,
            files=files,
            previous=None if current is None else current.version,
        )
        sources = dict(known or {})
        if current is not None:
            sources.update({f.sha256: current.key(f.path) for f in current.files})

        def send(entry: FileEntry) -> int:
            source = sources.get(entry.sha256)
            if source is not None:
                try:
                    self.client.copy(source, pending.key(entry.path))
                    return 0
                except OSError as error:  # the source went away (collected): upload instead
                    logger.debug("server-side copy of %s failed (%s): uploading", source, error)
            self.client.put(pending.key(entry.path), local / entry.path if kind == "dir" else local)
            return entry.size

        sent = sum(self.client.map(send, files))
        logger.info(
            "uploaded %s %s: %d files, %d bytes sent, %d bytes copied on the server",
            unit,
            version,
            len(files),
            sent,
            pending.size - sent,
        )
        return pending

    def commit(self, pending: Commit) -> None:
        """Make ``pending`` current: one PUT of the commit record (atomic on the store)."""
        self.client.put(f"{pending.unit}/{COMMIT_FILE}", pending.to_bytes())

    def collect_garbage(self, commit: Commit) -> int:
        """Delete versions of the unit other than the current and previous ones, once older than the grace.

        Returns the number of objects deleted.
        """
        keep = {commit.version, commit.previous}
        record = self.client.head(f"{commit.unit}/{COMMIT_FILE}")
        now = record.last_modified if record is not None else None
        deleted = 0
        for name in self.client.list_dirs(commit.unit):
            if not name.startswith(VERSION_MARK) or name[len(VERSION_MARK) :] in keep:
                continue
            objects = self.client.list(f"{commit.unit}/{name}")
            if not objects:
                continue
            newest = max(o.last_modified for o in objects)
            if now is not None and newest > now - timedelta(seconds=self.gc_grace_s):
                continue  # maybe a concurrent writer's upload in progress
            self.client.delete([o.key for o in objects])
            deleted += len(objects)
        return deleted

    def publish(
        self, unit: str, local: Path, *, current: Commit | None = None, known: Mapping[str, str] | None = None
    ) -> Commit:
        """Upload ``local`` as ``unit``'s new version, commit it, collect old versions; return the commit."""
        pending = self.upload(unit, local, current=current, known=known)
        if current is not None and pending.version == current.version:
            return current
        self.commit(pending)
        self.collect_garbage(pending)
        return pending

    def remove(self, unit: str) -> None:
        """Uncommit ``unit`` (delete its commit record first: readers stop seeing it at once), then its versions."""
        self.client.delete([f"{unit}/{COMMIT_FILE}"])
        self.client.delete([o.key for o in self.client.list(unit)])

    def download(self, commit: Commit, target: Path, member: str = "") -> int:
        """Write the files of ``member`` of the committed version under ``target`` (the file, for a file unit).

        Every file is checked against its size and sha256 in the commit record. Returns bytes written.

        Raises
        ------
        InputFileError
            If an object is missing or differs from the commit record (the store was changed by hand).
        """
        target = Path(target)

        def fetch(entry: FileEntry) -> int:
            out = target / entry.path if commit.kind == "dir" else target
            out.parent.mkdir(parents=True, exist_ok=True)
            key = commit.key(entry.path)
            try:
                size, digest = self.client.get_to_file(key, out)
            except FileNotFoundError:
                raise InputFileError(
                    "object named by the commit record is missing", path=self.client.url.join(key)
                ) from None
            if (size, digest) != (entry.size, entry.sha256):
                raise InputFileError(
                    f"object differs from its commit record ({size} bytes, sha256 {digest[:12]}; "
                    f"expected {entry.size} bytes, {entry.sha256[:12]})",
                    path=self.client.url.join(key),
                )
            return size

        return sum(self.client.map(fetch, commit.member_files(member)))
