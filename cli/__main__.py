"""``python -m vibn.cli``."""

from vibn.cli import main

main()
