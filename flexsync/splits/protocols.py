"""Train/test split protocols for the repetition samples, and the checks that prove their promises.

A model that scores a repetition must be judged on repetitions it has not seen, and "not seen"
means different things: another repetition (vanilla), another person (cross_subject), another
camera (cross_view) or another skill level (cross_skill). Each protocol here makes one promise
and :func:`check_split` verifies it on the result, so a split is never trusted on faith.

Every split is a pure function of the samples table (sorted by ``sample_id`` first, so the input
row order does not matter) and an integer seed fed to one ``numpy.random.Generator``. The result
has the columns of the store's ``splits.parquet`` training file (docs/export-flex.md): ``protocol``, ``seed``,
``sample_id``, ``side`` ("train"/"test") and ``views`` (the views a model may use on that side).

Promises:

- vanilla: random per action; every action with >= 2 samples on both sides; test count per
  action within +-1 of ``test_fraction`` x its samples.
- cross_subject: no subject on both sides; every action done by >= 2 subjects on both sides
  (when jointly possible; a warning names the actions otherwise); test count per action within
  one subject's share of the target; each skill level within +-1 subject of its proportional
  share when possible. A random subject set (from the seed) is improved by single-subject moves
  only until it keeps these promises, so different seeds give different valid sets; when no
  start gets there, the set with the smallest deviation wins.
- cross_view: every sample on both sides, with disjoint view sets (default train cam1-cam3,
  test cam4 + phone).
- cross_skill: train on some skill levels, test on the others (default test = novice); no
  subject or skill on both sides; every action with samples on both skill groups on both sides.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import polars as pl

from flexsync.storage.store import Store

__all__ = [
    "DEFAULT_TEST_SKILLS",
    "DEFAULT_TEST_VIEWS",
    "DEFAULT_VIEWS",
    "PROTOCOLS",
    "SIDES",
    "SPLIT_SCHEMA",
    "check_split",
    "make_splits",
    "write_splits",
]

logger = logging.getLogger(__name__)

PROTOCOLS = ("vanilla", "cross_subject", "cross_view", "cross_skill")
SIDES = ("train", "test")
DEFAULT_VIEWS = ("cam1", "cam2", "cam3", "cam4", "phone")
DEFAULT_TEST_VIEWS = ("cam4", "phone")
DEFAULT_TEST_SKILLS = ("novice",)
SPLIT_SCHEMA = pl.Schema(
    {
        "protocol": pl.String,
        "seed": pl.Int64,
        "sample_id": pl.String,
        "side": pl.String,
        "views": pl.List(pl.String),
    }
)
_REQUIRED = ("sample_id", "subject", "skill", "action")
# cross_subject search: random starts, each refined by single-subject moves until no move helps.
_N_STARTS = 16
_MAX_MOVES = 200
_MISSING_ACTION_COST = 1e6
_SKILL_WEIGHT = 0.1


def make_splits(
    samples: pl.DataFrame,
    *,
    protocol: str,
    seed: int,
    test_fraction: float = 0.25,
    views: Sequence[str] = DEFAULT_VIEWS,
    test_views: Sequence[str] = DEFAULT_TEST_VIEWS,
    test_skills: Sequence[str] = DEFAULT_TEST_SKILLS,
) -> pl.DataFrame:
    """Split ``samples`` into train and test sides by ``protocol``, deterministically from ``seed``.

    Parameters
    ----------
    samples : pl.DataFrame
        One row per sample with at least ``sample_id``, ``subject``, ``skill``, ``action``
        (the samples table or the sample index). Row order does not matter.
    protocol : {"vanilla", "cross_subject", "cross_view", "cross_skill"}
    seed : int
        Seeds the one ``numpy.random.Generator`` used (cross_view and cross_skill use no randomness).
    test_fraction : float
        Target share of each action's samples on the test side (vanilla, cross_subject); default 0.25.
    views : sequence of str
        Views available to models; every side gets all of them except in cross_view.
    test_views : sequence of str
        cross_view only: the views of the test side; the train side gets the other ``views``.
    test_skills : sequence of str
        cross_skill only: skill levels on the test side; the other levels train.

    Returns
    -------
    pl.DataFrame
        Columns of :data:`SPLIT_SCHEMA`, sorted by (sample_id, side). One row per sample, two
        (one per side) for cross_view.

    Raises
    ------
    ValueError
        Unknown protocol, missing columns, duplicate sample ids, or a protocol that cannot split
        these samples (one subject for cross_subject, a skill group with no samples, ...).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown split protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    table = _prepare(samples)
    views = _check_views(views, "views")
    rng = np.random.default_rng(seed)
    if protocol == "vanilla":
        test = _vanilla_test(table, rng, test_fraction)
    elif protocol == "cross_subject":
        test = _cross_subject_test(table, rng, test_fraction)
    elif protocol == "cross_skill":
        test = _cross_skill_test(table, test_skills)
    else:
        return _cross_view(table, seed, views, test_views)
    ids = table.get_column("sample_id").to_list()
    out = pl.DataFrame(
        {
            "protocol": [protocol] * len(ids),
            "seed": [seed] * len(ids),
            "sample_id": ids,
            "side": ["test" if t else "train" for t in test],
            "views": [list(views)] * len(ids),
        },
        schema=SPLIT_SCHEMA,
    )
    _log_summary(out)
    return out


