"""The default Fitness Knowledge Graph as data: exercise families and the 20 FLEX-style actions.

Kept apart from the dataclasses in ``catalogue.py`` so the logic stays short and the data stays
readable. Each exercise family owns its 8 sEMG muscles (the first two are the main muscles;
names are at most 14 characters so the channels ``<muscle>_L`` fit 16-character EDF labels),
its key steps in execution order (preparation first, then the first movement phase) and the
error types of each key step. ``{load}`` in a text is replaced by "the bar" or "the dumbbells".

Error rows are ``(name, category, weight, kinematic_effect, feedback)``; weights follow the
FKG categories: joint safety 9-10, core stability 7-9, posture 6-7, fine control 5, breathing 2.
"""

from __future__ import annotations

__all__ = ["ACTIONS", "FAMILIES"]

_JS, _CS, _PO, _FC, _BR = "joint safety", "core stability", "posture", "fine control", "breathing"
_PREP, _ECC, _CON = "preparation", "eccentric", "concentric"

# Table-like literals below are kept by hand for reading; the formatter leaves them alone.
# fmt: off
# family -> {"muscles": 8 names, "steps": ((step name, phase, (error rows...)), ...)}
FAMILIES: dict[str, dict] = {
    "squat": {
        "muscles": ("vastus_lat", "gluteus_max", "vastus_med", "rectus_femoris",
                    "biceps_femoris", "erector_spinae", "gastroc_med", "rectus_abdom"),
        "steps": (
            ("Set-up and bracing", _PREP, (
                ("Breath held without bracing", _BR, 2.0, "breath_hold",
                 "Take a deep breath into the belly and brace before you descend."),
            )),
            ("Controlled descent", _ECC, (
                ("Dropping into the squat", _FC, 5.0, "fast_eccentric",
                 "Lower yourself under control; take about two seconds on the way down."),
                ("Heels lift off the floor", _PO, 6.5, "heel_lift",
                 "Keep your whole foot planted; push through the heels."),
            )),
            ("Bottom position", _ECC, (
                ("Knees cave inward", _JS, 10.0, "knee_valgus",
                 "Push your knees out so they track over your toes."),
                ("Insufficient depth", _PO, 6.0, "shallow_depth",
                 "Sit deeper: bring the hip crease down to knee level."),
            )),
            ("Drive up and lock out", _CON, (
                ("Excessive forward lean", _CS, 8.0, "trunk_lean",
                 "Keep your chest up and drive the hips and shoulders up together."),
                ("Hips shift to one side", _CS, 7.0, "hip_shift",
                 "Push evenly through both feet; keep the hips centred."),
            )),
        ),
    },
    "hinge": {
        "muscles": ("biceps_femoris", "gluteus_max", "erector_spinae", "semitendinosus",
                    "vastus_lat", "latissimus", "upper_trap", "rectus_abdom"),
        "steps": (
            ("Set-up: grip and brace", _PREP, (
                ("No brace before the pull", _BR, 2.0, "breath_hold",
                 "Breathe in and brace your trunk before each repetition."),
            )),
            ("Hip hinge descent", _ECC, (
                ("Rounded lower back", _JS, 10.0, "rounded_back",
                 "Keep a neutral spine: chest proud, back flat from hips to head."),
                ("Knees bend too much", _PO, 6.5, "excess_knee_bend",
                 "Push the hips back and keep the knees soft but nearly straight."),
                ("Lowering too fast", _FC, 5.0, "fast_eccentric",
                 "Lower {load} slowly and keep it close to your legs."),
            )),
            ("Hip drive", _CON, (
                ("Hips shift to one side", _CS, 7.5, "hip_shift",
                 "Drive evenly through both legs; keep the hips square."),
            )),
            ("Lockout", _CON, (
                ("Incomplete hip lockout", _PO, 6.0, "incomplete_lockout",
                 "Finish tall: squeeze the glutes until the hips are fully extended."),
            )),
        ),
    },
    "press": {
        "muscles": ("ant_deltoid", "triceps", "mid_deltoid", "pec_clavicular",
                    "upper_trap", "serratus_ant", "rectus_abdom", "erector_spinae"),
        "steps": (
            ("Rack position and brace", _PREP, (
                ("Breath held through the set", _BR, 2.0, "breath_hold",
                 "Breathe out as you press and in as you lower."),
            )),
            ("Press overhead", _CON, (
                ("Excessive lower-back arch", _JS, 9.5, "lean_back",
                 "Squeeze the glutes and ribs down; do not lean back to press."),
                ("Elbows flare out", _PO, 6.5, "elbow_flare",
                 "Keep the elbows slightly in front of {load}, not out to the sides."),
                ("Uneven press", _CS, 7.5, "asymmetric",
                 "Press both arms at the same speed; keep {load} level."),
            )),
            ("Lockout overhead", _CON, (
                ("Incomplete lockout", _PO, 6.0, "incomplete_lockout",
                 "Finish with the arms fully straight and {load} over your mid-foot."),
            )),
            ("Controlled lowering", _ECC, (
                ("Dropping the weight", _FC, 5.0, "fast_eccentric",
                 "Lower {load} to the shoulders under control."),
            )),
        ),
    },
    "row": {
        "muscles": ("latissimus", "middle_trap", "post_deltoid", "biceps_brachii",
                    "brachiorad", "erector_spinae", "upper_trap", "biceps_femoris"),
        "steps": (
            ("Hinge into the bent-over position", _PREP, (
                ("Rounded back", _JS, 9.5, "rounded_back",
                 "Hinge at the hips with a flat back before you pull."),
            )),
            ("Pull to the torso", _CON, (
                ("Torso rises to swing the weight", _CS, 8.0, "momentum_swing",
                 "Keep the torso still; pull with the back, not with a hip swing."),
                ("Elbows flare out", _PO, 6.0, "elbow_flare",
                 "Drive the elbows back along your sides."),
                ("Breath held during the pull", _BR, 2.0, "breath_hold",
                 "Exhale as you pull, inhale as you lower."),
            )),
            ("Squeeze the shoulder blades", _CON, (
                ("Partial range of motion", _PO, 6.5, "shallow_depth",
                 "Pull {load} all the way to your torso and squeeze."),
            )),
            ("Lower under control", _ECC, (
                ("Dropping the weight", _FC, 5.0, "fast_eccentric",
                 "Lower {load} slowly until the arms are straight."),
            )),
        ),
    },
    "curl": {
        "muscles": ("biceps_brachii", "brachiorad", "ant_deltoid", "flexor_carpi",
                    "triceps", "upper_trap", "erector_spinae", "rectus_abdom"),
        "steps": (
            ("Stand tall, arms extended", _PREP, (
                ("Breath held during the curl", _BR, 2.0, "breath_hold",
                 "Exhale as you curl, inhale as you lower."),
            )),
            ("Curl up", _CON, (
                ("Swinging the torso", _CS, 8.5, "momentum_swing",
                 "Keep the torso still; let the biceps do the lifting."),
                ("Elbows drift forward", _PO, 6.5, "elbow_drift",
                 "Pin the elbows to your sides."),
                ("Uneven arms", _FC, 5.0, "asymmetric",
                 "Curl both arms together at the same speed."),
            )),
            ("Peak contraction", _CON, (
                ("Leaning back at the top", _JS, 9.0, "lean_back",
                 "Stay tall at the top; do not lean back to finish the curl."),
                ("Partial range of motion", _PO, 6.0, "shallow_depth",
                 "Curl all the way up until the forearms are vertical."),
            )),
            ("Lower slowly", _ECC, (
                ("Dropping the weight", _FC, 5.0, "fast_eccentric",
                 "Lower {load} slowly, about two seconds down."),
            )),
        ),
    },
    "raise": {
        "muscles": ("mid_deltoid", "ant_deltoid", "upper_trap", "post_deltoid",
                    "serratus_ant", "pec_clavicular", "erector_spinae", "rectus_abdom"),
        "steps": (
            ("Stand with the dumbbells at your sides", _PREP, (
                ("Breath held during the raise", _BR, 2.0, "breath_hold",
                 "Breathe out as you raise, in as you lower."),
            )),
            ("Raise to shoulder height", _CON, (
                ("Shrugging the shoulders", _PO, 6.5, "shrug_compensation",
                 "Keep the shoulders down and away from your ears."),
                ("Swinging the body", _CS, 8.0, "momentum_swing",
                 "Stand still and lift with the shoulders only."),
                ("Uneven arms", _FC, 5.0, "asymmetric",
                 "Raise both arms together to the same height."),
                ("Stopping short of shoulder height", _PO, 6.0, "shallow_depth",
                 "Raise until the arms are level with the shoulders."),
            )),
            ("Lower under control", _ECC, (
                ("Dropping the arms", _FC, 5.0, "fast_eccentric",
                 "Lower {load} slowly; do not let them fall."),
            )),
        ),
    },
    "lunge": {
        "muscles": ("vastus_lat", "gluteus_max", "vastus_med", "rectus_femoris",
                    "biceps_femoris", "gluteus_med", "gastroc_med", "erector_spinae"),
        "steps": (
            ("Stand tall and brace", _PREP, (
                ("Breath held through the lunge", _BR, 2.0, "breath_hold",
                 "Breathe in as you lower, out as you drive back up."),
            )),
            ("Step out", _ECC, (
                ("Step too short", _PO, 6.0, "short_step",
                 "Take a longer step so both knees can bend to about 90 degrees."),
            )),
            ("Lower the back knee", _ECC, (
                ("Front knee caves inward", _JS, 9.5, "knee_valgus",
                 "Keep the front knee in line with the second toe."),
                ("Not lowering enough", _PO, 6.5, "shallow_depth",
                 "Lower until the back knee almost touches the floor."),
                ("Torso leans forward", _CS, 7.5, "trunk_lean",
                 "Keep the torso upright over the hips."),
            )),
            ("Drive back to the start", _CON, (
                ("Hips shift sideways", _CS, 7.0, "hip_shift",
                 "Stay balanced; push straight back through the front heel."),
            )),
        ),
    },
    "shrug": {
        "muscles": ("upper_trap", "middle_trap", "levator_scap", "mid_deltoid",
                    "flexor_carpi", "brachiorad", "erector_spinae", "rectus_abdom"),
        "steps": (
            ("Stand with the load at arm's length", _PREP, (
                ("Head pokes forward", _PO, 6.0, "rounded_back",
                 "Keep the neck long and the chin tucked."),
            )),
            ("Elevate the shoulders", _CON, (
                ("Bouncing the weight up", _CS, 7.5, "momentum_swing",
                 "Lift with the shoulders only; no bounce from the knees or hips."),
                ("Uneven shoulders", _CS, 7.0, "asymmetric",
                 "Lift both shoulders together and evenly."),
                ("Breath held at the top", _BR, 2.0, "breath_hold",
                 "Keep breathing: out on the way up, in on the way down."),
            )),
            ("Hold at the top", _CON, (
                ("Partial elevation", _FC, 5.0, "shallow_depth",
                 "Lift the shoulders as high as they go and pause."),
            )),
            ("Lower slowly", _ECC, (
                ("Dropping the shoulders", _FC, 5.0, "fast_eccentric",
                 "Lower the shoulders slowly to a full stretch."),
            )),
        ),
    },
    "extension": {
        "muscles": ("triceps_long", "triceps_lat", "ant_deltoid", "mid_deltoid",
                    "upper_trap", "latissimus", "erector_spinae", "rectus_abdom"),
        "steps": (
            ("Press the dumbbells overhead", _PREP, (
                ("Breath held during the set", _BR, 2.0, "breath_hold",
                 "Breathe in as you lower, out as you extend."),
            )),
            ("Lower behind the head", _ECC, (
                ("Elbows flare out", _PO, 6.5, "elbow_flare",
                 "Keep the elbows pointing forward and close to the head."),
                ("Lowering too fast", _FC, 5.0, "fast_eccentric",
                 "Lower {load} slowly behind your head."),
                ("Partial range of motion", _PO, 6.0, "shallow_depth",
                 "Lower until the forearms pass horizontal."),
            )),
            ("Extend the elbows", _CON, (
                ("Arching the lower back", _JS, 9.0, "lean_back",
                 "Brace the trunk; do not arch the back to lift."),
            )),
            ("Full extension", _CON, (
                ("Incomplete extension", _FC, 5.0, "incomplete_lockout",
                 "Straighten the elbows fully at the top."),
            )),
        ),
    },
    "fly": {
        "muscles": ("post_deltoid", "middle_trap", "infraspinatus", "mid_deltoid",
                    "upper_trap", "triceps", "erector_spinae", "biceps_femoris"),
        "steps": (
            ("Hinge forward, arms hanging", _PREP, (
                ("Rounded back", _JS, 9.0, "rounded_back",
                 "Hinge with a flat back; keep the chest proud."),
            )),
            ("Open the arms out", _CON, (
                ("Torso rises to swing the weight", _CS, 8.0, "momentum_swing",
                 "Keep the torso still; move only the arms."),
                ("Shrugging the shoulders", _PO, 6.0, "shrug_compensation",
                 "Keep the shoulders away from the ears; squeeze the shoulder blades."),
            )),
            ("Squeeze at the top", _CON, (
                ("Partial range of motion", _PO, 6.5, "shallow_depth",
                 "Raise the arms until they are level with the back."),
            )),
            ("Lower under control", _ECC, (
                ("Dropping the arms", _FC, 5.0, "fast_eccentric",
                 "Lower {load} slowly to the start."),
                ("Breath held during the fly", _BR, 2.0, "breath_hold",
                 "Exhale as you open the arms, inhale as you lower."),
            )),
        ),
    },
}

