"""Jobs and the programmatic ways to run them (in-process run, instance backfills)."""
