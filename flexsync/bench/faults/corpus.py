"""The fault corpus: each FaultCase damages one recording folder and says what the pipeline must answer."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from flexsync.bench.faults.binary_edits import (
    EdfLayout,
    bdf_to_edf,
    c3d_parameter_data,
    c3d_with_parameter,
    edf_layout,
    edit_c3d_frames,
    edit_edf,
    patch,
    with_record_count,
)
from flexsync.bench.faults.targets import SOURCE_KEY, Outcome, Target, rehash
from flexsync.raw.layout import MANIFEST_FILE

# -- the cases ---------------------------------------------------------------------------------------------

CAM, PHONE, MOCAP, EMG, EDF = "video/cam2.mp4", "video/phone.mp4", "mocap/mocap.c3d", "emg/emg.bdf", "emg/emg.edf"
PHYSIO, EVENTS = "physio/physio.csv", "physio/physio_events.csv"
ANNOTATIONS, CALIBRATION = "annotations.json", "calibration.json"


@dataclass(frozen=True)
class FaultCase:
    """One bad input: how to make it from a sound recording, and what the pipeline must answer.

    ``outcome``:

    - ``"fails"``: the recording's run fails in ``step`` (any step when None); its failure text names
      the recording and ``file`` and matches ``expect``; the unit published before is byte-identical.
    - ``"warns"``: accepted by design: published, and a failed non-blocking check or a logged warning
      of its run matches ``expect``.
    - ``"accepted"``: published and byte-identical to the clean publication (the damage cannot matter).
    - ``"refused"``: the folder cannot be a recording (``folder`` is not a key): ``run_recordings``
      reports it as a failed run without a Dagster run, naming the folder and matching ``expect``.
    - ``"skipped"``: the folder is not a complete recording yet (no manifest): never run.

    Nothing is ever published for a refused or skipped folder.

    ``pending`` says why the answer is known not to be clear yet, ``loses`` why an earlier publication
    is known to change (bugs or reader hardening outside this module; the tests mark them xfail, so
    the fix flips them). ``absurd``: the file declares a size far beyond its bytes; reading it must
    not exhaust memory (the tests also read it in a memory-limited process).
    """

    name: str
    stream: str  # what is damaged: manifest, layout, video, mocap, emg, physio, annotations
    file: str  # the damaged file (relative to the recording folder, or what the error must name)
    damage: Callable[[Target], None]
    expect: str  # regex searched in what the run said (failures and failed checks, or warnings)
    outcome: Outcome = "fails"
    step: str | None = "recording_streams"
    pending: str | None = None
    loses: str | None = None
    absurd: bool = False
    renames: bool = False  # the damage moves the folder to ``invalid_folder_name(key)``

    @property
    def key(self) -> str:
        """The recording key (folder) the case damages."""
        return "F-" + self.name.replace("_", "-")

    @property
    def folder(self) -> str:
        """The recording's folder name after the damage."""
        return invalid_folder_name(self.key) if self.renames else self.key


def _cut(relative: str, fraction: float = 0.5, *, keep: int | None = None) -> Callable[[Target], None]:
    """Truncate a file (the recorder wrote it short: its hash is recorded)."""

    def damage(t: Target) -> None:
        data = t.read(relative)
        t.write(relative, data[: keep if keep is not None else int(len(data) * fraction)])

    return damage


def _lines(relative: str, edit: Callable[[list[str]], list[str]]) -> Callable[[Target], None]:
    def damage(t: Target) -> None:
        t.write(relative, "".join(edit(t.text(relative).splitlines(keepends=True))).encode("utf-8"))

    return damage


def _manifest(edit: Callable[[dict[str, Any]], Any]) -> Callable[[Target], None]:
    return lambda t: t.edit_manifest(edit)


def _stream(name: str, **fields: Any) -> Callable[[Target], None]:
    return _manifest(lambda m: m["streams"][name].update(fields))


def _remove(relative: str) -> Callable[[Target], None]:
    return lambda t: t.path(relative).unlink()


