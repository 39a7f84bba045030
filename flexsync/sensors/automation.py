"""Evaluate the assets' automation conditions from the start, so the training products build.

Dagster's own ``default_automation_condition_sensor`` is created stopped: under ``make ui`` the
dataset-wide products (sample index, splits, export, VideoQA, FKG tables) would never follow
the recordings. This sensor takes its place (it targets every asset) and runs by default.
"""

import dagster as dg

__all__ = ["automation_sensor"]

automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests the runs the assets' automation conditions ask for: the training products "
    "after new repetition samples, the FKG tables when missing.",
)
