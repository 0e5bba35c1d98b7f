"""Event-driven trading research, backtesting and paper-trading engine."""

__version__ = "0.1.0"
