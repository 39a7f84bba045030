"""Atomic commit: readers see the old tree or the new one, never half; no temporaries survive."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from flexsync.storage.atomic import (
    _exchange,
    _replace_directory,
    atomic_directory,
    atomic_file,
    link_or_copy_tree,
    remove_stale_temporaries,
    temporary_sibling,
)

KEY = "S01_A01_T1"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _fill(folder: Path, version: str) -> None:
    (folder / "sub").mkdir()
    (folder / "zarr.json").write_text(f'{{"v": "{version}"}}')
    (folder / "sub" / "c0").write_bytes(version.encode() * 3)


def test_temporary_names_are_hidden_unique_and_not_random(tmp_path):
    final = tmp_path / "x.zarr"
    a, b = temporary_sibling(final), temporary_sibling(final)
    pid = os.getpid()
    assert a.parent == b.parent == tmp_path
    assert a.name.startswith(f".x.zarr.tmp-{pid}-") and b.name.startswith(f".x.zarr.tmp-{pid}-")
    assert int(b.name.rsplit("-", 1)[1]) == int(a.name.rsplit("-", 1)[1]) + 1
    assert not a.name.endswith((".zarr", ".parquet"))


def test_new_directory_is_committed_without_leftovers(tmp_path):
    final = tmp_path / "recordings" / f"{KEY}.zarr"
    with atomic_directory(final) as tmp:
        assert tmp.parent == final.parent and tmp.name.startswith(".") and not final.exists()
        _fill(tmp, "new")
    assert _tree(final) == {"sub/c0": b"newnewnew", "zarr.json": b'{"v": "new"}'}
    assert sorted(os.listdir(final.parent)) == [f"{KEY}.zarr"]


@pytest.mark.parametrize("use_exchange", [True, False], ids=["renameat2-exchange", "rename-aside"])
def test_existing_directory_is_replaced_whole(tmp_path, use_exchange):
    final = tmp_path / "g.zarr"
    final.mkdir()
    _fill(final, "old")
    (final / "only_in_old").write_text("stale")
    tmp = temporary_sibling(final)
    tmp.mkdir()
    _fill(tmp, "new")
    _replace_directory(tmp, final, use_exchange=use_exchange)
    assert _tree(final) == {"sub/c0": b"newnewnew", "zarr.json": b'{"v": "new"}'}
    assert os.listdir(tmp_path) == ["g.zarr"]


def test_exception_mid_write_keeps_the_old_version(tmp_path):
    final = tmp_path / "g.zarr"
    with atomic_directory(final) as tmp:
        _fill(tmp, "old")
    with pytest.raises(RuntimeError, match="decoder died"), atomic_directory(final) as tmp:
        _fill(tmp, "new")
        raise RuntimeError("decoder died at frame 311")
    assert _tree(final) == {"sub/c0": b"oldoldold", "zarr.json": b'{"v": "old"}'}
    assert os.listdir(tmp_path) == ["g.zarr"]


def test_exception_on_first_write_leaves_nothing(tmp_path):
    final = tmp_path / "g.zarr"
    with pytest.raises(KeyboardInterrupt), atomic_directory(final) as tmp:
        _fill(tmp, "new")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


_CRASHING_WRITER = """
import os, sys
from pathlib import Path
from flexsync.storage.atomic import atomic_directory
with atomic_directory(Path(sys.argv[1])) as tmp:
    (tmp / "zarr.json").write_text("{}")
    (tmp / "half").write_bytes(b"x" * 1000)
    os._exit(3)  # killed mid-write: no cleanup code runs
"""


def test_killed_writer_debris_is_ignored_then_cleaned(tmp_path, caplog):
    final = tmp_path / "store" / "recordings" / f"{KEY}.zarr"
    done = subprocess.run([sys.executable, "-c", _CRASHING_WRITER, str(final)], check=False, timeout=60)
    assert done.returncode == 3
    debris = [p.name for p in final.parent.iterdir()]
    assert len(debris) == 1 and debris[0].startswith(f".{KEY}.zarr.tmp-")
    assert not final.exists()  # readers never see it: the hidden name is all there is

    with atomic_directory(final) as tmp:
        _fill(tmp, "new")
    assert os.listdir(final.parent) == [f"{KEY}.zarr"]
    assert "no longer runs" in caplog.text


def test_debris_of_a_live_process_is_left_alone(tmp_path):
    final = tmp_path / "g.zarr"
    mine = tmp_path / f".g.zarr.tmp-{os.getpid()}-999"
    mine.mkdir()
    other = tmp_path / ".h.zarr.tmp-1-0"  # debris of another final path
    other.mkdir()
    assert remove_stale_temporaries(final) == []
    assert mine.is_dir() and other.is_dir()


def test_atomic_file_keeps_the_name_and_commits(tmp_path):
    final = tmp_path / "reports" / KEY / "sync_report.png"
    with atomic_file(final) as tmp:
        assert tmp.name == final.name and tmp.parent.parent == final.parent and tmp.parent.name.startswith(".")
        tmp.write_bytes(b"png v1")
    with atomic_file(final) as tmp:
        tmp.write_bytes(b"png v2")
    assert final.read_bytes() == b"png v2"
    assert os.listdir(final.parent) == ["sync_report.png"]


def test_atomic_file_failure_leaves_previous_file(tmp_path):
    final = tmp_path / "t.parquet"
    final.write_bytes(b"v1")
    with pytest.raises(ValueError, match="bad rows"), atomic_file(final) as tmp:
        tmp.write_bytes(b"v2 partial")
        raise ValueError("bad rows")
    with pytest.raises(FileNotFoundError, match="nothing was written"), atomic_file(final):
        pass
    assert final.read_bytes() == b"v1"
    assert os.listdir(tmp_path) == ["t.parquet"]


def test_link_tree_shares_files_and_skips_hidden(tmp_path):
    src = tmp_path / "staging" / "cam1.zarr"
    src.mkdir(parents=True)
    _fill(src, "abc")
    (src / ".zarr.json.tmp-1-0").write_text("debris")
    dst = tmp_path / "rec" / "streams" / "cam1"
    stats = link_or_copy_tree(src, dst)
    assert (stats.n_linked, stats.n_copied, stats.bytes_copied) == (2, 0, 0)
    assert _tree(dst) == {"sub/c0": b"abcabcabc", "zarr.json": b'{"v": "abc"}'}
    assert (dst / "sub" / "c0").stat().st_ino == (src / "sub" / "c0").stat().st_ino
    assert (src / "sub" / "c0").stat().st_nlink == 2
    with pytest.raises(FileExistsError, match="already exists"):
        link_or_copy_tree(src, dst)
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        link_or_copy_tree(tmp_path / "missing", tmp_path / "x")


@pytest.mark.skipif(
    not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == os.stat(tempfile.gettempdir()).st_dev,
    reason="needs a second filesystem (/dev/shm) to test the copy fallback",
)
def test_link_tree_copies_across_filesystems(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _fill(src, "xyz")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        dst = Path(other) / "dst"
        stats = link_or_copy_tree(src, dst)
        assert (stats.n_linked, stats.n_copied, stats.bytes_copied) == (0, 2, 9 + len(b'{"v": "xyz"}'))
        assert _tree(dst) == _tree(src)


@pytest.mark.skipif(sys.platform != "linux", reason="renameat2 is Linux-only")
def test_exchange_swaps_two_trees_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("A")
    (b / "f").write_text("B")
    assert _exchange(a, b) is True
    assert ((a / "f").read_text(), (b / "f").read_text()) == ("B", "A")
