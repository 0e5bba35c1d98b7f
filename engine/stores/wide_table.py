"""A wide table: a timestamp column, then one float column per name, over a (rows, names) array.

It is written to Parquet a block of rows at a time (one row group each), so that storing a
universe's closes costs a block of them, not a copy of the whole panel in pandas and in Arrow.
Read back with pandas, it is the frame `pd.DataFrame(values, columns=names)` with the timestamps
inserted first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROWS_PER_GROUP = 1024


@dataclass(frozen=True, eq=False)
class WideTable:
    timestamps: pd.DatetimeIndex
    names: tuple[str, ...]
    values: np.ndarray  # (len(timestamps), len(names))

    def write_parquet(self, path: str | Path) -> None:
        writer = None
        try:
            for start in range(0, max(len(self.values), 1), ROWS_PER_GROUP):
                rows = slice(start, start + ROWS_PER_GROUP)
                block = pd.DataFrame(self.values[rows], columns=list(self.names), copy=False)
                block.insert(0, "timestamp", self.timestamps[rows])
                table = pa.Table.from_pandas(block, preserve_index=False)
                writer = writer or pq.ParquetWriter(path, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
