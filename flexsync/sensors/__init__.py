"""Sensors that react to the raw root."""

from flexsync.sensors.new_recordings import new_recordings_sensor

__all__ = ["new_recordings_sensor"]
