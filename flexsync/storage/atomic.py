"""Commit directories and files with a rename, so no reader ever sees half of one.

A writer gets a hidden temporary path beside the final one (same folder, hence same
filesystem), fills it, and the context manager swaps it in on success or deletes it on error.
Replacing an existing directory uses Linux ``renameat2(RENAME_EXCHANGE)`` when available (one
atomic step: readers see the old tree or the new one, never nothing); elsewhere the old tree is
renamed aside first, which leaves a window of a few microseconds where the path is absent.

Temporary names are ``.<final name>.tmp-<pid>-<counter>`` (and ``.old-`` for trees being
deleted): unique within a host without randomness or clock, hidden (readers skip names starting
with ``.``) and never ending in ``.zarr`` or ``.parquet`` (polars globs do match hidden files).
A process killed mid-write leaves such a name behind; the next writer of the same final path
removes debris whose owner process is gone. Durability against power loss (fsync) is not
attempted: this protects readers against crashed or concurrent writers, not against the kernel.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import logging
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flexsync.errors import StoreWriteError

__all__ = [
    "LinkStats",
    "atomic_directory",
    "atomic_file",
    "link_or_copy_tree",
    "remove_stale_temporaries",
    "temporary_sibling",
]

logger = logging.getLogger(__name__)

_COUNTER = itertools.count()
_DEBRIS = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)-\d+$")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@dataclass(frozen=True)
class LinkStats:
    """What ``link_or_copy_tree`` did: files hard-linked, files copied, bytes copied."""

    n_linked: int
    n_copied: int
    bytes_copied: int


def temporary_sibling(final: Path | str, tag: str = "tmp", *, work_dir: Path | None = None, prefix: str = "") -> Path:
    """A fresh hidden name for a temporary of ``final``: ``.<prefix><name>.<tag>-<pid>-<counter>`` (not created).

    It sits beside ``final``, or in ``work_dir`` (which must be on the same filesystem) so that
    globs over the final folder never match work in progress.
    """
    final = Path(final)
    if tag not in ("tmp", "old"):
        raise ValueError(f"tag must be 'tmp' or 'old', got {tag!r}")
    folder = final.parent if work_dir is None else Path(work_dir)
    return folder / f".{prefix}{final.name}.{tag}-{os.getpid()}-{next(_COUNTER)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_stale_temporaries(final: Path | str, *, work_dir: Path | None = None, prefix: str = "") -> list[Path]:
    """Delete temporaries of ``final`` left by processes that no longer run; return what was removed.

    Debris of live processes (including this one) is left alone: it may be a write in progress.
    The pid test assumes one host; on a shared filesystem, debris of other hosts stays (harmless:
    readers skip hidden names).
    """
    final = Path(final)
    folder = final.parent if work_dir is None else Path(work_dir)
    if not folder.is_dir():
        return []
    removed = []
    for child in sorted(folder.iterdir()):
        match = _DEBRIS.match(child.name)
        if match is None or match["name"] != prefix + final.name:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or _pid_alive(pid):
            continue
        _remove(child)
        logger.warning("removed %s left by process %d, which no longer runs (crashed writer of %s)", child, pid, final)
        removed.append(child)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths with renameat2; False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, f"cannot swap {a} with {b}: {os.strerror(err)}")


def _replace_directory(tmp: Path, final: Path, *, use_exchange: bool = True) -> None:
    """Put the tree ``tmp`` at ``final``, replacing whatever is there, then delete the old tree."""
    if not os.path.lexists(final):
        os.rename(tmp, final)
        return
    if use_exchange and _exchange(tmp, final):
        _remove(tmp)  # now holds the old tree
        return
    old = temporary_sibling(final, "old")
    os.rename(final, old)
    try:
        os.rename(tmp, final)
    except OSError:
        os.rename(old, final)  # put the previous version back before reporting
        raise
    _remove(old)


@contextmanager
def atomic_directory(final: Path | str, *, work_dir: Path | None = None, prefix: str = "") -> Iterator[Path]:
    """Yield an empty hidden directory beside ``final`` (or in ``work_dir``); on success it replaces ``final``.

    On any exception the temporary tree is deleted and the exception re-raised; ``final`` is
    then untouched. Parent folders are created.

    Examples
    --------
    >>> with atomic_directory(store / "recordings/S01_A01_T1.zarr") as tmp:  # doctest: +SKIP
    ...     write_everything_into(tmp)
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final, work_dir=work_dir, prefix=prefix)
    tmp = temporary_sibling(final, work_dir=work_dir, prefix=prefix)
    tmp.mkdir()
    try:
        yield tmp
        _replace_directory(tmp, final)
    except OSError as error:
        _remove(tmp)
        _raise_if_store_full(error, final)
        raise
    except BaseException:
        _remove(tmp)
        raise
    logger.debug("committed %s", final)


@contextmanager
def atomic_file(final: Path | str, *, work_dir: Path | None = None) -> Iterator[Path]:
    """Yield a path with the same file name as ``final``, inside a hidden temporary folder beside it.

    Write the file there (the name keeps its suffix, so writers that guess the format from it
    work); on success it is renamed onto ``final`` atomically. On exception, or if nothing was
    written, nothing changes at ``final``.

    Raises
    ------
    FileNotFoundError
        If the block finished without creating the file.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final, work_dir=work_dir)
    holder = temporary_sibling(final, work_dir=work_dir)
    holder.mkdir()
    try:
        target = holder / final.name
        yield target
        if not target.is_file():
            raise FileNotFoundError(f"atomic write of {final}: nothing was written to the temporary file {target}")
        os.replace(target, final)
    except OSError as error:
        _raise_if_store_full(error, final)
        raise
    finally:
        _remove(holder)


# Errors that say the store cannot take the bytes, whatever was being written.
_STORE_FULL = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS})


def _raise_if_store_full(error: OSError, final: Path) -> None:
    """Raise a full or read-only store's error as a StoreWriteError naming ``final``; return on any other."""
    if not isinstance(error, StoreWriteError) and error.errno in _STORE_FULL:
        raise StoreWriteError(final, error) from error


def link_or_copy_tree(src: Path | str, dst: Path | str) -> LinkStats:
    """Reproduce the tree ``src`` at ``dst`` (which must not exist) with hard links.

    Files are copied instead where a link is impossible (another filesystem, or a filesystem
    without hard links). Linked files share storage with ``src``: never modify either in place
    (zarr-python and :func:`atomic_file` replace files, which breaks the link, so that is safe).
    Hidden names (temporaries, crash debris) are not reproduced.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise FileNotFoundError(f"cannot link tree: source {src} is not a directory")
    if os.path.lexists(dst):
        raise FileExistsError(f"cannot link tree {src}: destination {dst} already exists")
    n_linked = n_copied = bytes_copied = 0
    for folder, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(folder).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            source, target = Path(folder) / name, dst / rel / name
            try:
                os.link(source, target)
                n_linked += 1
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
                shutil.copyfile(source, target)
                n_copied += 1
                bytes_copied += target.stat().st_size
    if n_copied:
        logger.info(
            "linked %d and copied %d files (%d bytes) from %s to %s", n_linked, n_copied, bytes_copied, src, dst
        )
    return LinkStats(n_linked=n_linked, n_copied=n_copied, bytes_copied=bytes_copied)
