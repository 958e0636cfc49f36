"""The errors that report a user's mistake, one family for every floor.

A :class:`UserError` says what the user gave that cannot be used (a file, a row, a key, an
option, a run folder, a date) and names it in its message; the command layer prints it as one
line and exits with code 2. Anything else raised is a bug in cryptofolio and keeps its traceback.
``UserError`` subclasses ``ValueError``, so a Python caller's ``except ValueError`` still catches it.
"""

from __future__ import annotations


class UserError(ValueError):
    """A user's input that cannot be used as given; the message names it and says why."""


class DataError(UserError):
    """Market data (a file, a table, a source, a date in it) that cannot be used as given."""


class HoldingsError(DataError):
    """A holdings file (recommend's current portfolio) that cannot be read or priced."""


class ConfigError(UserError):
    """A setting that cannot be used: a config file, a --set key, an option, a hyperparameter, a profile."""


class RunFolderError(UserError):
    """A run folder, snapshot or manifest that is missing, incomplete or not what it claims to be."""


class StorageError(UserError):
    """An Optuna storage or study that cannot be opened or does not hold what was asked."""


class PlanError(UserError):
    """A study, ablation, sweep or walk-forward plan that cannot run as given."""
