"""``python -m flexsync``: the same as the ``flexsync`` console script."""

from flexsync.cli import main

main()
