"""The Fitness Knowledge Graph (actions, key steps, error types, feedback) and the FLEX score."""

from flexsync.fkg.catalogue import (
    CATEGORY_WEIGHTS,
    KINEMATIC_EFFECTS,
    PHASES,
    Action,
    ErrorType,
    FitnessKnowledgeGraph,
    KeyStep,
    default_fkg,
    fkg_from_dict,
    fkg_to_dict,
    read_fkg,
    write_fkg,
)
from flexsync.fkg.scoring import fkg_score

__all__ = [
    "CATEGORY_WEIGHTS",
    "KINEMATIC_EFFECTS",
    "PHASES",
    "Action",
    "ErrorType",
    "FitnessKnowledgeGraph",
    "KeyStep",
    "default_fkg",
    "fkg_from_dict",
    "fkg_score",
    "fkg_to_dict",
    "read_fkg",
    "write_fkg",
]
