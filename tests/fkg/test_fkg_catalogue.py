"""The default Fitness Knowledge Graph and its fkg.json format."""

from __future__ import annotations

import copy
import json
import re

import pytest

from flexsync.errors import InputFileError, MissingInputError
from flexsync.fkg import (
    CATEGORY_WEIGHTS,
    KINEMATIC_EFFECTS,
    PHASES,
    default_fkg,
    fkg_from_dict,
    fkg_to_dict,
    read_fkg,
    write_fkg,
)


@pytest.fixture(scope="module")
def fkg():
    return default_fkg()


def test_twenty_actions_ten_barbell_then_ten_dumbbell(fkg):
    assert fkg.action_ids == tuple(f"A{i:02d}" for i in range(1, 21))
    assert [a.equipment for a in fkg.actions] == ["barbell"] * 10 + ["dumbbell"] * 10
    assert len({a.name for a in fkg.actions}) == 20
    for a in fkg.actions:
        assert a.name.split()[0] == a.equipment.capitalize()


def test_ids_are_unique_and_numbered_per_action(fkg):
    all_ids = []
    for a in fkg.actions:
        assert [k.id for k in a.key_steps] == [f"{a.id}_K{i}" for i in range(1, len(a.key_steps) + 1)]
        assert [e.id for e in a.errors] == [f"{a.id}_E{i}" for i in range(1, len(a.errors) + 1)]
        all_ids += [k.id for k in a.key_steps] + [e.id for e in a.errors]
    assert len(all_ids) == len(set(all_ids))


def test_every_action_has_all_phases_in_execution_order(fkg):
    for a in fkg.actions:
        phases = [k.phase for k in a.key_steps]
        assert 3 <= len(phases) <= 5, a.id
        assert set(phases) == set(PHASES), a.id
        assert phases[0] == "preparation"
        movement = [p for p in phases if p != "preparation"]
        first = movement[0]
        # one block of the first movement phase, then one block of the other
        assert movement == [first] * movement.count(first) + [p for p in movement if p != first], a.id


def test_error_weights_categories_and_effects(fkg):
    for a in fkg.actions:
        assert 4 <= len(a.errors) <= 7, a.id
        for e in a.errors:
            low, high = CATEGORY_WEIGHTS[e.category]
            assert low <= e.weight <= high, e.id
            assert isinstance(e.weight, float)
            assert e.kinematic_effect in KINEMATIC_EFFECTS, e.id
            assert e.feedback.endswith(".") and "{" not in e.feedback, e.id
    assert CATEGORY_WEIGHTS == {
        "joint safety": (9.0, 10.0),
        "core stability": (7.0, 9.0),
        "posture": (6.0, 7.0),
        "fine control": (5.0, 5.0),
        "breathing": (2.0, 2.0),
    }


def test_emg_channels_sixteen_unique_main_muscles_first(fkg):
    for a in fkg.actions:
        channels = a.emg_channels
        assert len(channels) == 16 and len(set(channels)) == 16, a.id
        assert channels[:4] == (
            f"{a.main_muscles[0]}_L",
            f"{a.main_muscles[0]}_R",
            f"{a.main_muscles[1]}_L",
            f"{a.main_muscles[1]}_R",
        )
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*_[LR]", c) and len(c) <= 16 for c in channels)  # EDF labels
    assert default_fkg().action("A17").main_muscles == ("ant_deltoid", "mid_deltoid")


def test_lookups_and_total_weight(fkg):
    assert fkg.total_weight("A01") == 44.5  # 2 + 5 + 6.5 + 10 + 6 + 8 + 7
    assert fkg.error("A01", "A01_E4").kinematic_effect == "knee_valgus"
    assert fkg.key_step("A01", "A01_K3").phase == "eccentric"
    assert fkg.action("A01").key_step_of("A01_E4").id == "A01_K3"
    with pytest.raises(KeyError, match="unknown action 'A99'"):
        fkg.action("A99")
    with pytest.raises(KeyError, match="action A01: unknown error type 'A02_E1'"):
        fkg.error("A01", "A02_E1")
    with pytest.raises(KeyError, match="action A01: unknown key step 'A01_K9'"):
        fkg.key_step("A01", "A01_K9")


