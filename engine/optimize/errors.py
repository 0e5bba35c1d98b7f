"""Errors in what `engine optimize` was asked; kept light so the CLI can name them without importing Optuna."""

from engine.errors import UserError


class OptimizeError(UserError, ValueError):
    """A study cannot be opened or run as asked; the message names the study, storage or setting."""


class SearchSpaceError(OptimizeError):
    """A search space names a setting that does not exist, or a range that is empty or invalid."""
