"""``python -m tamizdat`` runs the command line."""

from tamizdat.cli import run

run()
