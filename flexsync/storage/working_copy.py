"""The local working copy of an object-store root: what a :class:`RemoteStore` writes into and reads from.

It is laid out exactly like a local store (so every writer, zarr's LocalStore, the direct chunk
writer and the loaders' row reader work on it unchanged), plus one marker per unit that says
which committed version the local files are and which members of it are present::

    <copy>/recordings/<key>/...            the unit's files, as in a local store
    <copy>/.sync/recordings/<key>.json     {"version": ..., "members": [...], "size": ...}
    <copy>/.sync/recordings/<key>.lock     held while the unit is fetched or published (one machine)

Only the object store is the truth: a local unit without a marker (a publish that crashed before
its commit) is replaced by the committed version, or removed when nothing is committed, the next
time anything asks for it. Fetching downloads only the members asked for (a table partition
without the frames next to it). The copy is bounded: past ``max_bytes`` the least recently used
units are deleted locally (they stay on the object store and come back on the next use).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flexsync.storage.atomic import atomic_directory, atomic_file, temporary_sibling
from flexsync.storage.remote_units import Commit, RemoteUnits

try:  # POSIX: advisory locks between the processes of one machine sharing a working copy
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process lock (one writer per copy)
    fcntl = None  # type: ignore[assignment]

__all__ = ["Marker", "WorkingCopy"]

logger = logging.getLogger(__name__)

SYNC_DIR = ".sync"
WORK_DIR = ".work"


@dataclass(frozen=True)
class Marker:
    """Which committed version a local unit holds, and which of its members are present."""

    version: str
    members: tuple[str, ...]
    size: int

    def covers(self, member: str) -> bool:
        member = member.strip("/")
        return any(m == "" or m == member or member.startswith(m + "/") for m in self.members)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class WorkingCopy:
    """Markers, locks, fetches and eviction for one local working copy folder."""

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = int(max_bytes)

    def local(self, unit: str) -> Path:
        return self.root / unit

    def _marker_path(self, unit: str) -> Path:
        return self.root / SYNC_DIR / f"{unit}.json"

    def _work(self) -> Path:
        return self.root / WORK_DIR

    # -- markers ----------------------------------------------------------------------------------

    def marker(self, unit: str) -> Marker | None:
        """The unit's marker, or None (never fetched, forgotten, or written locally and not committed)."""
        try:
            body = json.loads(self._marker_path(unit).read_text(encoding="utf-8"))
            return Marker(str(body["version"]), tuple(body["members"]), int(body["size"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def record(self, unit: str, commit: Commit, members: tuple[str, ...]) -> Marker:
        """Say the local unit is ``commit``'s version with ``members`` present (atomically replaced)."""
        members = ("",) if "" in members else tuple(sorted(set(members)))
        present = {f.path: f.size for m in members for f in commit.member_files(m)}
        marker = Marker(commit.version, members, sum(present.values()))
        path = self._marker_path(unit)
        body = {"version": marker.version, "members": list(marker.members), "size": marker.size}
        with atomic_file(path, work_dir=self._work()) as tmp:
            tmp.write_text(json.dumps(body, sort_keys=True), encoding="utf-8")
        return marker

    def forget(self, unit: str) -> None:
        """Drop the marker (before the local unit is rewritten: it is no longer a committed version)."""
        self._marker_path(unit).unlink(missing_ok=True)

    @contextmanager
    def lock(self, unit: str) -> Iterator[None]:
        """Hold the unit's lock (blocks while another process of this machine fetches or publishes it)."""
        if fcntl is None:
            yield
            return
        path = self.root / SYNC_DIR / f"{unit}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _drop(self, unit: str) -> None:
        """Delete the local unit and its marker (renamed aside first, so no reader sees half of it)."""
        path = self.local(unit)
        if os.path.lexists(path):
            aside = temporary_sibling(path, "old", work_dir=self._work())
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, aside)
            _remove(aside)
        self.forget(unit)

    # -- fetching ---------------------------------------------------------------------------------

    def is_current(self, unit: str, commit: Commit | None, member: str = "") -> bool:
        """True if the local unit holds ``member`` of the committed version."""
        marker = self.marker(unit)
        return (
            commit is not None
            and marker is not None
            and marker.version == commit.version
            and marker.covers(member)
            and os.path.lexists(self.local(unit))
        )

    def ensure(self, units: RemoteUnits, unit: str, commit: Commit | None, member: str = "") -> int:
        """Make the local unit hold ``member`` of ``commit`` (None: nothing committed); return bytes fetched.

        A local unit with no marker is never trusted: it is replaced by the committed version, or
        removed when nothing is committed (what a crash between a local write and its commit leaves).
        """
        fetched = 0
        with self.lock(unit):
            marker = self.marker(unit)
            path = self.local(unit)
            if commit is None:
                if marker is not None or os.path.lexists(path):
                    self._drop(unit)
                return 0
            if self.is_current(unit, commit, member):
                os.utime(self._marker_path(unit))  # recently used: evicted last
                return 0
            if marker is not None and marker.version == commit.version and path.is_dir():
                fetched = self._add_member(units, commit, member)
                members = (*marker.members, member)
            else:
                self._work().mkdir(parents=True, exist_ok=True)
                writing = (
                    atomic_directory(path, work_dir=self._work())
                    if commit.kind == "dir"
                    else atomic_file(path, work_dir=self._work())
                )
                with writing as tmp:
                    fetched = units.download(commit, tmp, member)
                members = (member,)
            self.record(unit, commit, members)
        logger.debug("fetched %s %s member %r: %d bytes", unit, commit.version, member, fetched)
        self.evict(keep=unit)
        return fetched

    def _add_member(self, units: RemoteUnits, commit: Commit, member: str) -> int:
        """Download one more member of the version the local unit already holds, file by file into place."""
        self._work().mkdir(parents=True, exist_ok=True)
        holder = temporary_sibling(self.local(commit.unit), work_dir=self._work())
        holder.mkdir()
        try:
            fetched = units.download(commit, holder, member)
            for entry in commit.member_files(member):
                target = self.local(commit.unit) / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(holder / entry.path, target)
        finally:
            _remove(holder)
        return fetched

    # -- bound ------------------------------------------------------------------------------------

    def units(self) -> list[tuple[str, Marker, float]]:
        """Every unit with a marker: (unit, marker, last use time)."""
        base = self.root / SYNC_DIR
        found = []
        for path in base.rglob("*.json") if base.is_dir() else ():
            unit = path.relative_to(base).as_posix().removesuffix(".json")
            marker = self.marker(unit)
            if marker is not None:
                found.append((unit, marker, path.stat().st_mtime))
        return found

    def evict(self, *, keep: str | None = None) -> list[str]:
        """Delete least recently used units locally until the copy fits ``max_bytes``; return their names."""
        present = self.units()
        total = sum(marker.size for _, marker, _ in present)
        evicted: list[str] = []
        for unit, marker, _ in sorted(present, key=lambda item: item[2]):
            if total <= self.max_bytes:
                break
            if unit == keep:
                continue
            with self.lock(unit):
                self._drop(unit)
            total -= marker.size
            evicted.append(unit)
        if evicted:
            logger.info("working copy %s over %d bytes: evicted %s", self.root, self.max_bytes, ", ".join(evicted))
        return evicted
