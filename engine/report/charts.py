"""The report's charts as PNG files, drawn with matplotlib (no display, no network)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

SIZE = (10, 3.6)
DPI = 96
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def save(figure: plt.Figure, path: Path) -> Path:
    try:
        figure.tight_layout()
        figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})  # no version stamp: same run, same bytes
    finally:
        plt.close(figure)
    return path


def _save(path: Path, draw: Callable[[plt.Figure], None], size=SIZE) -> Path:
    figure = plt.figure(figsize=size, dpi=DPI)
    try:
        draw(figure)
    except BaseException:
        plt.close(figure)
        raise
    return save(figure, path)


def _lines(axes: Axes, series: dict[str, pd.Series], title: str) -> None:
    for label, values in series.items():
        # A single bar is still drawn: a line needs two points, a marker does not.
        axes.plot(values.index, values.to_numpy(), label=label, linewidth=1.2, marker="o" if len(values) == 1 else None)
    axes.set_title(title, loc="left")
    axes.grid(alpha=0.3)
    if len(series) > 1:
        axes.legend(loc="best", fontsize="small")


def _no_data(axes: Axes, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="grey")
    axes.set_xticks([])
    axes.set_yticks([])


def line_chart(path: Path, series: dict[str, pd.Series], title: str, log: bool = False, percent: bool = False) -> Path:
    def draw(figure):
        axes = figure.add_subplot()
        _lines(axes, series, title)
        if log:
            axes.set_yscale("log")
        if percent:
            axes.yaxis.set_major_formatter(PercentFormatter(1.0))

    return _save(path, draw)


def rolling_chart(path: Path, rolling: pd.DataFrame, window: int) -> Path:
    def draw(figure):
        sharpe, volatility = figure.subplots(2, 1, sharex=True)
        if rolling["sharpe"].notna().any():
            _lines(sharpe, {"sharpe": rolling["sharpe"]}, f"rolling Sharpe ({window} bars)")
            sharpe.axhline(0.0, color="black", linewidth=0.6)
            _lines(volatility, {"volatility": rolling["volatility"]}, f"rolling annualized volatility ({window} bars)")
            volatility.yaxis.set_major_formatter(PercentFormatter(1.0))
        else:
            _no_data(sharpe, f"rolling Sharpe needs at least {window} bars")
            _no_data(volatility, f"rolling volatility needs at least {window} bars")

    return _save(path, draw, size=(SIZE[0], SIZE[1] * 1.6))


def monthly_heatmap(path: Path, table: pd.DataFrame) -> Path:
    def draw(figure):
        axes = figure.add_subplot()
        values = table.to_numpy(dtype=float)
        limit = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 0.01
        image = axes.imshow(values, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
        axes.set_xticks(range(12), MONTHS)
        axes.set_yticks(range(len(table.index)), [str(year) for year in table.index])
        for (row, column), value in np.ndenumerate(values):
            if np.isfinite(value):
                axes.text(column, row, f"{value:.1%}", ha="center", va="center", fontsize=7)
        axes.set_title("monthly returns", loc="left")
        figure.colorbar(image, ax=axes, format=PercentFormatter(1.0))

    return _save(path, draw, size=(SIZE[0], max(2.0, 0.32 * len(table.index) + 1.2)))


def gross_net_chart(path: Path, gross: pd.Series, net: pd.Series, costs: pd.Series) -> Path:
    def draw(figure):
        equity, paid = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        _lines(equity, {"gross (no costs)": gross, "net": net}, "gross against net equity")
        _lines(paid, {"costs paid": costs}, "cumulative commission + slippage")

    return _save(path, draw, size=(SIZE[0], SIZE[1] * 1.5))