def _manifest_truncated(t: Target) -> None:
    text = t.path(MANIFEST_FILE).read_text(encoding="utf-8")
    t.path(MANIFEST_FILE).write_text(text[: len(text) // 2], encoding="utf-8")


def _manifest_duplicate_stream(t: Target) -> None:
    """The streams object names ``cam1`` twice, the second time with cam2's file (valid JSON)."""
    data = t.manifest()
    streams = data.pop("streams")
    entries = [
        ("cam1", streams["cam1"]),
        ("cam1", streams["cam2"]),
        *((k, v) for k, v in streams.items() if k != "cam1"),
    ]
    body = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in entries)
    text = json.dumps(data, indent=2)
    t.path(MANIFEST_FILE).write_text(text[:-1].rstrip() + f',\n  "streams": {{{body}}}\n}}\n', encoding="utf-8")


def _escape_dotdot(t: Target) -> None:
    outside = t.outside / "mocap.c3d"
    outside.write_bytes(t.read(MOCAP))
    relative = os.path.relpath(outside, t.folder)  # ../../../outside/<key>/mocap.c3d
    t.edit_manifest(lambda m: m["streams"]["mocap"].update(file=relative))


def _escape_absolute(t: Target) -> None:
    outside = t.outside / "physio.csv"
    outside.write_bytes(t.read(PHYSIO))
    t.edit_manifest(lambda m: m["streams"]["physio"].update(file=str(outside.resolve())))


def _symlink_file_outside(t: Target) -> None:
    outside = t.outside / "emg.bdf"
    outside.write_bytes(t.read(EMG))
    t.path(EMG).unlink()
    t.path(EMG).symlink_to(outside)


def _symlink_folder_outside(t: Target) -> None:
    outside = t.outside / "video"
    shutil.copytree(t.path("video"), outside)
    shutil.rmtree(t.path("video"))
    t.path("video").symlink_to(outside, target_is_directory=True)


def _extra_files(t: Target) -> None:
    """Files no manifest entry names: a stray copy of a view and a text note (the manifest is untouched)."""
    t.path("video/cam2 (copy).mp4").write_bytes(t.read(CAM))
    t.path("notes.txt").write_text("subject felt dizzy after set 2\n", encoding="utf-8")


def invalid_folder_name(key: str) -> str:
    """The folder ``_invalid_folder_name`` moves recording ``key`` to (spaces: never a recording key)."""
    return key.replace("-", " ")


def _invalid_folder_name(t: Target) -> None:
    target = t.folder.with_name(invalid_folder_name(t.key))
    t.folder.rename(target)
    manifest = json.loads((target / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["recording"] = target.name
    (target / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _video_zeroed_header(t: Target) -> None:
    t.write(CAM, bytes(32) + t.read(CAM)[32:])


def _video_flipped_byte(t: Target) -> None:
    """One byte inverted in transfer, after the manifest was written (same size, other hash)."""
    data = bytearray(t.read(CAM))
    data[len(data) // 2] ^= 0xFF
    t.write(CAM, bytes(data), record_hash=False)


def _c3d_frames(edit: Callable[[np.ndarray, np.ndarray], None]) -> Callable[[Target], None]:
    return lambda t: t.write(MOCAP, edit_c3d_frames(t.read(MOCAP), edit))


def _all_occluded(points: np.ndarray, _: np.ndarray) -> None:
    points[..., :3] = 0.0
    points[..., 3] = -1.0  # residual -1: invalid (the C3D way of writing an occluded marker)


def _no_sync_pulse(_: np.ndarray, analogs: np.ndarray) -> None:
    analogs[:] = 0.0


def _c3d_huge_frame_count(t: Target) -> None:
    """The header's last frame says 0xFFFF ("see TRIAL") and TRIAL:ACTUAL_END_FIELD claims ~2 billion frames."""
    t.write(MOCAP, c3d_with_parameter(t.path(MOCAP), "TRIAL", "ACTUAL_START_FIELD", [1, 0]))
    data = c3d_with_parameter(t.path(MOCAP), "TRIAL", "ACTUAL_END_FIELD", [65535, 30000])
    t.write(MOCAP, patch(data, 8, "<H", 0xFFFF))


def _c3d_rates(*groups: str) -> Callable[[Target], None]:
    """The header's frame rate 0 Hz and each ``groups``' RATE parameter 0 Hz (patched in place)."""

    def damage(t: Target) -> None:
        data = patch(t.read(MOCAP), 20, "<f", 0.0)
        for group in groups:
            data = patch(data, c3d_parameter_data(data, group, "RATE"), "<f", 0.0)
        t.write(MOCAP, data)

    return damage


def _edf_from_bdf(t: Target) -> None:
    """Turn the EMG file into EDF (emg/emg.edf, format edf): the same signals at 16 bit."""
    t.path(EDF).write_bytes(bdf_to_edf(t.read(EMG)))
    t.path(EMG).unlink()

    def edit(m: dict[str, Any]) -> None:
        m["streams"]["emg"].update(file=EDF, format="edf")
        m["files"].pop(EMG, None)

    t.edit_manifest(edit)
    rehash(t.folder, EDF)


def _edf_huge_record_count(t: Target) -> None:
    _edf_from_bdf(t)
    t.write(EDF, with_record_count(t.read(EDF), 99_999_999))


def _edf_cut_mid_record(t: Target) -> None:
    _edf_from_bdf(t)
    data = t.read(EDF)
    layout = edf_layout(data)
    record = layout.record_samples * layout.sample_bytes
    t.write(EDF, data[: layout.header_bytes + (layout.n_records // 3) * record + record // 2])


def _bdf_garbage_channel_count(t: Target) -> None:
    data = t.read(EMG)
    t.write(EMG, data[:252] + b"x17 " + data[256:])


def _emg_edit(edit: Callable[[EdfLayout, list[np.ndarray]], None]) -> Callable[[Target], None]:
    return lambda t: t.write(EMG, edit_edf(t.read(EMG), edit))


def _first_emg_channel(layout: EdfLayout) -> int:
    return next(i for i, label in enumerate(layout.labels) if label != "TRIG")


def _flat_channel(layout: EdfLayout, signals: list[np.ndarray]) -> None:
    i = _first_emg_channel(layout)
    signals[i][:] = (layout.digital_min[i] + layout.digital_max[i]) // 2


def _saturated_channel(layout: EdfLayout, signals: list[np.ndarray]) -> None:
    """The first EMG channel clipped at 20% of its peak (an amplifier sitting on its rails)."""
    i = _first_emg_channel(layout)
    centre = int(np.median(signals[i]))
    limit = int(0.2 * np.abs(signals[i] - centre).max())
    signals[i][:] = np.clip(signals[i], centre - limit, centre + limit)


def _trigger_without_pulses(layout: EdfLayout, signals: list[np.ndarray]) -> None:
    i = layout.labels.index("TRIG")
    signals[i][:] = layout.digital_min[i]  # 0 V all along: the sync box was not plugged in


def _physio_cut_mid_row(t: Target) -> None:
    """The file ends inside its last row: ``8.025,7`` instead of ``8.025,71.9,14.2`` (no newline)."""
    text = t.text(PHYSIO)
    last_row = text.rstrip("\n").rfind("\n") + 1
    cut = text.index(",", last_row) + 2
    t.write(PHYSIO, text[:cut].encode("utf-8"))


def _annotations(edit: Callable[[dict[str, Any]], None]) -> Callable[[Target], None]:
    def damage(t: Target) -> None:
        data = json.loads(t.text(ANNOTATIONS))
        edit(data)
        t.write(ANNOTATIONS, (json.dumps(data, indent=2) + "\n").encode("utf-8"))

    return damage


def _frames_past_the_end(data: dict[str, Any]) -> None:
    repetition = data["repetitions"][0]
    repetition["end_frame"] = 100_000
    repetition["phases"][-1]["end_frame"] = 100_000


def _duplicate_repetition(data: dict[str, Any]) -> None:
    data["repetitions"].append(json.loads(json.dumps(data["repetitions"][0])))


def _cell(row: int, column: int, value: str) -> Callable[[list[str]], list[str]]:
    """Replace one CSV cell (row 0 is the header)."""

    def edit(lines: list[str]) -> list[str]:
        cells = lines[row].rstrip("\n").split(",")
        cells[column] = value
        return [*lines[:row], ",".join(cells) + "\n", *lines[row + 1 :]]

    return edit


CORPUS: tuple[FaultCase, ...] = (
    # -- the manifest and the paths it names ------------------------------------------------------------------
    FaultCase("manifest_truncated", "manifest", MANIFEST_FILE, _manifest_truncated, r"not valid JSON: Expecting"),
    FaultCase(
        "manifest_streams_not_an_object",
        "manifest",
        MANIFEST_FILE,
        _manifest(lambda m: m.update(streams=list(m["streams"]))),
        r"'streams' must be a non-empty object",
    ),
    FaultCase(
        "manifest_rate_not_a_number",
        "manifest",
        MANIFEST_FILE,
        _stream("cam1", nominal_rate_hz="sixty"),
        r"stream 'cam1' is malformed: could not convert string to float: 'sixty'",
    ),
    FaultCase(
        "manifest_take_not_a_number",
        "manifest",
        MANIFEST_FILE,
        _manifest(lambda m: m.update(take="first")),
        r"'take' must be an integer, got 'first'",
    ),
    FaultCase(
        "manifest_unknown_kind",
        "manifest",
        MANIFEST_FILE,
        _stream("emg", kind="lidar"),
        r"stream 'emg' is malformed: .*kind 'lidar' is not one of",
    ),
    FaultCase(
        "manifest_future_version",
        "manifest",
        MANIFEST_FILE,
        _manifest(lambda m: m.update(format_version=2)),
        r"format_version 2 is not supported",
    ),
    FaultCase(
        "manifest_unknown_reference",
        "manifest",
        MANIFEST_FILE,
        _manifest(lambda m: m.update(reference_stream="vicon")),
        r"reference_stream 'vicon' is not one of the streams",
    ),
    FaultCase(
        "manifest_duplicate_recording_key",
        "manifest",
        MANIFEST_FILE,
        _manifest(lambda m: m.update(recording=SOURCE_KEY)),
        rf"recording '{SOURCE_KEY}' does not match its folder name",
    ),
    FaultCase(
        "manifest_duplicate_stream_key",
        "manifest",
        MANIFEST_FILE,
        _manifest_duplicate_stream,
        r"key 'cam1' appears twice in one object",
    ),
    FaultCase(
        "path_escapes_with_dotdot",
        "manifest",
        "mocap.c3d",
        _escape_dotdot,
        r"path '(\.\./)+outside/\S+/mocap\.c3d' escapes the raw root",
    ),
    FaultCase(
        "path_absolute",
        "manifest",
        "physio.csv",
        _escape_absolute,
        r"absolute path '/\S+/outside/\S+/physio\.csv' in manifest is not allowed",
    ),
    FaultCase(
        "symlink_file_outside", "manifest", EMG, _symlink_file_outside, r"path 'emg/emg\.bdf' escapes the raw root"
    ),
    FaultCase(
        "symlink_folder_outside",
        "manifest",
        "video/cam1.mp4",
        _symlink_folder_outside,
        r"path 'video/cam1\.mp4' escapes the raw root",
    ),
    FaultCase(
        "missing_stream_file", "manifest", EMG, _remove(EMG), r"file 'emg/emg\.bdf' named in the manifest is missing"
    ),
    FaultCase(
        "missing_events_file",
        "manifest",
        EVENTS,
        _remove(EVENTS),
        r"file 'physio/physio_events\.csv' named in the manifest is missing",
    ),
    # -- the recording folders ------------------------------------------------------------------------------------
    FaultCase("extra_files", "layout", "notes.txt", _extra_files, "", outcome="accepted", step=None),
    FaultCase(
        "invalid_folder_name",
        "layout",
        "",
        _invalid_folder_name,
        r"^refused: \S.*: invalid recording key 'F invalid folder name': .*; rename the folder to process it$",
        outcome="refused",
        step=None,
        renames=True,
    ),
    FaultCase("no_manifest", "layout", MANIFEST_FILE, _remove(MANIFEST_FILE), "", outcome="skipped", step=None),
    # -- video ---------------------------------------------------------------------------------------------------
    FaultCase("video_empty", "video", CAM, _cut(CAM, keep=0), r"file is empty \(0 bytes\)"),
    FaultCase("video_cut_in_header", "video", CAM, _cut(CAM, keep=40), r"cannot open as a video container"),
    FaultCase("video_cut_at_99_percent", "video", CAM, _cut(CAM, 0.99), r"cannot open as a video container"),
    FaultCase("video_zeroed_header", "video", CAM, _video_zeroed_header, r"cannot open as a video container"),
    FaultCase(
        "video_is_a_csv", "video", PHONE, lambda t: t.write(PHONE, t.read(PHYSIO)), r"cannot open as a video container"
    ),
    FaultCase(
        "video_flipped_byte",
        "video",
        CAM,
        _video_flipped_byte,
        r"content does not match the manifest \(sha256 \w+… vs \w+…, (\d+) vs \1 bytes\)",
    ),
    # -- motion capture (C3D) -------------------------------------------------------------------------------------
    FaultCase(
        "c3d_cut_in_half",
        "mocap",
        MOCAP,
        _cut(MOCAP),
        r"truncated C3D: the header declares (\d+) frames, the file holds (?!\1)\d+",
    ),
    FaultCase("c3d_cut_in_parameters", "mocap", MOCAP, _cut(MOCAP, keep=700), r"not a readable C3D file|truncated C3D"),
    FaultCase(
        "c3d_wrong_header",
        "mocap",
        MOCAP,
        lambda t: t.write(MOCAP, patch(t.read(MOCAP), 0, "<BB", 0xEE, 0)),
        r"not a readable C3D file",
    ),
    FaultCase(
        "c3d_huge_frame_count",
        "mocap",
        MOCAP,
        _c3d_huge_frame_count,
        r"truncated C3D: the header declares \d{10} frames",
        absurd=True,
    ),
    FaultCase(
        "c3d_rate_contradicts_manifest",
        "mocap",
        MOCAP,
        _stream("mocap", nominal_rate_hz=100.0),
        r"rate mismatch: the file declares 150 Hz for its first stream, the manifest says 100 Hz",
    ),
    FaultCase(
        "c3d_header_rate_zero",
        "mocap",
        MOCAP,
        _c3d_rates("POINT"),
        r"no point rate; using ANALOG:RATE",
        outcome="warns",
        step=None,
    ),
    FaultCase(
        "c3d_no_rate_at_all",
        "mocap",
        MOCAP,
        _c3d_rates("POINT", "ANALOG"),
        r"rate",
    ),
    FaultCase(
        "c3d_all_occluded",
        "mocap",
        MOCAP,
        _c3d_frames(_all_occluded),
        r"every joint sample is occluded \((\d+) frames, 0 valid\): the stream holds no pose",
    ),
    FaultCase(
        "c3d_sync_without_pulses",
        "mocap",
        MOCAP,
        _c3d_frames(_no_sync_pulse),
        r"stream mocap: sync events found: none",
        step="clock_models",
    ),
    # -- EMG (BDF / EDF) ------------------------------------------------------------------------------------------
    FaultCase("bdf_cut_in_half", "emg", EMG, _cut(EMG), r"truncated: the header declares more data records"),
    FaultCase("bdf_cut_in_header", "emg", EMG, _cut(EMG, keep=300), r"not a readable EDF/BDF file"),
    FaultCase(
        "edf_cut_mid_record", "emg", EDF, _edf_cut_mid_record, r"truncated: the header declares more data records"
    ),
    FaultCase(
        "edf_huge_record_count",
        "emg",
        EDF,
        _edf_huge_record_count,
        r"truncated: the header declares more data records \(99999999",
        absurd=True,
    ),
    FaultCase(
        "bdf_garbage_channel_count", "emg", EMG, _bdf_garbage_channel_count, r"not a readable EDF/BDF file.*'x17'"
    ),
    FaultCase("emg_is_json", "emg", EMG, lambda t: t.write(EMG, t.read(ANNOTATIONS)), r"not a readable EDF/BDF file"),
    FaultCase(
        "emg_flat_channel",
        "emg",
        EMG,
        _emg_edit(_flat_channel),
        r"stream emg: channels with problems: \w+ \(flat\)",
        outcome="warns",
        step=None,
    ),
    FaultCase(
        "emg_saturated_channel",
        "emg",
        EMG,
        _emg_edit(_saturated_channel),
        r"stream emg: channels with problems: \w+ \(saturated\)",
        outcome="warns",
        step=None,
    ),
    FaultCase(
        "emg_trigger_without_pulses",
        "emg",
        EMG,
        _emg_edit(_trigger_without_pulses),
        r"stream emg: sync events found: none",
        step="clock_models",
    ),
    # -- physiology (CSV) -----------------------------------------------------------------------------------------
    FaultCase(
        "physio_cut_mid_row",
        "physio",
        PHYSIO,
        _physio_cut_mid_row,
        r"the last row \(line (\d+)\) is cut: 2 of 3 cells and no final newline",
    ),
    FaultCase("physio_header_only", "physio", PHYSIO, _lines(PHYSIO, lambda lines: lines[:1]), r"no data rows"),
    FaultCase("physio_empty", "physio", PHYSIO, _cut(PHYSIO, keep=0), r"file is empty \(0 bytes\)"),
    FaultCase(
        "physio_reversed",
        "physio",
        PHYSIO,
        _lines(PHYSIO, lambda lines: lines[:1] + lines[:0:-1]),
        r"time column 'time_s' is not strictly increasing: line 3 has [\d.]+ after [\d.]+ \((\d+) such steps\)",
    ),
    FaultCase(
        "physio_duplicate_timestamp",
        "physio",
        PHYSIO,
        _lines(PHYSIO, lambda lines: [*lines[:3], lines[2], *lines[3:]]),
        r"time column 'time_s' is not strictly increasing: line 4 has ([\d.]+) after \1 \(1 such steps\)",
    ),
    FaultCase(
        "physio_non_numeric_value",
        "physio",
        PHYSIO,
        _lines(PHYSIO, _cell(2, 1, "n/a")),
        r"1 value\(s\) are not numbers; first at line 3, column 'heart_rate_bpm': 'n/a'",
    ),
    FaultCase(
        "physio_non_numeric_time",
        "physio",
        PHYSIO,
        _lines(PHYSIO, _cell(2, 0, "12:00:01")),
        r"1 value\(s\) are not numbers; first at line 3, column 'time_s': '12:00:01'",
    ),
    FaultCase(
        "physio_wrong_header",
        "physio",
        PHYSIO,
        _lines(PHYSIO, lambda lines: ["when,hr,br\n", *lines[1:]]),
        r"no header row starting with a time column",
    ),
    FaultCase(
        "physio_events_without_sync",
        "physio",
        EVENTS,
        lambda t: t.write(EVENTS, t.text(EVENTS).replace(",sync", ",marker").encode("utf-8")),
        r"stream physio: sync events found: none",
        step="clock_models",
    ),
    # -- annotations and calibration -------------------------------------------------------------------------------
    FaultCase(
        "annotations_outside_the_recording",
        "annotations",
        ANNOTATIONS,
        _annotations(_frames_past_the_end),
        r"repetitions\[0\]\.end_frame = 100000 is outside \[\d+, \d+\]",
        step="aligned_recording",
    ),
    FaultCase(
        "annotations_duplicate_repetition",
        "annotations",
        ANNOTATIONS,
        _annotations(_duplicate_repetition),
        r"duplicate repetition indices \[1\]",
        step="aligned_recording",
    ),
    FaultCase(
        "annotations_truncated",
        "annotations",
        ANNOTATIONS,
        _cut(ANNOTATIONS),
        r"the annotations file is not valid JSON: Expecting",
        step="aligned_recording",
    ),
    FaultCase(
        "calibration_wrong_type",
        "annotations",
        CALIBRATION,
        lambda t: t.write(CALIBRATION, b"[1, 2, 3]\n"),
        r"the calibration file must hold one JSON object, got a list",
    ),
)


def case_by_name(name: str) -> FaultCase:
    for case in CORPUS:
        if case.name == name:
            return case
    raise KeyError(f"no fault case {name!r}; the cases are {', '.join(c.name for c in CORPUS)}")


def cases_of(*streams: str) -> list[FaultCase]:
    """The corpus cases that damage one of ``streams`` (manifest, layout, video, mocap, emg, physio, annotations)."""
    return [case for case in CORPUS if case.stream in streams]