def check_split(
    splits: pl.DataFrame,
    samples: pl.DataFrame,
    *,
    test_fraction: float = 0.25,
    count_tolerance: int = 1,
) -> list[str]:
    """Problems with one split (one protocol and seed) of ``samples``; empty when every promise holds.

    Checks the columns, that every sample is present exactly once (twice, one per side, for
    cross_view) and nothing else, then the protocol's promises (module docstring): no subject,
    view or skill leakage, actions on both sides, and per-action test counts within
    ``count_tolerance`` of ``test_fraction`` x n (vanilla) or within one subject's share
    (cross_subject).
    """
    missing = [c for c in SPLIT_SCHEMA.names() if c not in splits.columns]
    if missing:
        return [f"splits: missing columns {missing}"]
    keys = splits.select("protocol", "seed").unique()
    if keys.height != 1:
        return [f"splits: expected one protocol and seed, got {keys.sort('protocol', 'seed').rows()}"]
    protocol = keys.item(0, "protocol")
    if protocol not in PROTOCOLS:
        return [f"splits: unknown protocol {protocol!r}"]
    table = _prepare(samples)
    problems = _check_membership(splits, table, protocol)
    if problems:
        return problems
    joined = splits.join(table, on="sample_id", how="left")
    if protocol == "cross_view":
        return _check_cross_view(splits)
    problems += _check_views_same(splits)
    if protocol in ("cross_subject", "cross_skill"):
        problems += _check_no_leak(joined, "subject")
    if protocol == "cross_skill":
        problems += _check_no_leak(joined, "skill")
    problems += _check_actions_both_sides(joined, protocol)
    if protocol in ("vanilla", "cross_subject"):
        problems += _check_stratified(joined, protocol, test_fraction, count_tolerance)
    return problems


def write_splits(
    store: Store,
    *,
    protocols: Sequence[str] = PROTOCOLS,
    seeds: Sequence[int] = (0,),
    test_fraction: float = 0.25,
) -> pl.DataFrame:
    """Make every (protocol, seed) split of the store's sample index and write its ``splits.parquet``.

    Each split is checked with :func:`check_split`; broken promises (only possible where the
    data makes them impossible, which :func:`make_splits` already warned about) are logged as
    warnings. The file is replaced atomically; rows are sorted by (protocol, seed, sample_id, side).

    Raises
    ------
    MissingInputError
        If the sample index does not exist yet.
    """
    index = store.read_parquet(store.training_path("sample_index.parquet"), what="sample_index")
    parts = []
    for protocol in protocols:
        for seed in seeds:
            try:
                split = make_splits(index, protocol=protocol, seed=int(seed), test_fraction=test_fraction)
            except ValueError as error:
                # A protocol the data cannot support (one subject: no cross-subject split) is left
                # out with a warning; the others are still written.
                logger.warning("split %s seed %d not made: %s", protocol, seed, error)
                continue
            for problem in check_split(split, index, test_fraction=test_fraction):
                logger.warning("split %s seed %d: %s", protocol, seed, problem)
            parts.append(split)
    if not parts:
        raise ValueError(f"no split protocol could be made from {index.height} samples: {', '.join(protocols)}")
    out = pl.concat(parts).sort("protocol", "seed", "sample_id", "side")
    path = store.write_parquet(store.training_path("splits.parquet"), out)
    logger.info("wrote %d split rows (%d protocols x %d seeds) to %s", out.height, len(protocols), len(seeds), path)
    return out


# ---------------------------------------------------------------- the protocols


def _vanilla_test(table: pl.DataFrame, rng: np.random.Generator, test_fraction: float) -> np.ndarray:
    """Per action (sorted), shuffle its samples and put round(f x n) of them, at least 1, on test."""
    test = np.zeros(table.height, dtype=bool)
    actions = table.get_column("action").to_numpy()
    for action in sorted(set(actions.tolist())):
        rows = np.flatnonzero(actions == action)
        n = rows.size
        if n < 2:
            logger.warning("vanilla split: action %s has %d sample, kept on the train side only", action, n)
            continue
        n_test = min(max(_round_half_up(test_fraction * n), 1), n - 1)
        test[rng.permutation(rows)[:n_test]] = True
    return test