# (id, name, equipment, family, muscle order override or None)
ACTIONS: tuple[tuple[str, str, str, str, tuple[str, ...] | None], ...] = (
    ("A01", "Barbell Back Squat", "barbell", "squat", None),
    ("A02", "Barbell Front Squat", "barbell", "squat", None),
    ("A03", "Barbell Deadlift", "barbell", "hinge", None),
    ("A04", "Barbell Romanian Deadlift", "barbell", "hinge", None),
    ("A05", "Barbell Good Morning", "barbell", "hinge",
     ("erector_spinae", "biceps_femoris", "gluteus_max", "semitendinosus",
      "vastus_lat", "latissimus", "upper_trap", "rectus_abdom")),
    ("A06", "Barbell Overhead Press", "barbell", "press", None),
    ("A07", "Barbell Bent-Over Row", "barbell", "row", None),
    ("A08", "Barbell Biceps Curl", "barbell", "curl", None),
    ("A09", "Barbell Reverse Lunge", "barbell", "lunge", None),
    ("A10", "Barbell Shrug", "barbell", "shrug", None),
    ("A11", "Dumbbell Goblet Squat", "dumbbell", "squat", None),
    ("A12", "Dumbbell Romanian Deadlift", "dumbbell", "hinge", None),
    ("A13", "Dumbbell Shoulder Press", "dumbbell", "press", None),
    ("A14", "Dumbbell Bent-Over Row", "dumbbell", "row", None),
    ("A15", "Dumbbell Hammer Curl", "dumbbell", "curl",
     ("brachiorad", "biceps_brachii", "ant_deltoid", "flexor_carpi",
      "triceps", "upper_trap", "erector_spinae", "rectus_abdom")),
    ("A16", "Dumbbell Lateral Raise", "dumbbell", "raise", None),
    ("A17", "Dumbbell Front Raise", "dumbbell", "raise",
     ("ant_deltoid", "mid_deltoid", "upper_trap", "post_deltoid",
      "serratus_ant", "pec_clavicular", "erector_spinae", "rectus_abdom")),
    ("A18", "Dumbbell Forward Lunge", "dumbbell", "lunge", None),
    ("A19", "Dumbbell Overhead Triceps Extension", "dumbbell", "extension", None),
    ("A20", "Dumbbell Reverse Fly", "dumbbell", "fly", None),
)
# fmt: on
