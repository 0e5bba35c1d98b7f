"""A wide table (a run's prices.parquet) reads back as the frame pandas writes for the same closes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from engine.stores.wide_table import ROWS_PER_GROUP, WideTable


@pytest.mark.parametrize("rows", [1, ROWS_PER_GROUP, 2 * ROWS_PER_GROUP + 5])
def test_a_wide_table_reads_back_as_the_frame_pandas_writes(tmp_path, rows):
    timestamps = pd.date_range("2024-01-02 14:30", periods=rows, freq="h", tz="UTC", unit="ns")
    closes = np.random.default_rng(rows).uniform(10, 500, (rows, 3))
    closes.setflags(write=False)  # as a panel of Bars is
    WideTable(timestamps, ("AAA", "BBB", "CCC"), closes).write_parquet(tmp_path / "wide.parquet")
    frame = pd.DataFrame(closes, index=timestamps.rename("timestamp"), columns=["AAA", "BBB", "CCC"]).reset_index()
    frame.to_parquet(tmp_path / "pandas.parquet", index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "wide.parquet"), pd.read_parquet(tmp_path / "pandas.parquet"))
    assert pq.ParquetFile(tmp_path / "wide.parquet").num_row_groups == -(-rows // ROWS_PER_GROUP)
