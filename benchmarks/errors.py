"""Errors the benchmark runner reports without a traceback."""


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit code 2."""
