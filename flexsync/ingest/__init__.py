"""Per-recording processing steps, free of Dagster: ingest streams, fit clocks, publish.

Each step reads its inputs from the raw root or the store, writes its outputs atomically,
and returns a result with UI metadata and check outcomes for the orchestrator to show.
"""
