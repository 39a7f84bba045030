"""``python -m flexsync.cli``: the same as the ``flexsync`` console script."""

from flexsync.cli import main

main()
