"""Errors an operator can fix: the command line shows them without a traceback."""

from __future__ import annotations


class OperatorError(Exception):
    """A bad file, an unreachable database, a missing salt: the message says what to do."""
