"""Line charts of time series in a PlotextPlot, dated along the x axis."""

from __future__ import annotations

import pandas as pd
from textual_plotext import PlotextPlot

TICKS = 5  # dates shown along the x axis


def plot_lines(plot: PlotextPlot, title: str, index: pd.DatetimeIndex | pd.Series, lines: dict[str, object]) -> None:
    """Draw each of `lines` (name: values, one per entry of `index`) over the same dates."""
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    plt.title(title)
    dates = pd.DatetimeIndex(index)
    positions = list(range(len(dates)))
    for name, values in lines.items():
        plt.plot(positions, [float(value) for value in values], label=name)
    if len(dates):
        step = max(len(dates) // TICKS, 1)
        ticks = positions[::step]
        plt.xticks(ticks, [dates[tick].strftime("%Y-%m-%d") for tick in ticks])
    plot.refresh()


def clear(plot: PlotextPlot, title: str) -> None:
    plot.plt.clear_data()
    plot.plt.clear_figure()
    plot.plt.title(title)
    plot.refresh()
