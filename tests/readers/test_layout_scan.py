"""Listing complete recordings (class 7): a complete folder with a bad name is refused with a reason, not skipped."""

from __future__ import annotations

from flexsync.raw.layout import MANIFEST_FILE, RECORDINGS_DIR, list_complete_recordings, scan_recordings


def _folder(raw, name, *, manifest=True):
    folder = raw / RECORDINGS_DIR / name
    folder.mkdir(parents=True)
    if manifest:
        (folder / MANIFEST_FILE).write_text("{}")
    return folder


def test_complete_folders_are_keys_or_refused_with_why(tmp_path):
    raw = tmp_path / "raw"
    _folder(raw, "S01_A01_T1")
    _folder(raw, "S01 A01 T2")  # spaces: complete, but not a key
    _folder(raw, "-lead")  # complete, starts with '-'
    _folder(raw, "S01_A01_T3", manifest=False)  # still being copied: neither
    _folder(raw, ".tmp-S01_A01_T4")  # the generator's work folder: neither
    (raw / RECORDINGS_DIR / "notes.txt").write_text("a file, not a folder")
    scan = scan_recordings(raw)
    assert scan.keys == ["S01_A01_T1"]
    assert [folder for folder, _ in scan.refused] == ["-lead", "S01 A01 T2"]
    reason = dict(scan.refused)["S01 A01 T2"]
    assert reason == (
        f"{raw / RECORDINGS_DIR / 'S01 A01 T2'}: invalid recording key 'S01 A01 T2': use letters, digits, '_' and "
        "'-' only (at most 128 characters, not starting with '_' or '-'); rename the folder to process it"
    )
    assert list_complete_recordings(raw) == ["S01_A01_T1"]  # the callers' list is unchanged


def test_missing_root_lists_nothing(tmp_path):
    assert scan_recordings(tmp_path / "absent") == ([], [])
    assert list_complete_recordings(tmp_path / "absent") == []
