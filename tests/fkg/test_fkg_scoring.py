"""The FLEX score S = (1 - observed weight / total weight) x 100."""

from __future__ import annotations

import pytest

from flexsync.fkg import default_fkg, fkg_score


@pytest.fixture(scope="module")
def fkg():
    return default_fkg()


@pytest.mark.parametrize(
    ("action_id", "observed", "expected"),
    [
        ("A01", [], 100.0),
        ("A01", ["A01_E4"], (1.0 - 10.0 / 44.5) * 100.0),  # knee valgus, joint safety 10
        ("A01", ["A01_E1", "A01_E4"], (1.0 - 12.0 / 44.5) * 100.0),
        ("A16", ["A16_E2"], (1.0 - 6.5 / 32.5) * 100.0),  # shrugging, posture 6.5
        ("A16", ["A16_E1", "A16_E2", "A16_E3", "A16_E4", "A16_E5", "A16_E6"], 0.0),
        ("A06", ["A06_E2", "A06_E6"], (1.0 - 14.5 / 36.5) * 100.0),
    ],
)
def test_hand_computed_scores(fkg, action_id, observed, expected):
    assert fkg_score(fkg, action_id, observed) == expected


def test_known_values(fkg):
    assert fkg_score(fkg, "A01", ["A01_E4"]) == pytest.approx(77.52808988764045, abs=1e-12)
    assert fkg_score(fkg, "A16", ["A16_E2"]) == pytest.approx(80.0, abs=1e-12)
    assert fkg_score(fkg, "A06", ["A06_E2", "A06_E6"]) == pytest.approx(60.273972602739725, abs=1e-12)


def test_duplicates_and_order_do_not_matter(fkg):
    once = fkg_score(fkg, "A03", ["A03_E2", "A03_E5"])
    assert fkg_score(fkg, "A03", ["A03_E5", "A03_E2", "A03_E2", "A03_E5"]) == once
    assert fkg_score(fkg, "A03", iter(("A03_E2", "A03_E5"))) == once


def test_unknown_ids_raise(fkg):
    with pytest.raises(KeyError, match=r"action A01: unknown error type.*A02_E1"):
        fkg_score(fkg, "A01", ["A01_E1", "A02_E1"])
    with pytest.raises(KeyError, match="unknown action 'A21'"):
        fkg_score(fkg, "A21", [])