def _cross_subject_test(table: pl.DataFrame, rng: np.random.Generator, test_fraction: float) -> np.ndarray:
    """Choose test subjects: multi-start local search minimising per-action count deviations."""
    subjects = sorted(set(table.get_column("subject").to_list()))
    if len(subjects) < 2:
        raise ValueError(f"cross_subject split needs at least 2 subjects, got {subjects}")
    actions = sorted(set(table.get_column("action").to_list()))
    s_idx = np.searchsorted(subjects, table.get_column("subject").to_numpy())
    a_idx = np.searchsorted(actions, table.get_column("action").to_numpy())
    counts = np.zeros((len(subjects), len(actions)), dtype=np.float64)
    np.add.at(counts, (s_idx, a_idx), 1.0)
    skill_of = dict(zip(table.get_column("subject").to_list(), table.get_column("skill").to_list(), strict=True))
    skills = sorted(set(skill_of.values()))
    skill_onehot = np.array([[skill_of[s] == k for k in skills] for s in subjects], dtype=np.float64)
    cost = _SubjectSetCost(counts, skill_onehot, test_fraction)

    k0 = min(max(_round_half_up(test_fraction * len(subjects)), 1), len(subjects) - 1)
    # Random start, improved only until it keeps every promise: the result stays a random draw
    # among good subject sets (the seed matters), not the one optimum every seed would find.
    results = []
    for _ in range(_N_STARTS):
        start = np.zeros(len(subjects), dtype=bool)
        start[rng.permutation(len(subjects))[:k0]] = True
        mask, value = _local_search(start, cost)
        if cost.acceptable(mask):
            results = [(mask, value)]
            break
        results.append((mask, value))
    best_mask = min(results, key=lambda r: r[1])[0]  # first of the lowest costs: deterministic
    uncovered = [actions[a] for a in cost.uncovered(best_mask)]
    if uncovered:
        logger.warning(
            "cross_subject split: actions %s cannot be on both sides with any subject set found "
            "(their subjects overlap too much); they stay on one side",
            ", ".join(uncovered),
        )
    test_subjects = {subjects[i] for i in np.flatnonzero(best_mask)}
    return np.array([s in test_subjects for s in table.get_column("subject").to_list()], dtype=bool)


class _SubjectSetCost:
    """Cost of a test-subject mask: uncovered actions >> squared per-action share error > skill balance."""

    def __init__(self, counts: np.ndarray, skill_onehot: np.ndarray, test_fraction: float) -> None:
        self.counts = counts
        n_per_action = counts.sum(axis=0)
        self.n_per_action = np.maximum(n_per_action, 1.0)
        self.target = test_fraction * n_per_action
        self.promised = (counts > 0).sum(axis=0) >= 2
        self.skill_onehot = skill_onehot
        self.skill_target = test_fraction * skill_onehot.sum(axis=0)
        self.n_subjects = counts.shape[0]
        self.subject_share = np.maximum(counts.max(axis=0), 1.0)

    def of_many(self, masks: np.ndarray) -> np.ndarray:
        """Cost of each row of a (M, S) boolean mask array."""
        m = masks.astype(np.float64)
        test = m @ self.counts
        train = (1.0 - m) @ self.counts
        uncovered = ((test == 0) | (train == 0)) & self.promised
        share = ((test - self.target) / self.n_per_action) ** 2
        skill = ((m @ self.skill_onehot - self.skill_target) / self.n_subjects) ** 2
        return _MISSING_ACTION_COST * uncovered.sum(axis=1) + share.sum(axis=1) + _SKILL_WEIGHT * skill.sum(axis=1)

    def acceptable(self, mask: np.ndarray) -> bool:
        """Promises kept: actions covered, each action within one subject's share, each skill within +-1 subject."""
        m = mask.astype(np.float64)
        if self.uncovered(mask).size:
            return False
        if np.any(np.abs(m @ self.counts - self.target) > self.subject_share):
            return False
        return bool(np.all(np.abs(m @ self.skill_onehot - self.skill_target) <= 1.0))

    def uncovered(self, mask: np.ndarray) -> np.ndarray:
        m = mask.astype(np.float64)
        test, train = m @ self.counts, (1.0 - m) @ self.counts
        return np.flatnonzero(((test == 0) | (train == 0)) & self.promised)


