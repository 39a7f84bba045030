"""The FLEX repetition score from the errors an expert observed.

``S = (1 - sum of weights of observed errors / sum of weights of all error types of the action) x 100``.
The exact float is returned; rounding for display is the writer's job.
"""

from __future__ import annotations

from collections.abc import Iterable

from flexsync.fkg.catalogue import FitnessKnowledgeGraph

__all__ = ["fkg_score"]


def fkg_score(fkg: FitnessKnowledgeGraph, action_id: str, observed_error_ids: Iterable[str]) -> float:
    """Score of one repetition of ``action_id`` given the observed error ids (0-100).

    Duplicated ids count once. Weights are summed in the action's error order, so the same
    error set always gives the same float.

    Raises
    ------
    KeyError
        If the action is unknown or an id is not an error type of that action.
    """
    action = fkg.action(action_id)
    observed = set(observed_error_ids)
    known = {e.id for e in action.errors}
    unknown = sorted(observed - known)
    if unknown:
        raise KeyError(
            f"action {action_id}: unknown error type(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    total = sum(e.weight for e in action.errors)
    lost = sum(e.weight for e in action.errors if e.id in observed)
    return (1.0 - lost / total) * 100.0
