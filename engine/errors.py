"""Errors the engine raises for bad user input.

Every `BackbenchError` carries a message written for the user: it names the thing that is wrong
(file, row, column, parameter, config key) and the rule it broke. The CLI prints it on one line
and exits with code 2; it never shows a traceback for these.
"""


class BackbenchError(Exception):
    """Base class for errors caused by user input (not bugs)."""


class ConfigError(BackbenchError, ValueError):
    """A simulation or settings value is unknown or out of range."""


class StrategyError(BackbenchError, ValueError):
    """Unknown strategy, unknown or out-of-range parameter, or a user strategy file that fails to load."""


class DataError(BackbenchError, ValueError):
    """Input bars are missing, unreadable or break a validation rule."""
