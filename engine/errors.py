"""Errors caused by a user's input; the CLI prints them as one clear line instead of a traceback."""

from engine.data.store import DataStoreError
from engine.data.validation import BarValidationError
from engine.optimize.errors import OptimizeError
from engine.plugins.registry import PluginError
from engine.plugins.scaffold import ScaffoldError
from engine.runstore import RunNotFound
from engine.stage import StageError
from engine.strategy import StrategyError

USER_ERRORS = (
    BarValidationError,
    DataStoreError,
    OptimizeError,
    PluginError,
    RunNotFound,
    ScaffoldError,
    StageError,
    StrategyError,
)
