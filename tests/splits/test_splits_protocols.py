"""Split protocols: every promise checked on generated tables of FLEX's size (no video, pure tables)."""

from __future__ import annotations

import logging

import numpy as np
import polars as pl
import pytest

from flexsync.errors import MissingInputError
from flexsync.splits import PROTOCOLS, SPLIT_SCHEMA, check_split, make_splits, write_splits
from flexsync.storage import Store

SKILLS = ("expert",) * 10 + ("amateur",) * 8 + ("novice",) * 20  # FLEX's 38 subjects


def _flex_table(
    seed: int, *, n_subjects: int = 38, n_actions: int = 20, reps: tuple[int, int] = (8, 13)
) -> pl.DataFrame:
    """Samples table: every subject does every action once, 8-12 repetitions each."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_subjects):
        for a in range(n_actions):
            for r in range(int(rng.integers(*reps))):
                key = f"S{s + 1:02d}_A{a + 1:02d}_T1"
                rows.append((f"{key}_R{r + 1:02d}", f"S{s + 1:02d}", SKILLS[s % len(SKILLS)], f"A{a + 1:02d}"))
    return pl.DataFrame(rows, schema=["sample_id", "subject", "skill", "action"], orient="row")


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return _flex_table(7)


def _joined(split: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    return split.join(table, on="sample_id")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_promises_hold_deterministic_and_order_free(table, protocol, seed) -> None:
    split = make_splits(table, protocol=protocol, seed=seed)
    assert split.schema == SPLIT_SCHEMA
    assert check_split(split, table) == []
    assert split.equals(make_splits(table, protocol=protocol, seed=seed))
    shuffled = table.sample(fraction=1.0, shuffle=True, seed=seed + 100)
    assert split.equals(make_splits(shuffled, protocol=protocol, seed=seed))
    assert split.height == table.height * (2 if protocol == "cross_view" else 1)


@pytest.mark.parametrize("protocol", ["vanilla", "cross_subject"])
def test_seed_changes_the_random_protocols(table, protocol) -> None:
    a = make_splits(table, protocol=protocol, seed=0).get_column("side")
    b = make_splits(table, protocol=protocol, seed=1).get_column("side")
    assert (a != b).sum() > 100


def test_vanilla_is_stratified_per_action(table) -> None:
    joined = _joined(make_splits(table, protocol="vanilla", seed=4, test_fraction=0.3), table)
    stats = joined.group_by("action").agg(pl.len().alias("n"), (pl.col("side") == "test").sum().alias("n_test"))
    for _, n, n_test in stats.iter_rows():
        assert n_test == int(np.floor(0.3 * n + 0.5))  # exact, within the promised +-1
    assert stats.height == 20


def test_vanilla_small_actions() -> None:
    table = pl.DataFrame(
        {
            "sample_id": ["x1", "y1", "y2", "z1", "z2", "z3"],
            "subject": ["S01"] * 6,
            "skill": ["expert"] * 6,
            "action": ["A01", "A02", "A02", "A03", "A03", "A03"],
        }
    )
    joined = _joined(make_splits(table, protocol="vanilla", seed=0), table)
    sides = dict(joined.group_by("action").agg(pl.col("side").sort()).sort("action").iter_rows())
    assert sides == {"A01": ["train"], "A02": ["test", "train"], "A03": ["test", "train", "train"]}
    assert check_split(make_splits(table, protocol="vanilla", seed=0), table) == []


def test_cross_subject_has_no_leak_and_balanced_shares(table) -> None:
    split = make_splits(table, protocol="cross_subject", seed=3)
    joined = _joined(split, table)
    per_subject = joined.group_by("subject").agg(pl.col("side").n_unique())
    assert per_subject.get_column("side").max() == 1
    shares = joined.group_by("action").agg((pl.col("side") == "test").mean()).get_column("side")
    assert shares.min() > 0.2 and shares.max() < 0.3  # one subject's share is ~1/38 = 0.026
    test_skills = joined.filter(pl.col("side") == "test").group_by("skill").agg(pl.col("subject").n_unique())
    counts = dict(test_skills.iter_rows())
    assert set(counts) == {"expert", "amateur", "novice"}
    assert counts["novice"] >= 4 and counts["expert"] >= 2  # about a quarter of 20 and of 10


def test_cross_subject_reports_actions_that_cannot_be_on_both_sides(caplog) -> None:
    # A01 by S1+S2, A02 by S1+S3, A03 by S2+S3: with two sides one pair must share a side
    pairs = {"A01": ("S1", "S2"), "A02": ("S1", "S3"), "A03": ("S2", "S3")}
    rows = [(f"{a}_{s}_{r}", s, "novice", a) for a, subj in pairs.items() for s in subj for r in range(4)]
    table = pl.DataFrame(rows, schema=["sample_id", "subject", "skill", "action"], orient="row")
    with caplog.at_level(logging.WARNING, logger="flexsync.splits.protocols"):
        split = make_splits(table, protocol="cross_subject", seed=0)
    assert "cannot be on both sides" in caplog.text
    problems = check_split(split, table)
    assert len(problems) == 1 and "not on both sides" in problems[0]


def test_cross_view_disjoint_views_all_samples_both_sides(table) -> None:
    split = make_splits(table, protocol="cross_view", seed=0)
    views = dict(split.group_by("side").agg(pl.col("views").first()).iter_rows())
    assert views == {"train": ["cam1", "cam2", "cam3"], "test": ["cam4", "phone"]}
    assert split.group_by("sample_id").len().get_column("len").unique().to_list() == [2]
    custom = make_splits(table, protocol="cross_view", seed=0, views=("cam1", "cam2", "phone"), test_views=("cam2",))
    views = dict(custom.group_by("side").agg(pl.col("views").first()).iter_rows())
    assert views == {"train": ["cam1", "phone"], "test": ["cam2"]}
    assert check_split(custom, table) == []
    with pytest.raises(ValueError, match=r"test views \['cam9'\] are not among the views"):
        make_splits(table, protocol="cross_view", seed=0, test_views=("cam9",))
    with pytest.raises(ValueError, match="leave no view to train on"):
        make_splits(table, protocol="cross_view", seed=0, views=("cam4", "phone"))


def test_cross_skill_sides(table) -> None:
    joined = _joined(make_splits(table, protocol="cross_skill", seed=0), table)
    assert set(joined.filter(pl.col("side") == "test").get_column("skill").unique()) == {"novice"}
    assert set(joined.filter(pl.col("side") == "train").get_column("skill").unique()) == {"expert", "amateur"}
    other = make_splits(table, protocol="cross_skill", seed=0, test_skills=("expert", "amateur"))
    assert set(_joined(other, table).filter(pl.col("side") == "train").get_column("skill").unique()) == {"novice"}
    assert check_split(other, table) == []
    with pytest.raises(ValueError, match=r"test skills \['elite'\] have no samples"):
        make_splits(table, protocol="cross_skill", seed=0, test_skills=("elite",))
    with pytest.raises(ValueError, match="nothing left to train on"):
        make_splits(table, protocol="cross_skill", seed=0, test_skills=("expert", "amateur", "novice"))


def _flip(split: pl.DataFrame, condition: pl.Expr) -> pl.DataFrame:
    flipped = pl.when(pl.col("side") == "test").then(pl.lit("train")).otherwise(pl.lit("test"))
    return split.with_columns(pl.when(condition).then(flipped).otherwise(pl.col("side")).alias("side"))


def test_check_split_catches_broken_promises(table) -> None:
    vanilla = make_splits(table, protocol="vanilla", seed=0)
    a01 = vanilla.filter(pl.col("sample_id").str.contains("_A01_"))
    a01_test = a01.filter(pl.col("side") == "test").get_column("sample_id").to_list()
    target = 0.25 * a01.height
    # move test samples of A01 to train: the largest move still within +-1 passes, one more fails
    k_inside = max(k for k in range(len(a01_test)) if abs(len(a01_test) - k - target) <= 1)
    inside = _flip(vanilla, pl.col("sample_id").is_in(a01_test[:k_inside]))
    assert k_inside >= 1 and check_split(inside, table) == []
    problems = check_split(_flip(vanilla, pl.col("sample_id").is_in(a01_test[: k_inside + 1])), table)
    assert len(problems) == 1 and problems[0].startswith("vanilla: action A01 has")

    cross = make_splits(table, protocol="cross_subject", seed=0)
    test_sample = cross.filter(pl.col("side") == "test").item(0, "sample_id")
    problems = check_split(_flip(cross, pl.col("sample_id") == test_sample), table)
    assert any(p.startswith("subject leakage: ['S") for p in problems)

    view = make_splits(table, protocol="cross_view", seed=0)
    leaky = view.with_columns(
        pl.when(pl.col("side") == "train").then(pl.lit(["cam1", "cam4"])).otherwise(pl.col("views")).alias("views")
    )
    assert check_split(leaky, table) == [
        "cross_view: views ['cam4'] are on both sides (train ['cam1', 'cam4'], test ['cam4', 'phone'])"
    ]

    dropped = vanilla.filter(pl.col("sample_id") != vanilla.item(0, "sample_id"))
    assert check_split(dropped, table)[0].startswith("vanilla: 1 samples are in no side")
    doubled = pl.concat([vanilla, vanilla.head(1)])
    assert "not exactly once on one side" in check_split(doubled, table)[0]
    mixed = pl.concat([vanilla, make_splits(table, protocol="vanilla", seed=1)])
    assert check_split(mixed, table)[0].startswith("splits: expected one protocol and seed")


def test_bad_inputs_are_refused(table) -> None:
    with pytest.raises(ValueError, match="unknown split protocol 'random'"):
        make_splits(table, protocol="random", seed=0)
    with pytest.raises(ValueError, match=r"lacks columns \['skill'\]"):
        make_splits(table.drop("skill"), protocol="vanilla", seed=0)
    with pytest.raises(ValueError, match="duplicate sample ids"):
        make_splits(pl.concat([table, table.head(1)]), protocol="vanilla", seed=0)
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\)"):
        make_splits(table, protocol="vanilla", seed=0, test_fraction=1.0)
    with pytest.raises(ValueError, match="needs at least 2 subjects"):
        make_splits(table.filter(pl.col("subject") == "S01"), protocol="cross_subject", seed=0)
    with pytest.raises(ValueError, match="must be a sequence of view names"):
        make_splits(table, protocol="vanilla", seed=0, views="cam1")


def test_write_splits_stores_every_protocol_and_seed(tmp_path) -> None:
    table = _flex_table(3, n_actions=2, reps=(2, 4))
    store = Store(tmp_path)
    store.write_parquet(
        store.training_path("sample_index.parquet"), table.with_columns(pl.lit(70.0).alias("expert_score"))
    )
    written = write_splits(store, seeds=(0, 1))
    path = store.training_path("splits.parquet")
    stored = pl.read_parquet(path)
    assert stored.equals(written) and stored.schema == SPLIT_SCHEMA
    assert stored.height == 2 * table.height * 5  # 2 seeds x (3 protocols once + cross_view twice)
    for protocol in PROTOCOLS:
        one = stored.filter((pl.col("protocol") == protocol) & (pl.col("seed") == 1))
        assert one.equals(make_splits(table, protocol=protocol, seed=1).sort("sample_id", "side"))
    first = path.read_bytes()
    write_splits(store, seeds=(0, 1))
    assert path.read_bytes() == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["sample_index.parquet", "splits.parquet"]
    with pytest.raises(MissingInputError, match=r"sample_index\.parquet not found: materialise sample_index first"):
        write_splits(Store(tmp_path / "nowhere"))
