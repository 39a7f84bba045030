"""The frame codec the suite runs on, and the settings of the tests that check the default one.

tests/conftest.py puts ``TEST_SETTINGS`` into ``FLEXSYNC_SETTINGS`` for every run of the suite;
a test of the default codec's path passes ``DEFAULT_CODEC_SETTINGS`` explicitly.
"""

from flexsync.config import PipelineSettings

TEST_SETTINGS = {"frame_codec": "zstd"}
DEFAULT_CODEC_SETTINGS = {"frame_codec": PipelineSettings().frame_codec}
