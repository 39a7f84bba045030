"""A raw root on S3 reads like the local one: listed there, fetched whole on first use, bounded locally."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flexsync import config
from flexsync.ingest.recording import RawRecording
from flexsync.raw.layout import recording_dir, scan_recordings
from flexsync.storage.object_store import ObjectClient
from flexsync.storage.urls import parse_root_url


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def _upload(root: Path, url: str) -> int:
    client = ObjectClient(parse_root_url(url))
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    client.map(lambda p: client.put(p.relative_to(root).as_posix(), p), files)
    return sum(p.stat().st_size for p in files)


def test_a_raw_root_url_is_listed_fetched_on_use_and_evicted_past_its_bound(synth_dataset, s3_env, monkeypatch):
    raw, _, keys = synth_dataset
    url = s3_env.url("raw")
    total = _upload(raw, url)
    biggest = max(sum(p.stat().st_size for p in (raw / "recordings" / k).rglob("*") if p.is_file()) for k in keys)
    monkeypatch.setenv(config.CACHE_MAX_ENV, str(biggest * 1.5 / 1e9))  # room for one recording, not two

    cache = config.raw_root(url)
    assert cache.is_dir() and not cache.is_relative_to(raw)
    assert (cache / "fkg.json").read_bytes() == (raw / "fkg.json").read_bytes()  # dataset-wide files: at once
    assert not (cache / "recordings").exists()  # recordings: on first use only
    assert scan_recordings(cache).keys == keys and scan_recordings(cache).refused == []

    first = RawRecording.open(cache, keys[0])  # fetched whole, then read like any raw recording
    assert first.folder == recording_dir(cache, keys[0]) == cache / "recordings" / keys[0]
    local = _digests(raw / "recordings" / keys[0])
    assert _digests(cache / "recordings" / keys[0]) == local and len(local) > 8
    assert first.manifest.streams == RawRecording.open(raw, keys[0]).manifest.streams

    RawRecording.open(cache, keys[1])  # over the bound: the least recently used recording goes
    assert not (cache / "recordings" / keys[0]).exists()
    assert _digests(cache / "recordings" / keys[1]) == _digests(raw / "recordings" / keys[1])
    assert RawRecording.open(cache, keys[0]).manifest.recording == keys[0]  # and comes back when used again
    assert total > 1e6
