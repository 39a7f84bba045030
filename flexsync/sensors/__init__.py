"""Sensors: new recordings under the raw root, and the assets' automation conditions."""

from flexsync.sensors.automation import automation_sensor
from flexsync.sensors.new_recordings import new_recordings_sensor

__all__ = ["automation_sensor", "new_recordings_sensor"]
