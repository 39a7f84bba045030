"""Per-class score ranges a consumer normalises raw scores with, and the check that scores fit them.

FLEX's training code (``utils/misc.py::normalize``) maps a raw expert score ``s`` of class ``c`` to
``(s - min_c) / (max_c - min_c) x score_range`` with ``(min_c, max_c)`` hard-coded from the real
FLEX data. A score outside its class's range gives a label outside ``[0, score_range]``, which the
regression tree's bins (``Group_helper``) do not cover. :func:`flex_score_ranges` is that table
(``flex_score_ranges.csv`` beside this module, source in its header); :func:`read_score_ranges`
reads a user's own table; :func:`score_range_problems` lists the samples whose score lies outside
the range of its class (the export refuses to write them, :class:`ScoreRangeError`).

The generator (:mod:`flexsync.synth`) draws scores inside the same table, so this module imports
nothing of flexsync but its errors.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from flexsync.errors import InputFileError, MissingInputError
from flexsync.quality import CheckOutcome, TableMeta

__all__ = [
    "FLEX_SCORE_RANGES_FILE",
    "SCORE_CHECK",
    "ScoreRangeError",
    "ScoreRanges",
    "describe_problems",
    "flex_normalize",
    "flex_score_ranges",
    "read_score_ranges",
    "score_check",
    "score_range_problems",
]

FLEX_SCORE_RANGES_FILE = Path(__file__).with_name("flex_score_ranges.csv")
SCORE_CHECK = "scores_in_consumer_ranges"  # the blocking check of the FLEX export
ScoreRanges = dict[int, tuple[float, float]]
ScoreRangesSource = str | Path | Mapping[Any, Any] | None

_ACTION_KEY = re.compile(r"^A(\d{2})$")
PROBLEM_SCHEMA = {
    "sample_id": pl.String,
    "action": pl.String,
    "class_idx": pl.Int64,
    "expert_score": pl.Float64,
    "range_min": pl.Float64,
    "range_max": pl.Float64,
    "problem": pl.String,
}


class ScoreRangeError(ValueError):
    """Raw scores outside the range their consumer normalises with; ``problems`` has one row per sample."""

    def __init__(self, message: str, problems: pl.DataFrame) -> None:
        super().__init__(message)
        self.problems = problems


@functools.cache
def _flex_table() -> tuple[tuple[int, float, float], ...]:
    ranges = _parse_csv(FLEX_SCORE_RANGES_FILE.read_text(encoding="utf-8"), FLEX_SCORE_RANGES_FILE)
    return tuple((c, lo, hi) for c, (lo, hi) in sorted(ranges.items()))


def flex_score_ranges() -> ScoreRanges:
    """FLEX's hard-coded per-class ranges ``{class: (min, max)}`` for classes 1-20 (a fresh dict)."""
    return {c: (lo, hi) for c, lo, hi in _flex_table()}


def flex_normalize(score: float, class_idx: int, ranges: Mapping[int, tuple[float, float]], upper: float) -> float:
    """FLEX's ``normalize``: ``(score - min) / (max - min) x upper`` with the range of ``class_idx``."""
    lo, hi = ranges[int(class_idx)]
    return (score - lo) / (hi - lo) * float(upper)


