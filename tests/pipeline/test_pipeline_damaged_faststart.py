"""A video cut short after an index written first (MP4 ``faststart``) is refused at ingest.

The reader opens such a file and decodes up to the cut, only warning that the header promised
more frames; ingest must refuse it rather than publish a recording without its end (and its end
sync flash). Same setup as test_pipeline_damaged_video: a private raw copy, both recordings run.
"""

from __future__ import annotations

import av
from pipeline_helpers import BAD, CAM2, CAM2_INPUT_ERROR, GOOD, assert_failed_alone, rehash_in_manifest

from flexsync.pipelines.runner import run_recordings


def test_truncated_faststart_video_is_rejected_not_published_short(raw_copy, instance, tmp_path):
    """With the index first (``movflags=faststart``), a file cut at a packet boundary still opens and
    decodes to the cut; it must be refused, not published without its end (and its end sync flash)."""
    folder = raw_copy / "recordings" / BAD
    remuxed = tmp_path / "cam2_faststart.mp4"
    with av.open(str(folder / CAM2)) as source, av.open(str(remuxed), "w", options={"movflags": "faststart"}) as out:
        video = source.streams.video[0]
        n_frames = video.frames
        stream = out.add_stream_from_template(video)
        for packet in source.demux(video):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    data = remuxed.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    with av.open(str(remuxed)) as container:
        ends = [p.pos + p.size for p in container.demux(container.streams.video[0]) if p.size]
    keep = n_frames // 2
    (folder / CAM2).write_bytes(data[: ends[keep - 1]])  # exactly `keep` whole packets
    rehash_in_manifest(folder, CAM2)
    store = tmp_path / "store"
    assert_failed_alone(
        run_recordings(raw_copy, store, instance=instance),
        store,
        bad=BAD,
        good=GOOD,
        instance=instance,
        step="recording_streams",
        failed_kind="video",
        pattern=CAM2_INPUT_ERROR
        + rf"truncated video: the container header promises {n_frames} frames but the file holds "
        rf"{keep} \(last PTS [\d.]+ s\); copy the file again from the recorder",
    )