def _local_search(mask: np.ndarray, cost: _SubjectSetCost) -> tuple[np.ndarray, float]:
    """Best-improvement moves (flip one subject, or swap a test and a train subject) until acceptable or stuck."""
    current = float(cost.of_many(mask[None])[0])
    n = mask.size
    for _ in range(_MAX_MOVES):
        if cost.acceptable(mask):
            break
        flips = np.repeat(mask[None], n, axis=0)
        flips[np.arange(n), np.arange(n)] ^= True
        test_i, train_j = np.flatnonzero(mask), np.flatnonzero(~mask)
        swaps = np.repeat(mask[None], test_i.size * train_j.size, axis=0)
        ii, jj = np.meshgrid(test_i, train_j, indexing="ij")
        rows = np.arange(swaps.shape[0])
        swaps[rows, ii.ravel()] = False
        swaps[rows, jj.ravel()] = True
        candidates = np.concatenate([flips, swaps])
        sizes = candidates.sum(axis=1)
        candidates = candidates[(sizes >= 1) & (sizes <= n - 1)]
        values = cost.of_many(candidates)
        best = int(np.argmin(values))  # first minimum: deterministic tie-break
        if values[best] >= current - 1e-12:
            break
        mask, current = candidates[best], float(values[best])
    return mask, current


def _cross_skill_test(table: pl.DataFrame, test_skills: Sequence[str]) -> np.ndarray:
    test_skills = tuple(test_skills)
    present = sorted(set(table.get_column("skill").to_list()))
    if not test_skills or not set(test_skills) & set(present):
        raise ValueError(
            f"cross_skill split: test skills {list(test_skills)} have no samples; skills present: {present}"
        )
    if not set(present) - set(test_skills):
        raise ValueError(
            f"cross_skill split: every skill present ({present}) is a test skill; nothing left to train on"
        )
    return table.get_column("skill").is_in(list(test_skills)).to_numpy()


def _cross_view(table: pl.DataFrame, seed: int, views: tuple[str, ...], test_views: Sequence[str]) -> pl.DataFrame:
    test_views = _check_views(test_views, "test_views")
    unknown = [v for v in test_views if v not in views]
    if unknown:
        raise ValueError(f"cross_view split: test views {unknown} are not among the views {list(views)}")
    train_views = [v for v in views if v not in test_views]
    if not train_views:
        raise ValueError(f"cross_view split: test views {list(test_views)} leave no view to train on")
    ordered_test = [v for v in views if v in test_views]
    ids = table.get_column("sample_id").to_list()
    n = len(ids)
    out = pl.DataFrame(
        {
            "protocol": ["cross_view"] * (2 * n),
            "seed": [seed] * (2 * n),
            "sample_id": [i for i in ids for _ in SIDES],
            "side": ["test", "train"] * n,
            "views": [v for _ in ids for v in (ordered_test, train_views)],
        },
        schema=SPLIT_SCHEMA,
    )
    _log_summary(out)
    return out


# ---------------------------------------------------------------- checks


def _check_membership(splits: pl.DataFrame, table: pl.DataFrame, protocol: str) -> list[str]:
    problems = []
    bad_sides = sorted(set(splits.get_column("side").to_list()) - set(SIDES))
    if bad_sides:
        problems.append(f"splits: side values {bad_sides} are not train/test")
    known = set(table.get_column("sample_id").to_list())
    unknown = sorted(set(splits.get_column("sample_id").to_list()) - known)
    if unknown:
        problems.append(f"splits: {len(unknown)} sample ids not in the samples table, e.g. {unknown[:5]}")
    per = splits.group_by("sample_id").agg(pl.len().alias("n"), pl.col("side").n_unique().alias("n_sides"))
    expected = 2 if protocol == "cross_view" else 1
    wrong = per.filter((pl.col("n") != expected) | (pl.col("n_sides") != expected)).sort("sample_id")
    if wrong.height:
        problems.append(
            f"{protocol}: {wrong.height} samples are not exactly once on "
            f"{'each side' if expected == 2 else 'one side'}, "
            f"e.g. {wrong.get_column('sample_id').head(5).to_list()}"
        )
    absent = sorted(known - set(per.get_column("sample_id").to_list()))
    if absent:
        problems.append(f"{protocol}: {len(absent)} samples are in no side, e.g. {absent[:5]}")
    if splits.get_column("views").list.len().min() == 0:
        problems.append(f"{protocol}: some rows have no views")
    return problems


def _side_views(splits: pl.DataFrame) -> dict[str, list[tuple[str, ...]]]:
    out = {}
    for side in SIDES:
        lists = splits.filter(pl.col("side") == side).get_column("views").to_list()
        out[side] = sorted({tuple(v) for v in lists})
    return out


