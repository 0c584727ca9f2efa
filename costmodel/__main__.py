"""``python -m costmodel`` runs the ``breakeven`` CLI."""

from costmodel.cli import main

main()
