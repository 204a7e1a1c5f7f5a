"""Entry point of `python -m local_stack`."""

from local_stack.cli import app

app()
