"""The Fitness Knowledge Graph as five flat tables, for SQL, dataframes and model code.

The FKG is a tree (action -> key steps -> error types -> feedback); as tables it joins with the
samples on ``action``, ``error_key_steps`` and ``errors``, and a graph library can load the
``links`` edge list directly. Tables: ``actions``, ``key_steps``, ``error_types``, ``feedback``
(one sentence per error type, id ``<error id>_F1``) and ``links`` (the edges, in graph order).
Each has a pandera schema in ``flexsync.samples.schemas`` (``fkg_<table>``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from flexsync.fkg.catalogue import FitnessKnowledgeGraph
from flexsync.samples._io import write_validated_parquet
from flexsync.samples.schemas import validate_sample_table
from flexsync.storage.store import Store

__all__ = ["FKG_TABLES", "fkg_tables", "write_fkg_tables"]

logger = logging.getLogger(__name__)

FKG_TABLES = ("actions", "key_steps", "error_types", "feedback", "links")


def fkg_tables(fkg: FitnessKnowledgeGraph) -> dict[str, pl.DataFrame]:
    """The five validated tables of ``fkg``, keyed by ``FKG_TABLES`` names, rows in graph order."""
    rows: dict[str, list[dict]] = {name: [] for name in FKG_TABLES}
    for action in fkg.actions:
        rows["actions"].append(
            {"action_id": action.id, "class_idx": int(action.id[1:]), "name": action.name,
             "equipment": action.equipment, "family": action.family, "main_muscles": list(action.main_muscles),
             "emg_muscles": list(action.emg_muscles), "emg_channels": list(action.emg_channels),
             "n_key_steps": len(action.key_steps), "n_error_types": len(action.errors),
             "total_weight": fkg.total_weight(action.id)}
        )  # fmt: skip
        n_error = 0
        for order, step in enumerate(action.key_steps, start=1):
            rows["key_steps"].append(
                {"key_step_id": step.id, "action_id": action.id, "step_order": order, "name": step.name,
                 "phase": step.phase}
            )  # fmt: skip
            rows["links"].append(_link(action.id, "action", "has_key_step", step.id, "key_step"))
            for error in step.errors:
                n_error += 1
                feedback_id = f"{error.id}_F1"
                rows["error_types"].append(
                    {"error_id": error.id, "action_id": action.id, "key_step_id": step.id, "error_order": n_error,
                     "name": error.name, "category": error.category, "weight": float(error.weight),
                     "kinematic_effect": error.kinematic_effect}
                )  # fmt: skip
                rows["feedback"].append(
                    {"feedback_id": feedback_id, "error_id": error.id, "action_id": action.id, "text": error.feedback}
                )
                rows["links"].append(_link(step.id, "key_step", "may_show_error", error.id, "error_type"))
                rows["links"].append(_link(error.id, "error_type", "corrected_by", feedback_id, "feedback"))
    out = {}
    for name in FKG_TABLES:
        df = pl.DataFrame(rows[name], schema=_SCHEMAS[name])
        out[name] = validate_sample_table(df, f"fkg_{name}")
    return out


def write_fkg_tables(store: Store, fkg: FitnessKnowledgeGraph) -> dict[str, Path]:
    """Write the five tables to the store's FKG table files (each validated, atomic); return the paths."""
    paths = {}
    for name, df in fkg_tables(fkg).items():
        paths[name] = store.fkg_table_path(name)
        write_validated_parquet(store, df, f"fkg_{name}", paths[name])
    logger.info("FKG tables: %d actions written under %s", len(fkg.actions), paths["actions"].parent)
    return paths


def _link(source: str, source_kind: str, relation: str, target: str, target_kind: str) -> dict[str, str]:
    return {"source_id": source, "source_kind": source_kind, "relation": relation, "target_id": target,
            "target_kind": target_kind}  # fmt: skip


_STRINGS = pl.List(pl.String)
_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "actions": {"action_id": pl.String, "class_idx": pl.Int32, "name": pl.String, "equipment": pl.String,
                "family": pl.String, "main_muscles": _STRINGS, "emg_muscles": _STRINGS, "emg_channels": _STRINGS,
                "n_key_steps": pl.Int32, "n_error_types": pl.Int32, "total_weight": pl.Float64},
    "key_steps": {"key_step_id": pl.String, "action_id": pl.String, "step_order": pl.Int32, "name": pl.String,
                  "phase": pl.String},
    "error_types": {"error_id": pl.String, "action_id": pl.String, "key_step_id": pl.String,
                    "error_order": pl.Int32, "name": pl.String, "category": pl.String, "weight": pl.Float64,
                    "kinematic_effect": pl.String},
    "feedback": {"feedback_id": pl.String, "error_id": pl.String, "action_id": pl.String, "text": pl.String},
    "links": {"source_id": pl.String, "source_kind": pl.String, "relation": pl.String, "target_id": pl.String,
              "target_kind": pl.String},
}  # fmt: skip
