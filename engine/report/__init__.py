"""Reports from the run store: one run's tearsheet, or several runs side by side."""

from engine.report.compare import write_comparison
from engine.report.tearsheet import write_tearsheet

__all__ = ["write_comparison", "write_tearsheet"]
