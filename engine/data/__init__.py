"""The local bar store: validated Parquet per symbol and timeframe, with a memory-mapped Arrow cache."""

from engine.data.store import DataStore, StoredSeries
from engine.data.validation import BarValidationError

__all__ = ["BarValidationError", "DataStore", "StoredSeries"]
