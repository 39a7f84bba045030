"""What a reader finds in a store after a fault: file digests, hidden debris, recordings that do not read back whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flexsync.storage.store import WORK_DIR, Store


def file_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, keyed by its posix path relative to ``root`` (empty when absent)."""
    root = Path(root)
    if not root.is_dir():
        return {}
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def unit_digests(store_root: Path, key: str) -> dict[str, str]:
    """Digests of every file of recording ``key``'s published unit, ``recordings/<key>/`` (empty when absent)."""
    return file_digests(Store(store_root).recording_path(key).parent)


def store_digests(store_root: Path) -> dict[str, str]:
    """Digests of every file under ``recordings/`` and (when present) ``samples/``, by path from the store root."""
    out = {}
    for part in ("recordings", "samples"):
        out.update({f"{part}/{rel}": digest for rel, digest in file_digests(Path(store_root) / part).items()})
    return out


def hidden_paths(store_root: Path) -> tuple[list[Path], list[Path]]:
    """Hidden names in the store: (those outside ``.work/``, everything inside ``.work/``)."""
    root = Path(store_root)
    work = root / WORK_DIR
    outside = [p for p in root.rglob(".*") if p != work and work not in p.parents]
    inside = sorted(work.iterdir()) if work.is_dir() else []
    return outside, inside


def recording_problems(store_root: Path, key: str) -> list[str]:
    """What a reader of published recording ``key`` would find wrong; empty when it is complete and consistent.

    It opens (status complete, its own key), holds every table partition, its ``streams`` table lists
    exactly the Zarr's streams and its sync report's models are the Zarr's ``clock_models``.
    """
    from flexsync.storage.store import RECORDING_TABLES

    store = Store(store_root)
    try:
        group = store.open_recording(key)
    except Exception as exc:  # whatever a reader would hit is a finding
        return [f"recording {key} does not open: {type(exc).__name__}: {exc}"]
    problems = []
    attrs = dict(group.attrs)
    if attrs.get("status") != "complete" or attrs.get("recording") != key:
        problems.append(f"recording {key}: status {attrs.get('status')!r}, recording {attrs.get('recording')!r}")
    missing = [t for t in RECORDING_TABLES if not store.table_partition(t, key).is_file()]
    if missing:
        return [*problems, f"recording {key}: table partitions missing: {missing}"]
    zarr_streams = sorted(group["streams"].keys())
    table_streams = sorted(store.read_table("streams", keys=[key]).get_column("stream").to_list())
    if zarr_streams != table_streams:
        problems.append(f"recording {key}: zarr streams {zarr_streams} but streams table {table_streams}")
    try:
        models = store.read_report(key)["models"]
    except (OSError, ValueError, KeyError) as exc:
        return [*problems, f"recording {key}: sync report unreadable: {exc}"]
    if models != attrs.get("clock_models"):
        problems.append(f"recording {key}: the sync report's clock models differ from the zarr's clock_models")
    return problems


def store_problems(store_root: Path) -> list[str]:
    """What a reader of the store would find wrong; empty when it is consistent.

    Every published recording passes ``recording_problems``; every published samples unit opens and
    has its table; hidden names (debris) exist only in ``.work/``, and no listing or table read
    returns anything from there.
    """
    from flexsync.storage.store import RECORDING_TABLES

    store = Store(store_root)
    recordings = store.recordings()
    problems = [problem for key in recordings for problem in recording_problems(store_root, key)]
    for key in store.samples_keys():
        try:
            store.open_samples(key)
        except Exception as exc:  # as above
            problems.append(f"samples {key} do not open: {type(exc).__name__}: {exc}")
        if not store.table_partition("samples", key).is_file():
            problems.append(f"samples {key}: samples table partition missing")
    outside, _ = hidden_paths(store_root)
    problems += [f"debris outside .work/: {path.relative_to(store.root)}" for path in outside]
    for table in RECORDING_TABLES:
        try:
            keys = set(store.read_table(table).get_column("recording").to_list())
        except Exception as exc:  # as above
            problems.append(f"table {table} does not read: {type(exc).__name__}: {exc}")
            continue
        if not keys <= set(recordings):
            problems.append(f"table {table} returns rows of unpublished recordings {sorted(keys - set(recordings))}")
    return problems
