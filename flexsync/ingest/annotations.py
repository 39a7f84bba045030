"""The annotated repetitions of a recording, read and checked against the frames of the annotated view.

``annotations.json`` names the view its frame numbers refer to (``view``, default cam1) and one entry
per repetition (index, frames, phases, errors, feedback, expert score). :func:`read_repetitions`
checks every field and every frame against that view's frame count, with errors naming the file,
the repetition and the field; the aligned recording runs it before it publishes (so bad annotations
never replace a good publication) and the samples builder uses its result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexsync.errors import InputFileError
from flexsync.ingest.recording import RawRecording

__all__ = ["DEFAULT_ANNOTATED_VIEW", "Repetition", "annotated_view", "check_annotations", "read_repetitions"]

DEFAULT_ANNOTATED_VIEW = "cam1"


@dataclass(frozen=True)
class Repetition:
    """One annotated repetition, frame indices in the annotated view's file (0-based)."""

    index: int
    start_frame: int
    end_frame: int
    phases: tuple[tuple[str, str, int, int], ...]  # (phase, key_step, start_frame, end_frame)
    errors: tuple[str, ...]
    error_key_steps: tuple[str, ...]
    feedback: tuple[str, ...]
    score: float


def annotated_view(raw: RawRecording, streams: Mapping[str, Any]) -> str:
    """The view the annotations' frame numbers refer to; an InputFileError if ``streams`` lacks it."""
    view = (raw.annotations or {}).get("view", DEFAULT_ANNOTATED_VIEW)
    if view not in streams:
        path = raw.path(raw.manifest.annotations) if raw.manifest.annotations else None
        raise InputFileError(
            f"annotations refer to view {view!r}, which the recording lacks", path=path, recording=raw.key
        )
    return view


def check_annotations(raw: RawRecording, frames_per_stream: Mapping[str, int]) -> list[Repetition]:
    """The repetitions of ``raw``, checked against the frame count of the annotated view."""
    if raw.annotations is None:
        return []
    return read_repetitions(raw, n_frames=frames_per_stream[annotated_view(raw, frames_per_stream)])


def read_repetitions(raw: RawRecording, *, n_frames: int) -> list[Repetition]:
    """The annotated repetitions of a raw recording, sorted by index, with frames checked.

    Raises
    ------
    InputFileError
        Naming the annotations file, the repetition and the field that is missing or out of
        range (frames must lie in ``[0, n_frames)`` and ``end_frame > start_frame``).
    """
    data = raw.annotations
    path = raw.path(raw.manifest.annotations) if raw.manifest.annotations else None
    if data is None:
        return []
    where = _Where(raw.key, path)
    reps_raw = data.get("repetitions")
    if not isinstance(reps_raw, list):
        raise where.error("'repetitions' must be a list")
    reps = []
    for i, rep in enumerate(reps_raw):
        at = f"repetitions[{i}]"
        index = where.integer(rep, "index", at, low=1)
        start = where.integer(rep, "start_frame", at, low=0, high=n_frames - 1)
        end = where.integer(rep, "end_frame", at, low=start + 1, high=n_frames - 1)
        phases = []
        for j, ph in enumerate(where.get(rep, "phases", list, at)):
            pat = f"{at}.phases[{j}]"
            phases.append(
                (
                    where.get(ph, "phase", str, pat),
                    where.get(ph, "key_step", str, pat),
                    where.integer(ph, "start_frame", pat, low=0, high=n_frames - 1),
                    where.integer(ph, "end_frame", pat, low=0, high=n_frames - 1),
                )
            )
        errors = [(where.get(e, "error", str, f"{at}.errors[{j}]"), where.get(e, "key_step", str, f"{at}.errors[{j}]"))
                  for j, e in enumerate(where.get(rep, "errors", list, at))]  # fmt: skip
        feedback = where.get(rep, "feedback", list, at)
        if not all(isinstance(f, str) for f in feedback):
            raise where.error(f"{at}.feedback must be a list of strings")
        score = where.get(rep, "score", float, at)
        reps.append(
            Repetition(
                index=index,
                start_frame=start,
                end_frame=end,
                phases=tuple(phases),
                errors=tuple(e for e, _ in errors),
                error_key_steps=tuple(k for _, k in errors),
                feedback=tuple(feedback),
                score=score,
            )
        )
    indices = [r.index for r in reps]
    if len(set(indices)) != len(indices):
        raise where.error(f"duplicate repetition indices {sorted({i for i in indices if indices.count(i) > 1})}")
    return sorted(reps, key=lambda r: r.index)


class _Where:
    """Field access on annotations.json with errors naming the file, repetition and field."""

    def __init__(self, key: str, path: Path | None) -> None:
        self.key, self.path = key, path

    def error(self, problem: str) -> InputFileError:
        return InputFileError(f"annotations: {problem}", path=self.path, recording=self.key)

    def get(self, obj: Any, name: str, kind: type, at: str) -> Any:
        if not isinstance(obj, dict) or name not in obj:
            raise self.error(f"{at}.{name} is missing")
        value = obj[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.error(f"{at}.{name} must be {kind.__name__}, got {value!r}")
        return value

    def integer(self, obj: Any, name: str, at: str, *, low: int, high: int | None = None) -> int:
        value = self.get(obj, name, int, at)
        if value < low or (high is not None and value > high):
            bound = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise self.error(f"{at}.{name} = {value} is outside {bound} (frames of the annotated view)")
        return value
