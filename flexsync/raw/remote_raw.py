"""A raw root on an object store, read through a bounded local scratch cache.

The readers of raw files (PyAV, ezc3d, pyedflib, mne) open local paths, so a raw root URL
(``FLEXSYNC_RAW_ROOT=s3://bucket/raw``) resolves to a local cache folder laid out like a raw root
(:func:`raw_cache`). The dataset-wide files (``dataset.json``, ``fkg.json``, ``subjects.csv``)
are fetched when the cache is opened; a recording's folder is fetched whole, on first use, by
:func:`fetch_recording` (which :func:`flexsync.raw.layout.recording_dir` calls for a cache), into
a hidden temporary and renamed into place, so its manifest appears last, as in any raw root.
Raw recordings are write-once (a recorder writes the manifest last and never changes a complete
folder), so a fetched recording is never fetched again. The cache is bounded: past its size the
least recently used recordings are deleted locally. A recording's files are checked against the
sizes the store lists and the sha256 its manifest names. Files a manifest names outside its
recording folder are not fetched.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from flexsync.storage.atomic import atomic_directory, atomic_file, temporary_sibling
from flexsync.storage.urls import parse_root_url

if TYPE_CHECKING:  # obstore is optional (the s3 extra): imported only when a raw root is a URL
    from flexsync.storage.object_store import ObjectClient

__all__ = ["SOURCE_FILE", "fetch_recording", "is_raw_cache", "list_remote_recordings", "raw_cache"]

logger = logging.getLogger(__name__)

SOURCE_FILE = ".flexsync-source.json"  # in a cache folder: the URL it mirrors, and its bound
ROOT_FILES = ("dataset.json", "fkg.json", "subjects.csv")
RECORDINGS = "recordings"
MANIFEST = "manifest.json"
WORK = ".work"


def raw_cache(url: str, *, cache: Path, max_bytes: int) -> Path:
    """The local cache folder of raw root ``url`` (created), with the dataset-wide files fetched."""
    root_url = parse_root_url(url)
    folder = Path(cache) / "raw" / root_url.cache_name()
    source = folder / SOURCE_FILE
    folder.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"url": str(root_url), "max_bytes": int(max_bytes)}, sort_keys=True)
    if not source.is_file() or source.read_text(encoding="utf-8") != body:
        with atomic_file(source, work_dir=folder / WORK) as tmp:
            tmp.write_text(body, encoding="utf-8")
    client = _client(str(root_url))
    for name in ROOT_FILES:
        target = folder / name
        data = None if target.is_file() else client.get(name)
        if data is None:  # fetched already, or not in this raw root (the readers say what is missing)
            continue
        with atomic_file(target, work_dir=folder / WORK) as tmp:
            tmp.write_bytes(data)
    return folder


def is_raw_cache(root: Path | str) -> bool:
    """True if ``root`` is a cache folder made by :func:`raw_cache`."""
    return (Path(root) / SOURCE_FILE).is_file()


def _client(url: str) -> ObjectClient:
    from flexsync.storage.object_store import ObjectClient

    return ObjectClient(parse_root_url(url))


def _source(root: Path) -> tuple[ObjectClient, int]:
    body = json.loads((root / SOURCE_FILE).read_text(encoding="utf-8"))
    return _client(body["url"]), int(body["max_bytes"])


def list_remote_recordings(root: Path | str) -> list[str]:
    """Names of the recording folders on the store that hold a manifest (complete), sorted."""
    client, _ = _source(Path(root))
    names = [n for n in client.list_dirs(RECORDINGS) if not n.startswith(".")]
    found = client.map(lambda n: client.head(f"{RECORDINGS}/{n}/{MANIFEST}") is not None, names)
    return sorted(n for n, complete in zip(names, found, strict=True) if complete)


def fetch_recording(root: Path | str, key: str) -> Path:
    """The local folder of recording ``key``, fetched whole from the store on first use.

    Raises FileNotFoundError if the store has no complete recording ``key``.
    """
    root = Path(root)
    folder = root / RECORDINGS / key
    if (folder / MANIFEST).is_file():
        os.utime(folder)  # recently used: evicted last
        return folder
    client, max_bytes = _source(root)
    objects = client.list(f"{RECORDINGS}/{key}")
    if not any(o.key == f"{RECORDINGS}/{key}/{MANIFEST}" for o in objects):
        raise FileNotFoundError(f"raw root {client.url}: no complete recording {key} (manifest.json missing)")
    base = f"{RECORDINGS}/{key}/"
    manifest = client.get(f"{base}{MANIFEST}") or b"{}"
    try:
        hashes = {name: str(entry.get("sha256")) for name, entry in json.loads(manifest).get("files", {}).items()}
    except (ValueError, AttributeError):
        hashes = {}  # an unreadable manifest: read_manifest says what is wrong with it
    with atomic_directory(folder, work_dir=root / WORK, prefix="raw-") as tmp:

        def fetch(info) -> None:
            name = info.key[len(base) :]
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            size, digest = client.get_to_file(info.key, target)
            if size != info.size or hashes.get(name, digest) != digest:
                raise OSError(
                    f"raw root {client.url}: {info.key} read {size} bytes (sha256 {digest[:12]}), which is "
                    f"not the {info.size} bytes the store lists or the sha256 the manifest names"
                )

        others = [o for o in objects if not o.key.endswith("/") and o.key != f"{base}{MANIFEST}"]
        client.map(fetch, others)
        (tmp / MANIFEST).write_bytes(manifest)  # last, as a recorder writes it
    total = sum(o.size for o in objects)
    logger.info("raw root %s: fetched recording %s (%d files, %d bytes)", client.url, key, len(objects), total)
    _evict(root, max_bytes, keep=key)
    return folder


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _evict(root: Path, max_bytes: int, *, keep: str) -> None:
    """Delete least recently used recordings locally until the cache fits ``max_bytes``."""
    base = root / RECORDINGS
    present = [(p, _size(p), p.stat().st_mtime) for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]
    total = sum(size for _, size, _ in present)
    for folder, size, _ in sorted(present, key=lambda item: item[2]):
        if total <= max_bytes:
            return
        if folder.name == keep:
            continue
        aside = temporary_sibling(folder, "old", work_dir=root / WORK)
        os.rename(folder, aside)
        shutil.rmtree(aside, ignore_errors=True)
        total -= size
        logger.info("raw cache %s over %d bytes: evicted %s", root, max_bytes, folder.name)
