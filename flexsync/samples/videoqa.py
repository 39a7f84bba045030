"""FLEX-VideoQA: four hierarchical questions per repetition sample, answered from labels and templates.

The levels go from recognising to judging, as in FLEX's VideoQA benchmark:

1. which action is performed;
2. what its standard is (its key steps in order, with what each asks for, from the FKG);
3. how this repetition was performed: per key step, the observed errors and the expert's
   feedback, or "performed to standard";
4. its score from 0 to 100 (the expert score; the answer is the number).

Each row points at what to show: ``clip_path`` (the samples Zarr group, relative to the store
root, as :meth:`flexsync.storage.Store.samples_member` gives it), ``clip_row`` (the sample's row
in it) and ``views``. Answers come only from the
annotations, the FKG and fixed templates: no randomness, so the files are byte-identical
across runs.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import polars as pl

from flexsync.fkg.catalogue import Action, FitnessKnowledgeGraph
from flexsync.samples._io import write_validated_parquet
from flexsync.storage.store import Store

__all__ = ["QUESTIONS", "build_videoqa", "videoqa_rows"]

logger = logging.getLogger(__name__)

QUESTIONS = {
    1: "Which exercise is the person performing in this video?",
    2: "What is the standard way to perform this exercise?",
    3: "How did the person perform this repetition, key step by key step?",
    4: "On a scale from 0 to 100, what score does this repetition deserve?",
}
TO_STANDARD = "performed to standard"


def build_videoqa(store: Store, fkg: FitnessKnowledgeGraph) -> pl.DataFrame:
    """Write the store's ``videoqa.parquet`` and ``videoqa.jsonl`` training files from the sample index.

    Rows are ordered by sample (index order: action, then FLEX number) and level 1-4.

    Raises
    ------
    MissingInputError
        If the sample index is absent (materialise ``sample_index`` / call ``build_sample_index`` first).
    KeyError
        If a sample's action is not in ``fkg``.
    """
    index = store.read_parquet(store.training_path("sample_index.parquet"), what="sample_index")
    groups = {key: _clip_refs(store, key) for key in index.get_column("recording").unique().sort().to_list()}
    table = videoqa_rows(index, fkg, groups)
    table = write_validated_parquet(store, table, "videoqa", store.training_path("videoqa.parquet"))
    lines = [json.dumps(r, sort_keys=True, ensure_ascii=False, allow_nan=False) for r in table.iter_rows(named=True)]
    store.write_text(store.training_path("videoqa.jsonl"), "".join(f"{line}\n" for line in lines))
    logger.info("VideoQA: %d questions for %d samples", table.height, index.height)
    return table


def videoqa_rows(
    index: pl.DataFrame, fkg: FitnessKnowledgeGraph, groups: dict[str, tuple[str, list[str], list[str]]]
) -> pl.DataFrame:
    """The VideoQA table (not validated) for the samples of ``index``.

    ``groups`` maps a recording key to ``(clip_path, views, sample_ids)``: its samples group
    relative to the store root and that group's ``views`` and ``sample_ids`` attributes.
    """
    rows: list[dict[str, Any]] = []
    for sample in index.iter_rows(named=True):
        action = fkg.action(sample["action"])
        answers = {
            1: f"{action.name} ({action.id}, {action.equipment}).",
            2: _standard(action),
            3: _performance(action, sample),
            4: _score_text(float(sample["expert_score"])),
        }
        clip_path, views, sample_ids = groups[sample["recording"]]
        clip_row = sample_ids.index(sample["sample_id"])
        for level in (1, 2, 3, 4):
            rows.append(
                {
                    "question_id": f"{sample['sample_id']}_L{level}",
                    "sample_id": sample["sample_id"],
                    "recording": sample["recording"],
                    "action": action.id,
                    "level": level,
                    "question": QUESTIONS[level],
                    "answer": answers[level],
                    "answer_score": float(sample["expert_score"]) if level == 4 else None,
                    "views": views,
                    "clip_path": clip_path,
                    "clip_row": clip_row,
                    "t_start_s": sample["t_start_s"],
                    "t_end_s": sample["t_end_s"],
                }
            )
    return pl.DataFrame(rows, schema=_SCHEMA)


_SCHEMA = {
    "question_id": pl.String, "sample_id": pl.String, "recording": pl.String, "action": pl.String,
    "level": pl.Int32, "question": pl.String, "answer": pl.String, "answer_score": pl.Float64,
    "views": pl.List(pl.String), "clip_path": pl.String, "clip_row": pl.Int32, "t_start_s": pl.Float64,
    "t_end_s": pl.Float64,
}  # fmt: skip


def _standard(action: Action) -> str:
    steps = []
    for n, step in enumerate(action.key_steps, start=1):
        cues = " ".join(e.feedback for e in step.errors)
        steps.append(f"{n}. {step.name} ({step.phase}): {cues}")
    return f"The {action.name} has {len(action.key_steps)} key steps. " + " ".join(steps)


def _performance(action: Action, sample: dict[str, Any]) -> str:
    """Per key step: observed errors with their feedback, or ``TO_STANDARD``."""
    errors, steps, feedback = list(sample["errors"]), list(sample["error_key_steps"]), list(sample["feedback"])
    paired = len(feedback) == len(errors)
    names = {e.id: e.name for e in action.errors}
    fkg_feedback = {e.id: e.feedback for e in action.errors}
    by_step: dict[str, list[str]] = {}
    used: set[int] = set()
    for i, (error, step) in enumerate(zip(errors, steps, strict=False)):
        said = feedback[i] if paired else fkg_feedback.get(error, "")
        if paired:
            used.add(i)
        label = names.get(error, f"unrecognised error {error}")
        by_step.setdefault(step, []).append(f"{label}. Feedback: {said}" if said else f"{label}.")
    parts = []
    for step in action.key_steps:
        observed = by_step.pop(step.id, None)
        parts.append(f"{step.name}: " + (" ".join(observed) if observed else f"{TO_STANDARD}."))
    for step_id, observed in sorted(by_step.items()):  # errors on key steps the FKG does not know
        parts.append(f"{step_id}: " + " ".join(observed))
    extra = [f for i, f in enumerate(feedback) if i not in used and f not in " ".join(parts)]
    if extra:
        parts.append("Further feedback: " + " ".join(extra))
    return " | ".join(parts)


def _score_text(score: float) -> str:
    """The score as a number that parses back exactly (2 decimals when that is exact)."""
    text = f"{score:.2f}"
    return text if float(text) == score else repr(score)


def _clip_refs(store: Store, key: str) -> tuple[str, list[str], list[str]]:
    """(clip_path, views, sample_ids) of the samples group of ``key``."""
    attrs = store.open_samples(key).attrs
    views, sample_ids = [str(v) for v in attrs.get("views", [])], [str(s) for s in attrs.get("sample_ids", [])]
    return store.samples_member(key), views, sample_ids
