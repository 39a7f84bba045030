"""Looking at a published recording: ``flexsync view`` writes it as a Rerun recording.

:mod:`flexsync.view.rerun_recording` logs one recording (needs the ``view`` extra, rerun-sdk) with
the layout of :mod:`flexsync.view.blueprint`; :mod:`flexsync.view.mp4` remuxes a view's stored
H.264 into an MP4; :mod:`flexsync.view.entities` names the timelines and entity paths. No Dagster,
no command line here.
"""
