"""The report's charts as PNG files, drawn with matplotlib's Agg canvas (no display, no network).

Every backtest draws them, so they are drawn for speed: without pyplot; within fixed margins (to
fit the labels, tight_layout would measure every text and draw the figure once more); with
timestamps converted as one datetime64 array, not one date at a time; with only the points of a
line that its pixel columns can show (`thin`); amounts in plain numbers, never in mathtext; and the
monthly heatmap's cell labels written by Pillow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, LogFormatter, PercentFormatter
from PIL import Image, ImageDraw, ImageFont

SIZE = (10, 3.6)
DPI = 96
PNG_COMPRESSION = 1
CELL_LABEL_POINTS = 7
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Inches around the axes: tick labels on the left and below, a title above (and between two
# axes), a colorbar's labels on the right.
LEFT, RIGHT, RIGHT_WITH_COLORBAR, BOTTOM, TOP, BETWEEN = 0.8, 0.25, 0.1, 0.4, 0.35, 0.45


def save(figure: Figure, path: Path) -> Path:
    # No version stamp: same run, same bytes. Light compression: a third of the encoding time for
    # files a tenth larger, and every backtest writes nine.
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None}, pil_kwargs={"compress_level": PNG_COMPRESSION})
    return path


def _figure(size=SIZE) -> Figure:
    figure = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(figure)  # attaches itself to the figure
    return figure


def _save(path: Path, draw: Callable[[Figure], None], size=SIZE) -> Path:
    with matplotlib_defaults():
        figure = _figure(size)
        draw(figure)
        return save(figure, path)


def matplotlib_defaults():
    """matplotlib's default settings for the time of a chart, whatever a matplotlibrc or a library in
    this process has set (Optuna's plots switch to ggplot for good): same run, same chart."""
    return matplotlib.style.context("default")


def _margins(figure: Figure, right: float = RIGHT) -> None:
    width, height = figure.get_size_inches()
    rows = len(figure.axes)
    figure.subplots_adjust(
        left=LEFT / width,
        right=1 - right / width,
        bottom=BOTTOM / height,
        top=1 - TOP / height,
        hspace=BETWEEN * rows / (height - BOTTOM - TOP - BETWEEN * (rows - 1)),  # a fraction of one axes' height
    )


def thin(x: np.ndarray, y: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """The points of a line (x sorted) that draw what the whole line draws `columns` pixels wide:
    in each pixel column, the first, lowest, highest and last point of each run of finite values
    (and of NaN, which keeps a gap a gap)."""
    if len(y) <= 4 * columns:
        return x, y
    position = (x - x[0]).astype(np.float64)
    column = (position * (columns / max(position[-1], 1.0))).astype(np.int64)
    finite = np.isfinite(y)
    starts = np.flatnonzero(np.r_[True, (column[1:] != column[:-1]) | (finite[1:] != finite[:-1])])
    ends = np.r_[starts[1:], len(y)] - 1
    group = np.repeat(np.arange(len(starts)), ends - starts + 1)
    by_value = np.lexsort((y, group))  # groups stay in place, each sorted by value
    keep = np.unique(np.concatenate([starts, by_value[starts], by_value[ends], ends]))
    return x[keep], y[keep]


def _amount(value: float, axis: Axis) -> str:
    """0.25, 450,000, or 1.5M on an axis that reaches a million: short enough for the left margin,
    and never an offset or ×1e6 above the axis, where the title is."""
    value = round(value, 9) + 0.0  # a tick at 5e-17 is at 0 (and -0.0 is 0)
    if value and max(abs(limit) for limit in axis.get_view_interval()) >= 1e6:
        return f"{value / 1e6:,.6g}M"
    return f"{value:,.10g}"


class AmountFormatter(Formatter):
    def __call__(self, x, pos=None) -> str:
        return _amount(x, self.axis)


class AmountLogFormatter(LogFormatter):
    """The default log axis's labels, on the same ticks, as amounts: 200,000 rather than 2×10⁵ in
    mathtext, whose parser takes a third of a second to set up in each process."""

    def __call__(self, x, pos=None) -> str:
        return _amount(x, self.axis) if super().__call__(x, pos) else ""


def _title(axes: Axes, title: str) -> None:
    """A title just above the axes: placed there, matplotlib need not measure the tick labels on
    every draw to keep it clear of them (a fifth of a chart's time), and no labels sit on top."""
    axes.set_title(title, loc="left", y=1.0)


def _dates(index: pd.DatetimeIndex) -> np.ndarray:
    """UTC wall-clock times as datetime64, which matplotlib converts as one array."""
    return (index.tz_convert(None) if index.tz is not None else index).to_numpy()


def _lines(axes: Axes, series: dict[str, pd.Series], title: str, percent: bool = False) -> None:
    columns = round(axes.figure.get_figwidth() * DPI)
    for label, values in series.items():
        x, y = thin(_dates(values.index), values.to_numpy(dtype=np.float64), columns)
        # A single bar is still drawn: a line needs two points, a marker does not.
        axes.plot(x, y, label=label, linewidth=1.2, marker="o" if len(values) == 1 else None)
    _title(axes, title)
    axes.grid(alpha=0.3)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0) if percent else AmountFormatter())
    if len(series) > 1:
        axes.legend(loc="best", fontsize="small")


