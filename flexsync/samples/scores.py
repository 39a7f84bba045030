"""Check expert labels against the FKG: recompute each sample's score, and find misplaced errors.

An expert score is a claim; the FKG formula is the rule. Disagreements are reported per sample
(never silently overwritten: the expert score stays what the annotator wrote), and an annotated
error must be an error type of the sample's action, attached to the key step the FKG puts it in.
Both checks take the samples table (``flexsync.samples.read_samples``) and return the offending rows
as a table, ready for Dagster check metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import polars as pl

from flexsync.fkg.catalogue import FitnessKnowledgeGraph
from flexsync.fkg.scoring import fkg_score
from flexsync.samples.schemas import SCORE_TOLERANCE, validate_sample_table

__all__ = [
    "annotated_error_problems",
    "fkg_score_or_none",
    "recompute_scores",
    "score_disagreements",
]

logger = logging.getLogger(__name__)

_NEEDED = ("sample_id", "recording", "action", "errors", "error_key_steps", "expert_score")


def fkg_score_or_none(fkg: FitnessKnowledgeGraph, action_id: str, error_ids: Iterable[str]) -> float | None:
    """The FKG score (0-100), or None when the action or an error id is unknown to the FKG."""
    try:
        return fkg_score(fkg, action_id, error_ids)
    except KeyError:
        return None


def recompute_scores(
    samples: pl.DataFrame, fkg: FitnessKnowledgeGraph, *, tolerance: float = SCORE_TOLERANCE
) -> pl.DataFrame:
    """Per sample: expert score, FKG score from its annotated errors, difference and agreement.

    Parameters
    ----------
    samples : polars.DataFrame
        Rows of the samples table (at least sample_id, recording, action, errors, expert_score).
    tolerance : float
        Scores agree when ``|expert - fkg| <= tolerance`` (0.01: annotations keep 2 decimals).

    Returns
    -------
    polars.DataFrame
        ``score_checks`` table: sample_id, recording, action, expert_score, fkg_score (null when
        an error is unknown), difference (expert - fkg), agrees, reason ("" when they agree).
    """
    _require(samples)
    rows = []
    for row in samples.select(_NEEDED).iter_rows(named=True):
        score = fkg_score_or_none(fkg, row["action"], row["errors"])
        expert = float(row["expert_score"])
        if score is None:
            diff, agrees = None, False
            reason = f"cannot score: errors {row['errors']} are not all error types of action {row['action']}"
        else:
            diff = expert - score
            agrees = abs(diff) <= tolerance
            reason = "" if agrees else f"expert score {expert:.2f} differs from FKG score {score:.2f} by {diff:+.2f}"
        rows.append({**{k: row[k] for k in ("sample_id", "recording", "action")}, "expert_score": expert,
                     "fkg_score": score, "difference": diff, "agrees": agrees, "reason": reason})  # fmt: skip
    table = pl.DataFrame(
        rows,
        schema={"sample_id": pl.String, "recording": pl.String, "action": pl.String, "expert_score": pl.Float64,
                "fkg_score": pl.Float64, "difference": pl.Float64, "agrees": pl.Boolean, "reason": pl.String},
    )  # fmt: skip
    return validate_sample_table(table, "score_checks")


def score_disagreements(
    samples: pl.DataFrame, fkg: FitnessKnowledgeGraph, *, tolerance: float = SCORE_TOLERANCE
) -> pl.DataFrame:
    """The rows of :func:`recompute_scores` where the expert and FKG scores disagree (or cannot be compared)."""
    checks = recompute_scores(samples, fkg, tolerance=tolerance)
    bad = checks.filter(~pl.col("agrees"))
    for row in bad.head(5).iter_rows(named=True):
        logger.warning("sample %s: %s", row["sample_id"], row["reason"])
    return bad


def annotated_error_problems(samples: pl.DataFrame, fkg: FitnessKnowledgeGraph) -> pl.DataFrame:
    """Annotated errors the FKG does not allow where they were annotated, one row each.

    Problems found: unknown action; error id that is not an error type of the action; key step
    that is not one of the action's; error attached to another key step than the FKG's; a
    different number of errors and key steps. An empty frame means every label is consistent.

    Returns
    -------
    polars.DataFrame
        ``annotation_problems`` table: sample_id, recording, action, position (index in the
        sample's error list), error, key_step, expected_key_step (the FKG's, null if unknown), problem.
    """
    _require(samples)
    out = []
    for row in samples.select(_NEEDED).iter_rows(named=True):
        out.extend(_row_problems(fkg, row))
    table = pl.DataFrame(
        out,
        schema={"sample_id": pl.String, "recording": pl.String, "action": pl.String, "position": pl.Int32,
                "error": pl.String, "key_step": pl.String, "expected_key_step": pl.String, "problem": pl.String},
    )  # fmt: skip
    for row in table.head(5).iter_rows(named=True):
        logger.warning("sample %s: %s", row["sample_id"], row["problem"])
    return validate_sample_table(table, "annotation_problems")


def _row_problems(fkg: FitnessKnowledgeGraph, row: dict) -> list[dict]:
    base = {"sample_id": row["sample_id"], "recording": row["recording"], "action": row["action"]}
    errors, steps = list(row["errors"]), list(row["error_key_steps"])
    problems: list[dict] = []
    if len(errors) != len(steps):
        problems.append({**base, "position": 0, "error": ",".join(errors), "key_step": ",".join(steps),
                         "expected_key_step": None,
                         "problem": f"{len(errors)} errors but {len(steps)} key steps annotated"})  # fmt: skip
    try:
        action = fkg.action(row["action"])
    except KeyError as exc:
        return [*problems, {**base, "position": 0, "error": ",".join(errors), "key_step": None,
                            "expected_key_step": None, "problem": str(exc.args[0])}]  # fmt: skip
    step_ids = {k.id for k in action.key_steps}
    for position, (error, step) in enumerate(zip(errors, steps, strict=False)):
        expected = None
        try:
            expected = action.key_step_of(error).id
        except KeyError:
            problem = f"error {error!r} is not an error type of action {action.id}"
        else:
            if step not in step_ids:
                problem = f"key step {step!r} is not a key step of action {action.id}"
            elif step != expected:
                problem = f"error {error} belongs to key step {expected} in the FKG, but was annotated on {step}"
            else:
                continue
        problem = f"sample {row['sample_id']}: {problem}"
        problems.append({**base, "position": position, "error": error, "key_step": step,
                         "expected_key_step": expected, "problem": problem})  # fmt: skip
    return problems


def _require(samples: pl.DataFrame) -> None:
    missing = [c for c in _NEEDED if c not in samples.columns]
    if missing:
        raise ValueError(f"samples table lacks column(s) {', '.join(missing)}; pass rows of the samples table")