def test_dict_and_json_round_trip(fkg, tmp_path):
    data = fkg_to_dict(fkg)
    assert json.loads(json.dumps(data)) == data
    assert fkg_from_dict(data) == fkg
    path = write_fkg(tmp_path / "fkg.json", fkg)
    assert read_fkg(path) == fkg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fkg.json"]  # no temp file left
    first = json.loads(path.read_text(encoding="utf-8"))["actions"][0]
    assert first["id"] == "A01" and first["name"] == "Barbell Back Squat" and first["family"] == "squat"
    assert first["key_steps"][0]["errors"][0] == {
        "id": "A01_E1",
        "name": "Breath held without bracing",
        "category": "breathing",
        "weight": 2.0,
        "feedback": "Take a deep breath into the belly and brace before you descend.",
        "kinematic_effect": "breath_hold",
    }
    # Same FKG -> byte-identical file.
    again = write_fkg(tmp_path / "again.json", default_fkg())
    assert again.read_bytes() == path.read_bytes()


def test_kinematic_effect_is_optional_in_json(fkg):
    data = fkg_to_dict(fkg)
    for step in data["actions"][0]["key_steps"]:
        for e in step["errors"]:
            del e["kinematic_effect"]
    loaded = fkg_from_dict(data)
    assert all(e.kinematic_effect is None for e in loaded.action("A01").errors)
    assert loaded.action("A02") == fkg.action("A02")


def _broken(fkg, edit):
    data = copy.deepcopy(fkg_to_dict(fkg))
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["actions"][0]["key_steps"][1]["errors"][0].pop("weight"),
            r"actions\[0\]\.key_steps\[1\]\.errors\[0\]\.weight: missing field",
        ),
        (
            lambda d: d["actions"][2]["key_steps"][0].__setitem__("name", 3),
            r"actions\[2\]\.key_steps\[0\]\.name: expected str, got int 3",
        ),
        (
            lambda d: d["actions"][0]["key_steps"][3]["errors"][0].__setitem__("weight", 11.0),
            r"error A01_E6: weight 11.0 outside \[7.0, 9.0\] for category 'core stability'",
        ),
        (
            lambda d: d["actions"][0]["key_steps"][0]["errors"][0].__setitem__("category", "style"),
            r"error A01_E1: category 'style' is not one of",
        ),
        (
            lambda d: d["actions"][0]["key_steps"][0]["errors"][0].__setitem__("kinematic_effect", "wobble"),
            r"actions\[0\]\.key_steps\[0\]\.errors\[0\]\.kinematic_effect: 'wobble' is not one of",
        ),
        (
            lambda d: [s.__setitem__("phase", "eccentric") for s in d["actions"][4]["key_steps"][2:]],
            r"action A05: key steps must cover all phases",
        ),
        (
            lambda d: d["actions"][0]["key_steps"].reverse(),
            r"action A01: key steps must run preparation, then one movement phase",
        ),
        (lambda d: d["actions"][1].__setitem__("id", "A01"), r"duplicate action ids \['A01'\]"),
        (
            lambda d: d["actions"][0].__setitem__("main_muscles", ["gluteus_max", "vastus_lat"]),
            r"action A01: main_muscles .* must be the first two emg_muscles",
        ),
        (
            lambda d: d["actions"][0]["emg_muscles"].__setitem__(7, "vastus_lat"),
            r"action A01: emg_muscles must be 8 distinct names",
        ),
        (
            lambda d: d["actions"][0]["emg_muscles"].__setitem__(5, "gastrocnemius_medialis"),
            r"action A01: emg muscle 'gastrocnemius_medialis' is longer than 14 characters",
        ),
        (lambda d: d.__setitem__("version", 2), r"version: FKG version 2 is not supported"),
        (
            lambda d: d["actions"][3].__setitem__("equipment", "kettlebell"),
            r"action A04: equipment 'kettlebell' is not one of",
        ),
    ],
)
def test_from_dict_names_the_bad_field(fkg, edit, message):
    with pytest.raises(InputFileError, match=message):
        fkg_from_dict(_broken(fkg, edit))


def test_read_fkg_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(MissingInputError, match=r"nope\.json: fkg\.json not found"):
        read_fkg(missing)
    bad = tmp_path / "fkg.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"fkg.json: fkg: not valid JSON"):
        read_fkg(bad)
    bad.write_text(json.dumps({"version": 1, "actions": [{"id": "A01"}]}), encoding="utf-8")
    with pytest.raises(InputFileError, match=r"file .*fkg.json: fkg: actions\[0\]\.key_steps: missing field"):
        read_fkg(bad)