def _no_data(axes: Axes, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="grey")
    axes.set_xticks([])
    axes.set_yticks([])


def line_chart(path: Path, series: dict[str, pd.Series], title: str, log: bool = False, percent: bool = False) -> Path:
    def draw(figure):
        axes = figure.add_subplot()
        _lines(axes, series, title, percent)
        if log:
            axes.set_yscale("log")  # which resets the formatters
            axes.yaxis.set_major_formatter(AmountLogFormatter())
            axes.yaxis.set_minor_formatter(AmountLogFormatter(labelOnlyBase=False))
        _margins(figure)

    return _save(path, draw)


def rolling_chart(path: Path, rolling: pd.DataFrame, window: int) -> Path:
    def draw(figure):
        sharpe, volatility = figure.subplots(2, 1, sharex=True)
        if rolling["sharpe"].notna().any():
            _lines(sharpe, {"sharpe": rolling["sharpe"]}, f"rolling Sharpe ({window} bars)")
            sharpe.axhline(0.0, color="black", linewidth=0.6)
            volatility_title = f"rolling annualized volatility ({window} bars)"
            _lines(volatility, {"volatility": rolling["volatility"]}, volatility_title, percent=True)
        else:
            _no_data(sharpe, f"rolling Sharpe needs at least {window} bars")
            _no_data(volatility, f"rolling volatility needs at least {window} bars")
        _margins(figure)

    return _save(path, draw, size=(SIZE[0], SIZE[1] * 1.6))


def rank_ic_chart(path: Path, lines: dict[str, pd.Series], title: str, mean: float | None) -> Path:
    """RankIC lines around zero, with the mean over the whole period dashed."""

    def draw(figure):
        axes = figure.add_subplot()
        if mean is None:
            _no_data(axes, "no RankIC: too few bars, symbols or distinct scores")
        else:
            _lines(axes, lines, title)
            axes.axhline(0.0, color="black", linewidth=0.6)
            axes.axhline(mean, color="black", linewidth=0.8, linestyle="--", label=f"mean {mean:.3f}")
            axes.legend(loc="best", fontsize="small")
        _margins(figure)

    return _save(path, draw)


def monthly_heatmap(path: Path, table: pd.DataFrame) -> Path:
    with matplotlib_defaults():
        return _heatmap(path, table)


