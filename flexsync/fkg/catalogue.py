"""The Fitness Knowledge Graph (FKG): actions -> key steps -> error types -> feedback.

FLEX organises its expert labels as a graph: each action (exercise) has key steps, each key
step belongs to a phase (preparation, eccentric, concentric) and lists the error types an
expert may observe there, each with a severity weight and a feedback sentence. The weights
define the repetition score (``flexsync.fkg.scoring``). This module holds the typed graph,
its validation, and the ``fkg.json`` format of docs/raw-format.md.

Key steps are stored in execution order: preparation first, then the first movement phase
(eccentric for a squat, concentric for a curl), then the other one. The generator and the
annotation writer rely on that order.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexsync.errors import InputFileError, MissingInputError
from flexsync.fkg._data import ACTIONS, FAMILIES

__all__ = [
    "CATEGORY_WEIGHTS",
    "EQUIPMENT",
    "FKG_VERSION",
    "KINEMATIC_EFFECTS",
    "MAX_MUSCLE_NAME_CHARS",
    "PHASES",
    "Action",
    "ErrorType",
    "FitnessKnowledgeGraph",
    "KeyStep",
    "default_fkg",
    "fkg_from_dict",
    "fkg_to_dict",
    "read_fkg",
    "write_fkg",
]

logger = logging.getLogger(__name__)

FKG_VERSION = 1
PHASES = ("preparation", "eccentric", "concentric")
EQUIPMENT = ("barbell", "dumbbell")
# Allowed weight range per error category (inclusive).
CATEGORY_WEIGHTS: dict[str, tuple[float, float]] = {
    "joint safety": (9.0, 10.0),
    "core stability": (7.0, 9.0),
    "posture": (6.0, 7.0),
    "fine control": (5.0, 5.0),
    "breathing": (2.0, 2.0),
}
# The vocabulary of kinematic effects the synthetic motion model implements.
KINEMATIC_EFFECTS = (
    "asymmetric",
    "breath_hold",
    "elbow_drift",
    "elbow_flare",
    "excess_knee_bend",
    "fast_eccentric",
    "heel_lift",
    "hip_shift",
    "incomplete_lockout",
    "knee_valgus",
    "lean_back",
    "momentum_swing",
    "rounded_back",
    "shallow_depth",
    "short_step",
    "shrug_compensation",
    "trunk_lean",
)
_ACTION_ID = re.compile(r"^A\d{2}$")
_MUSCLE = re.compile(r"^[a-z][a-z0-9_]*$")
_N_EMG_MUSCLES = 8
# EMG channels are named f"{muscle}_L"/"_R" and EDF/BDF labels hold at most 16 characters.
MAX_MUSCLE_NAME_CHARS = 14


@dataclass(frozen=True)
class ErrorType:
    """One error an expert can observe in a key step; ``weight`` is its severity in the score."""

    id: str
    name: str
    category: str
    weight: float
    feedback: str
    kinematic_effect: str | None = None


@dataclass(frozen=True)
class KeyStep:
    """A key step of an action, in one phase, with the error types judged in it."""

    id: str
    name: str
    phase: str
    errors: tuple[ErrorType, ...]


@dataclass(frozen=True)
class Action:
    """One exercise: its muscles (16 EMG channels) and its key steps in execution order."""

    id: str
    name: str
    equipment: str
    family: str
    main_muscles: tuple[str, str]
    emg_muscles: tuple[str, ...]
    key_steps: tuple[KeyStep, ...]

    @property
    def emg_channels(self) -> tuple[str, ...]:
        """The 16 EMG channel names: ``muscle1_L, muscle1_R, muscle2_L, ...``."""
        return tuple(f"{m}_{side}" for m in self.emg_muscles for side in ("L", "R"))

    @property
    def errors(self) -> tuple[ErrorType, ...]:
        """All error types of the action, in key-step order."""
        return tuple(e for k in self.key_steps for e in k.errors)

    def key_step_of(self, error_id: str) -> KeyStep:
        """The key step an error type belongs to (KeyError naming the action if unknown)."""
        for step in self.key_steps:
            if any(e.id == error_id for e in step.errors):
                return step
        raise KeyError(f"action {self.id}: unknown error type {error_id!r}")


@dataclass(frozen=True)
class FitnessKnowledgeGraph:
    """All actions of a dataset. Lookups raise KeyError naming what was asked for."""

    actions: tuple[Action, ...]
    version: int = FKG_VERSION

    def __post_init__(self) -> None:
        problems = _validate(self)
        if problems:
            raise ValueError("invalid Fitness Knowledge Graph: " + "; ".join(problems))

    @property
    def action_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.actions)

    def action(self, action_id: str) -> Action:
        for a in self.actions:
            if a.id == action_id:
                return a
        raise KeyError(f"unknown action {action_id!r}; the FKG has {', '.join(self.action_ids)}")

    def key_step(self, action_id: str, key_step_id: str) -> KeyStep:
        action = self.action(action_id)
        for step in action.key_steps:
            if step.id == key_step_id:
                return step
        raise KeyError(f"action {action_id}: unknown key step {key_step_id!r}")

    def error(self, action_id: str, error_id: str) -> ErrorType:
        for e in self.action(action_id).errors:
            if e.id == error_id:
                return e
        raise KeyError(f"action {action_id}: unknown error type {error_id!r}")

    def total_weight(self, action_id: str) -> float:
        """Sum of the weights of all error types of an action (the score's denominator)."""
        return float(sum(e.weight for e in self.action(action_id).errors))


def default_fkg() -> FitnessKnowledgeGraph:
    """The built-in FKG: 20 actions (A01-A10 barbell, A11-A20 dumbbell) in 10 exercise families."""
    actions = []
    for action_id, name, equipment, family, muscles in ACTIONS:
        spec = FAMILIES[family]
        load = "the bar" if equipment == "barbell" else "the dumbbells"
        emg = tuple(muscles or spec["muscles"])
        steps, n_err = [], 0
        for k, (step_name, phase, rows) in enumerate(spec["steps"], start=1):
            errors = []
            for err_name, category, weight, effect, feedback in rows:
                n_err += 1
                errors.append(
                    ErrorType(
                        f"{action_id}_E{n_err}", err_name, category, float(weight), feedback.format(load=load), effect
                    )
                )
            steps.append(KeyStep(f"{action_id}_K{k}", step_name, phase, tuple(errors)))
        actions.append(Action(action_id, name, equipment, family, (emg[0], emg[1]), emg, tuple(steps)))
    return FitnessKnowledgeGraph(tuple(actions))


def fkg_to_dict(fkg: FitnessKnowledgeGraph) -> dict[str, Any]:
    """The fkg.json structure (plain JSON types, deterministic order)."""
    return {
        "version": fkg.version,
        "actions": [
            {
                "id": a.id,
                "name": a.name,
                "equipment": a.equipment,
                "family": a.family,
                "main_muscles": list(a.main_muscles),
                "emg_muscles": list(a.emg_muscles),
                "key_steps": [
                    {
                        "id": k.id,
                        "name": k.name,
                        "phase": k.phase,
                        "errors": [
                            {
                                "id": e.id,
                                "name": e.name,
                                "category": e.category,
                                "weight": e.weight,
                                "feedback": e.feedback,
                                "kinematic_effect": e.kinematic_effect,
                            }
                            for e in k.errors
                        ],
                    }
                    for k in a.key_steps
                ],
            }
            for a in fkg.actions
        ],
    }


def fkg_from_dict(data: Mapping[str, Any], *, source: Path | str | None = None) -> FitnessKnowledgeGraph:
    """Build and validate an FKG from the fkg.json structure.

    Raises
    ------
    InputFileError
        Naming the field (``actions[2].key_steps[0].errors[1].weight``) and ``source`` if given.
    """
    try:
        if not isinstance(data, Mapping):
            raise _FieldError("", "top level must be an object")
        version = _get(data, "version", int, "")
        if version != FKG_VERSION:
            raise _FieldError("version", f"FKG version {version} is not supported (expected {FKG_VERSION})")
        raw_actions = _get(data, "actions", list, "")
        actions = tuple(_action_from(a, f"actions[{i}]") for i, a in enumerate(raw_actions))
        problems = _validate_actions(actions)
        if problems:
            raise _FieldError("actions", "; ".join(problems))
    except _FieldError as exc:
        raise InputFileError(f"fkg: {exc}", path=source) from None
    return FitnessKnowledgeGraph(actions, version)


def write_fkg(path: Path | str, fkg: FitnessKnowledgeGraph | None = None) -> Path:
    """Write ``fkg`` (default: ``default_fkg()``) as fkg.json, atomically (temp file + rename)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    text = json.dumps(fkg_to_dict(fkg if fkg is not None else default_fkg()), indent=2) + "\n"
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read_fkg(path: Path | str) -> FitnessKnowledgeGraph:
    """Read and validate an fkg.json file."""
    source = Path(path)
    if not source.is_file():
        raise MissingInputError("fkg.json not found", path=source)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"fkg: not valid JSON: {exc}", path=source) from exc
    fkg = fkg_from_dict(data, source=source)
    logger.debug("read FKG with %d actions from %s", len(fkg.actions), source)
    return fkg


class _FieldError(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)


def _get(obj: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(obj, Mapping):
        raise _FieldError(where, "must be an object")
    field = f"{where}.{key}" if where else key
    if key not in obj:
        raise _FieldError(field, "missing field")
    value = obj[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _FieldError(field, f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def _action_from(obj: Any, where: str) -> Action:
    steps = []
    for k, s in enumerate(_get(obj, "key_steps", list, where)):
        sw = f"{where}.key_steps[{k}]"
        errors = []
        for j, e in enumerate(_get(s, "errors", list, sw)):
            ew = f"{sw}.errors[{j}]"
            effect = e.get("kinematic_effect") if isinstance(e, Mapping) else None
            if effect is not None and effect not in KINEMATIC_EFFECTS:
                raise _FieldError(f"{ew}.kinematic_effect", f"{effect!r} is not one of {', '.join(KINEMATIC_EFFECTS)}")
            errors.append(
                ErrorType(
                    _get(e, "id", str, ew),
                    _get(e, "name", str, ew),
                    _get(e, "category", str, ew),
                    _get(e, "weight", float, ew),
                    _get(e, "feedback", str, ew),
                    effect,
                )
            )
        steps.append(
            KeyStep(_get(s, "id", str, sw), _get(s, "name", str, sw), _get(s, "phase", str, sw), tuple(errors))
        )
    main = tuple(_get(obj, "main_muscles", list, where))
    if len(main) != 2:
        raise _FieldError(f"{where}.main_muscles", f"expected 2 muscles, got {len(main)}")
    return Action(
        _get(obj, "id", str, where),
        _get(obj, "name", str, where),
        _get(obj, "equipment", str, where),
        _get(obj, "family", str, where),
        (str(main[0]), str(main[1])),
        tuple(str(m) for m in _get(obj, "emg_muscles", list, where)),
        tuple(steps),
    )


def _validate(fkg: FitnessKnowledgeGraph) -> list[str]:
    return _validate_actions(fkg.actions)


def _validate_actions(actions: tuple[Action, ...]) -> list[str]:
    """Every problem found, each naming the action/key step/error (collected, raised once)."""
    problems: list[str] = []
    ids = [a.id for a in actions]
    if not actions:
        problems.append("no actions")
    if len(set(ids)) != len(ids):
        problems.append(f"duplicate action ids {sorted({i for i in ids if ids.count(i) > 1})}")
    for a in actions:
        problems.extend(f"action {a.id}: {p}" for p in _action_problems(a))
    return problems


def _action_problems(a: Action) -> list[str]:
    out: list[str] = []
    if not _ACTION_ID.match(a.id):
        out.append("id must look like 'A01'")
    if a.equipment not in EQUIPMENT:
        out.append(f"equipment {a.equipment!r} is not one of {EQUIPMENT}")
    if len(a.emg_muscles) != _N_EMG_MUSCLES or len(set(a.emg_muscles)) != _N_EMG_MUSCLES:
        out.append(f"emg_muscles must be {_N_EMG_MUSCLES} distinct names, got {list(a.emg_muscles)}")
    out.extend(f"emg muscle {m!r} is not snake_case" for m in a.emg_muscles if not _MUSCLE.match(m))
    out.extend(
        f"emg muscle {m!r} is longer than {MAX_MUSCLE_NAME_CHARS} characters (channel '{m}_L' would not fit "
        "a 16-character EDF/BDF label; use a short name such as 'vastus_lat')"
        for m in a.emg_muscles
        if len(m) > MAX_MUSCLE_NAME_CHARS
    )
    if tuple(a.main_muscles) != tuple(a.emg_muscles[:2]):
        out.append(f"main_muscles {list(a.main_muscles)} must be the first two emg_muscles")
    phases = [k.phase for k in a.key_steps]
    out.extend(
        f"key step {k.id}: phase {k.phase!r} is not one of {PHASES}" for k in a.key_steps if k.phase not in PHASES
    )
    if set(phases) != set(PHASES):
        out.append(f"key steps must cover all phases {PHASES}, got {sorted(set(phases))}")
    elif not _in_execution_order(phases):
        out.append(f"key steps must run preparation, then one movement phase, then the other; got {phases}")
    step_ids = [k.id for k in a.key_steps]
    error_ids = [e.id for e in a.errors]
    for kind, seen in (("key step", step_ids), ("error", error_ids)):
        if len(set(seen)) != len(seen):
            out.append(f"duplicate {kind} ids {sorted({i for i in seen if seen.count(i) > 1})}")
        out.extend(f"{kind} id {i!r} must start with '{a.id}_'" for i in seen if not i.startswith(f"{a.id}_"))
    for e in a.errors:
        if e.category not in CATEGORY_WEIGHTS:
            out.append(f"error {e.id}: category {e.category!r} is not one of {list(CATEGORY_WEIGHTS)}")
            continue
        low, high = CATEGORY_WEIGHTS[e.category]
        if not low <= e.weight <= high:
            out.append(f"error {e.id}: weight {e.weight} outside [{low}, {high}] for category {e.category!r}")
    if not a.errors:
        out.append("has no error types (the score would divide by zero)")
    return out


def _in_execution_order(phases: list[str]) -> bool:
    """preparation+, then a block of one movement phase, then a block of the other."""
    blocks = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    return len(blocks) == 3 and blocks[0] == "preparation"
