"""``python -m scones``: the same as the ``scones`` command."""

from scones.cli import main

main()