def _heatmap(path: Path, table: pd.DataFrame) -> Path:
    values = table.to_numpy(dtype=float)
    figure = _figure((SIZE[0], max(2.0, 0.32 * len(table.index) + 1.2)))
    axes = figure.add_subplot()
    _margins(figure, right=RIGHT_WITH_COLORBAR)  # before the colorbar, which takes its room from the axes
    limit = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 0.01
    image = axes.imshow(values, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    axes.set_xticks(range(12), MONTHS)
    axes.set_yticks(range(len(table.index)), [str(year) for year in table.index])
    _title(axes, "monthly returns")
    figure.colorbar(image, ax=axes, format=PercentFormatter(1.0))
    figure.canvas.draw()
    picture = Image.fromarray(np.asarray(figure.canvas.buffer_rgba()))
    _label_cells(picture, axes, values)
    picture.save(path, format="png", dpi=(DPI, DPI), compress_level=PNG_COMPRESSION)  # as savefig writes, no metadata
    return path


def _label_cells(picture: Image.Image, axes: Axes, values: np.ndarray) -> None:
    """Each finite cell's value, centred in it, in matplotlib's font, written by Pillow: as matplotlib
    texts, twenty years' 240 labels took half a second, a quarter of the whole report."""
    font = ImageFont.truetype(font_manager.findfont(font_manager.FontProperties()), CELL_LABEL_POINTS * DPI / 72)
    draw = ImageDraw.Draw(picture)
    rows, columns = np.nonzero(np.isfinite(values))
    centres = axes.transData.transform(np.column_stack([columns, rows]))  # pixels, from the bottom
    for (x, y), value in zip(centres, values[rows, columns], strict=True):
        draw.text((x, picture.height - y), f"{value:.1%}", fill="black", font=font, anchor="mm")


def gross_net_chart(path: Path, gross: pd.Series, net: pd.Series, costs: pd.Series) -> Path:
    def draw(figure):
        equity, paid = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        _lines(equity, {"gross (no costs)": gross, "net": net}, "gross against net equity")
        _lines(paid, {"costs paid": costs}, "cumulative commission + slippage")
        _margins(figure)

    return _save(path, draw, size=(SIZE[0], SIZE[1] * 1.5))


def trades_chart(path: Path, prices: pd.DataFrame, fills: pd.DataFrame, symbols: list[str]) -> Path:
    """Each of `symbols`' closes with its fills marked at their prices: buys ▲, sells ▼."""
    rows = max(1, len(symbols))

    def draw(figure):
        panels = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
        for axes, symbol in zip(panels, symbols, strict=False):
            _lines(axes, {symbol: prices[symbol]}, f"{symbol} close, with the fills: buys ▲, sells ▼")
            traded = fills[fills["symbol"] == symbol]
            for side, marker, colour in (("buy", "^", "tab:green"), ("sell", "v", "tab:red")):
                fill = traded[traded["side"] == side]
                times = _dates(pd.DatetimeIndex(fill["timestamp"]))
                axes.plot(times, fill["price"].to_numpy(), marker, color=colour, markersize=5)
        if not symbols:
            _no_data(panels[0], "no prices stored with this run")
        _margins(figure)

    return _save(path, draw, size=(SIZE[0], 0.5 + 2.4 * rows))


def return_histogram(path: Path, returns: dict[str, np.ndarray], value_at_risk: float | None) -> Path:
    """Histograms of per-bar returns on shared bins, the first filled, with its VaR (`value_at_risk`) marked."""

    def draw(figure):
        axes = figure.add_subplot()
        pooled = np.concatenate(list(returns.values()))
        edges = np.histogram_bin_edges(pooled, bins=60) if len(pooled) else np.array([0.0, 1.0])
        for position, (label, values) in enumerate(returns.items()):
            counts, _ = np.histogram(values, edges)
            axes.stairs(counts, edges, label=label, fill=position == 0, alpha=0.5 if position == 0 else 1.0)
        if value_at_risk is not None:
            label = f"{next(iter(returns))} VaR 95% ({value_at_risk:.2%})"
            axes.axvline(value_at_risk, color="black", linewidth=0.8, linestyle="--", label=label)
        _title(axes, "per-bar returns (count of bars)")
        axes.grid(alpha=0.3)
        axes.xaxis.set_major_formatter(PercentFormatter(1.0))
        axes.legend(loc="upper right", fontsize="small")
        _margins(figure)

    return _save(path, draw)
