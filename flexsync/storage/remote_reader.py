"""Read committed units straight from the object store, without a local copy.

:meth:`RemoteStore.open_recording` and ``open_samples`` use this when the working copy does not
hold the committed version: zarr-python reads the group through ``zarr.storage.ObjectStore`` at
the version's prefix, fetching only the chunks a slice touches (the ``flexsync.h264`` codec is a
registered zarr codec, so stored H.264 frames decode here as from a local store). Tools outside
flexsync (polars, DuckDB, zarr) find the current files with :func:`current_url`.
"""

from __future__ import annotations

import zarr
from zarr.storage import ObjectStore

from flexsync.errors import MissingInputError
from flexsync.storage.object_store import ObjectClient
from flexsync.storage.remote_units import VERSION_MARK, Commit, RemoteUnits
from flexsync.storage.urls import parse_root_url
from flexsync.storage.zarr_io import LAYOUT_VERSION, STATUS_COMPLETE, RecordingNotReadyError

__all__ = ["current_url", "open_remote_group", "open_remote_recording"]


def _version_parts(commit: Commit, member: str) -> tuple[str, ...]:
    return tuple(p for p in (commit.unit, f"{VERSION_MARK}{commit.version}", member.strip("/")) if p)


def open_remote_group(client: ObjectClient, commit: Commit | None, member: str, *, unit: str) -> zarr.Group:
    """The Zarr group at ``member`` of the committed version, read-only, read through zarr's ObjectStore.

    Raises MissingInputError if nothing is committed or the version has no such group.
    """
    if commit is None or not commit.has_member(f"{member}/zarr.json"):
        raise MissingInputError("no committed Zarr v3 group here", path=client.url.join(unit, member))
    store = ObjectStore(client.sub_store(*_version_parts(commit, member)), read_only=True)
    return zarr.open_group(store, mode="r", zarr_format=3)


def open_remote_recording(client: ObjectClient, commit: Commit | None, member: str, *, key: str) -> zarr.Group:
    """As :func:`flexsync.storage.zarr_io.read_recording`, from the object store: refuses an incomplete group."""
    where = client.url.join(commit.unit if commit else f"recordings/{key}", member)
    try:
        group = open_remote_group(client, commit, member, unit=f"recordings/{key}")
    except MissingInputError as exc:
        raise MissingInputError(f"{exc.problem}: recording not published?", path=where, recording=key) from None
    status = group.attrs.get("status")
    if status != STATUS_COMPLETE:
        raise RecordingNotReadyError(f"status is {status!r}, not {STATUS_COMPLETE!r}", path=where, recording=key)
    version = group.attrs.get("flexsync_layout")
    if version != LAYOUT_VERSION:
        raise RecordingNotReadyError(
            f"flexsync_layout is {version!r}; this code reads layout {LAYOUT_VERSION}", path=where, recording=key
        )
    return group


def current_url(root: str, unit: str, member: str = "") -> str:
    """The URL of ``member`` in ``unit``'s committed version, e.g. for ``pl.read_parquet`` or ``zarr.open_group``.

    Example: ``current_url("s3://bucket/store", "recordings/S01_A01_T1", "tables/streams.parquet")``.
    The URL stays valid while that version is current or previous (older ones are collected).

    Raises
    ------
    MissingInputError
        If nothing is committed for ``unit`` or its version has no such member.
    """
    url = parse_root_url(root)
    commit = RemoteUnits(ObjectClient(url)).read_commit(unit.strip("/"))
    if commit is None or (member and not commit.has_member(member)):
        raise MissingInputError("not committed on the object store", path=url.join(unit, member))
    return url.join(*_version_parts(commit, member))