def _check_views_same(splits: pl.DataFrame) -> list[str]:
    sets = {tuple(v) for v in splits.get_column("views").to_list()}
    return [] if len(sets) <= 1 else [f"views differ between rows ({sorted(sets)}); only cross_view may restrict them"]


def _check_cross_view(splits: pl.DataFrame) -> list[str]:
    by_side = _side_views(splits)
    problems = [
        f"cross_view: {side} rows use {len(sets)} different view sets {sets}; expected one"
        for side, sets in by_side.items()
        if len(sets) != 1
    ]
    if problems:
        return problems
    train, test = set(by_side["train"][0]), set(by_side["test"][0])
    if train & test:
        problems.append(
            f"cross_view: views {sorted(train & test)} are on both sides (train {sorted(train)}, test {sorted(test)})"
        )
    return problems


def _check_no_leak(joined: pl.DataFrame, column: str) -> list[str]:
    both = (
        joined.group_by(column)
        .agg(pl.col("side").n_unique().alias("n_sides"))
        .filter(pl.col("n_sides") > 1)
        .get_column(column)
        .sort()
        .to_list()
    )
    return [f"{column} leakage: {both} have samples on both sides"] if both else []


def _check_actions_both_sides(joined: pl.DataFrame, protocol: str) -> list[str]:
    group_col = {"vanilla": "sample_id", "cross_subject": "subject", "cross_skill": "skill"}[protocol]
    stats = joined.group_by("action").agg(
        pl.col(group_col).n_unique().alias("n_units"),
        (pl.col("side") == "test").sum().alias("n_test"),
        (pl.col("side") == "train").sum().alias("n_train"),
    )
    if protocol == "cross_skill":
        # promised where the action has samples of a train skill and of a test skill
        test_skills = set(joined.filter(pl.col("side") == "test").get_column("skill").to_list())
        per_action = joined.group_by("action").agg(pl.col("skill").unique().alias("skills"))
        promised = {a for a, s in per_action.iter_rows() if set(s) & test_skills and set(s) - test_skills}
    else:
        promised = set(stats.filter(pl.col("n_units") >= 2).get_column("action").to_list())
    one_sided = stats.filter(((pl.col("n_test") == 0) | (pl.col("n_train") == 0)) & pl.col("action").is_in(promised))
    bad = sorted(one_sided.get_column("action").to_list())
    return [f"{protocol}: actions {bad} are not on both sides"] if bad else []


def _check_stratified(joined: pl.DataFrame, protocol: str, test_fraction: float, count_tolerance: int) -> list[str]:
    per_action = joined.group_by("action").agg(
        pl.len().alias("n"),
        (pl.col("side") == "test").sum().alias("n_test"),
        pl.col("subject").value_counts().struct.field("count").max().alias("max_subject"),
    )
    problems = []
    for action, n, n_test, max_subject in per_action.sort("action").iter_rows():
        if n < 2:
            continue
        tolerance = count_tolerance if protocol == "vanilla" else max(count_tolerance, int(max_subject))
        target = test_fraction * n
        if abs(n_test - target) > tolerance + 1e-9:
            problems.append(
                f"{protocol}: action {action} has {n_test} of {n} samples on test, target {target:.2f} +- {tolerance}"
            )
    return problems


# ---------------------------------------------------------------- helpers


def _prepare(samples: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in _REQUIRED if c not in samples.columns]
    if missing:
        raise ValueError(f"samples table lacks columns {missing}; needs {list(_REQUIRED)}")
    table = samples.select(_REQUIRED).sort("sample_id")
    if table.height == 0:
        raise ValueError("samples table is empty: nothing to split")
    dup = table.filter(pl.col("sample_id").is_duplicated()).get_column("sample_id").unique().sort()
    if dup.len():
        raise ValueError(f"samples table has duplicate sample ids, e.g. {dup.head(5).to_list()}")
    return table


def _check_views(views: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(views, str):
        raise ValueError(f"{what} must be a sequence of view names, got the string {views!r}")
    views = tuple(views)
    if not views or len(set(views)) != len(views):
        raise ValueError(f"{what} must be non-empty and without duplicates, got {list(views)}")
    return views


def _round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def _log_summary(out: pl.DataFrame) -> None:
    counts = dict(out.group_by("side").len().sort("side").iter_rows())
    logger.info(
        "split %s seed %d: %d train, %d test rows",
        out.item(0, "protocol"),
        out.item(0, "seed"),
        counts.get("train", 0),
        counts.get("test", 0),
    )
