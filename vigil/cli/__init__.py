"""``vigil``: the command line of the whole system, one module per command group.

Each module's ``register(commands)`` adds its sub-commands and sets ``run(args, settings) -> int`` on them;
``main`` loads settings, runs the command, and prints any :class:`vigil.core.errors.VigilError` as one line
with exit status 2.
"""

from vigil.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