def read_score_ranges(source: ScoreRangesSource = None) -> ScoreRanges:
    """Per-class score ranges from ``source``: FLEX's table when None.

    ``source`` is a mapping (keys class numbers, ``"7"`` or action ids ``"A07"``; values
    ``(min, max)``), or a path to a CSV file (header with ``score_min``, ``score_max`` and
    ``class_idx`` or ``action``; lines starting with ``#`` are comments) or a JSON object of the
    same keys (the export's ``score_ranges.json`` works: its class and action keys agree).

    Raises
    ------
    MissingInputError
        The file does not exist.
    InputFileError
        The file cannot be parsed, or a range is not finite with min < max.
    ValueError
        A mapping with a bad key or range.
    """
    if source is None:
        return flex_score_ranges()
    if isinstance(source, Mapping):
        return _from_mapping(source, where="score ranges")
    path = Path(source)
    if not path.is_file():
        raise MissingInputError("score range table not found", path=path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object of class -> [min, max], got {type(data).__name__}")
            return _from_mapping(data, where=str(path))
        return _parse_csv(text, path)
    except (ValueError, KeyError, TypeError) as error:
        if isinstance(error, InputFileError):
            raise
        raise InputFileError(f"not a score range table: {error}", path=path) from None


def score_range_problems(scores: pl.DataFrame, ranges: Mapping[int, tuple[float, float]]) -> pl.DataFrame:
    """Samples whose raw score lies outside the range of its class (or whose class has no range).

    Parameters
    ----------
    scores : polars.DataFrame
        Columns ``sample_id``, ``class_idx``, ``expert_score`` (``action`` optional).
    ranges : mapping
        ``{class: (min, max)}``, inclusive.

    Returns
    -------
    polars.DataFrame
        sample_id, action, class_idx, expert_score, range_min, range_max (null when the class has
        no range), problem; empty when every score fits. Sorted by class, then sample id.
    """
    missing = [c for c in ("sample_id", "class_idx", "expert_score") if c not in scores.columns]
    if missing:
        raise ValueError(f"score table lacks column(s) {', '.join(missing)}")
    rows = []
    has_action = "action" in scores.columns
    columns = ["sample_id", "class_idx", "expert_score", *(["action"] if has_action else [])]
    for row in scores.select(columns).unique(maintain_order=True).iter_rows(named=True):
        class_idx, score = int(row["class_idx"]), float(row["expert_score"])
        action = row["action"] if has_action else f"A{class_idx:02d}"
        found = ranges.get(class_idx)
        if found is None:
            problem = f"class {class_idx} ({action}) has no score range in the consumer's table"
            lo = hi = None
        else:
            lo, hi = found
            if lo <= score <= hi:
                continue
            label = "below" if score < lo else "above"
            problem = f"score {score:g} is {label} class {class_idx}'s range [{lo:g}, {hi:g}]"
        rows.append(
            {
                "sample_id": row["sample_id"],
                "action": action,
                "class_idx": class_idx,
                "expert_score": score,
                "range_min": lo,
                "range_max": hi,
                "problem": f"sample {row['sample_id']}: {problem}",
            }
        )
    return pl.DataFrame(rows, schema=PROBLEM_SCHEMA).sort("class_idx", "sample_id")


def describe_problems(problems: pl.DataFrame, *, limit: int = 10) -> str:
    """One line naming the offending samples (the first ``limit``) and how many there are."""
    names = problems.get_column("sample_id").to_list()
    shown = "; ".join(problems.get_column("problem").head(limit).to_list())
    more = f" (and {len(names) - limit} more)" if len(names) > limit else ""
    return f"{len(names)} sample(s) outside the consumer's score ranges: {shown}{more}"


def score_check(problems: pl.DataFrame, *, ranges_source: str, n_checked: int) -> CheckOutcome:
    """The export's blocking check from :func:`score_range_problems` rows: passes when there are none.

    The description names the offending samples; the metadata holds them as a table.
    """
    if problems.height:
        description = f"{describe_problems(problems)} (ranges: {ranges_source}); nothing was exported"
    else:
        description = f"all {n_checked} exported raw scores lie inside their class's range (ranges: {ranges_source})"
    head = problems.select("sample_id", "class_idx", "expert_score", "range_min", "range_max").head(50)
    return CheckOutcome(
        name=SCORE_CHECK,
        passed=problems.height == 0,
        severity="error",
        description=description,
        metadata={
            "samples_outside": problems.height,
            "checked": n_checked,
            "ranges": ranges_source,
            "problems": TableMeta(tuple(head.columns), tuple(tuple(row) for row in head.iter_rows())),
        },
    )


# ---------------------------------------------------------------- parsing


def _class_of(key: Any) -> int:
    if isinstance(key, bool):
        raise ValueError(f"bad class key {key!r}")
    if isinstance(key, int):
        return key
    text = str(key).strip()
    match = _ACTION_KEY.match(text)
    if match:
        return int(match.group(1))
    if text.isdigit():
        return int(text)
    raise ValueError(f"bad class key {key!r}: use a class number (7, '7') or an action id ('A07')")


def _range(value: Any, what: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected [min, max], got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{what}: range [{lo}, {hi}] must be finite with min < max")
    return lo, hi


def _from_mapping(data: Mapping[Any, Any], *, where: str) -> ScoreRanges:
    out: ScoreRanges = {}
    for key, value in data.items():
        class_idx = _class_of(key)
        found = _range(value, f"{where}, class {class_idx}")
        if out.setdefault(class_idx, found) != found:
            raise ValueError(f"{where}: class {class_idx} has two different ranges {out[class_idx]} and {found}")
    if not out:
        raise ValueError(f"{where}: no score range")
    return out


def _parse_csv(text: str, path: Path) -> ScoreRanges:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    fields = set(reader.fieldnames or ())
    if not {"score_min", "score_max"} <= fields or not fields & {"class_idx", "action"}:
        raise InputFileError(
            f"CSV header {sorted(fields)} needs score_min, score_max and class_idx or action", path=path
        )
    data = {}
    for number, row in enumerate(reader, start=2):
        key = row.get("class_idx") or row.get("action")
        try:
            class_idx = _class_of(key)
            if class_idx in data:
                raise ValueError(f"row {number}: class {class_idx} is listed twice")
            data[class_idx] = _range((row["score_min"], row["score_max"]), f"row {number}")
        except ValueError as error:
            raise InputFileError(str(error), path=path) from None
    if not data:
        raise InputFileError("no score range rows", path=path)
    return data
