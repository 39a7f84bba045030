"""The stream kinds flexsync ingests: one ingester per kind, found by the kind the manifest names.

The Dagster layer builds one stream asset per kind from this registry; any number of streams of a
kind, under any names the manifest gives, are ingested by that kind's ingester.
"""

from __future__ import annotations

from flexsync.errors import ManifestError
from flexsync.ingest.contract import Ingester
from flexsync.ingest.emg import EmgIngester
from flexsync.ingest.mocap import MocapIngester
from flexsync.ingest.physio import PhysioIngester
from flexsync.ingest.recording import RawRecording
from flexsync.ingest.video import VideoIngester

__all__ = ["INGESTERS", "ingester_for"]

INGESTERS: dict[str, Ingester] = {
    ingester.kind: ingester for ingester in (VideoIngester(), MocapIngester(), EmgIngester(), PhysioIngester())
}


def ingester_for(recording: RawRecording, stream: str) -> Ingester:
    """The ingester of a manifest stream's kind; a ManifestError names the stream if none exists."""
    kind = recording.stream(stream).kind
    try:
        return INGESTERS[kind]
    except KeyError:
        raise ManifestError(
            f"stream {stream!r} has kind {kind!r}, which no ingester handles (kinds: {', '.join(INGESTERS)})",
            path=recording.folder / "manifest.json",
            recording=recording.key,
            stream=stream,
        ) from None
