"""One run's tearsheet: an HTML page that opens offline, a markdown summary and PNG charts.

Everything is read back from the run store (engine.stores.runs.StoredRun), so `engine report RUN_ID`
renders the same report a backtest wrote. The report goes to `runs/<id>/report/`:

    report.html   self-contained: the charts are embedded as data URIs, the stylesheet inline
    report.md     the tables, with links to the charts
    charts/*.png  equity (linear and log), drawdown, monthly returns, rolling Sharpe and volatility,
                  rolling RankIC, exposure, gross against net, trades on the price, the distribution of bar returns
"""

from __future__ import annotations

from pathlib import Path

from engine.analytics.annualization import quarter_of_bars
from engine.analytics.formatting import format_metric, metric_label
from engine.analytics.return_distribution import distribution_metrics
from engine.kernel.risk import risk_summary
from engine.report import charts
from engine.report.breakdowns import ablation_table, fold_table, risk_gate_table, trade_table
from engine.report.config_table import config_table
from engine.report.drawdowns import longest_drawdown_days
from engine.report.render import Chart, Table, render, write_report_folder
from engine.report.risk import BENCHMARK, Curve, distribution_table, drawdown_table, duration, relative_table, yearly_table
from engine.report.series import drawdown, monthly_returns, rolling_rank_ic, rolling_sharpe_and_volatility
from engine.stores.runs import StoredRun

MARKDOWN_TRADES = 50  # the markdown summary lists the first trades; the HTML lists them all
PRICE_PANELS = 4  # the trades chart shows the most traded symbols, at most this many


def metrics_columns(run: StoredRun) -> dict[str, dict]:
    """The strategy's metrics beside each baseline's, keyed by column title."""
    return {run.manifest["strategy"]: run.metrics["strategy"], **run.metrics["baselines"]}


def curves(run: StoredRun) -> list[Curve]:
    """The strategy's net equity, then each stored baseline's."""
    frame = run.equity.set_index("timestamp")
    strategy = Curve(run.manifest["strategy"], frame["equity"], run.metrics["strategy"]["initial_cash"])
    if run.baselines is None:
        return [strategy]
    baselines = run.baselines.set_index("timestamp")
    return [strategy] + [
        Curve(name, baselines[name], metrics["initial_cash"]) for name, metrics in run.metrics["baselines"].items()
    ]


def period(metrics: dict) -> str:
    return f"{format_metric('start', metrics['start'])} to {format_metric('end', metrics['end'])}"


def metrics_table(columns: dict[str, dict], drawdown_days: dict[str, float | None] | None = None) -> Table:
    """Metrics named in words; the longest drawdown in bars and, given `drawdown_days` by column, in days."""
    names = list(next(iter(columns.values())))

    def cell(name: str, column: str) -> str:
        value = columns[column].get(name)
        days = (drawdown_days or {}).get(column)
        if name == "max_drawdown_duration_bars" and value is not None:
            return duration(value, days) if days is not None else f"{value} bars"
        return format_metric(name, value)

    return Table(["metric", *columns], [[metric_label(name), *(cell(name, column) for column in columns)] for name in names])


def calibration_tables(searches: list[dict]) -> list[tuple[str, Table]]:
    """Each threshold calibration: a caption (window, choice) and every candidate pair with its trades and Sharpe."""
    shown = []
    for search in searches:
        chosen = (search["chosen"]["entry"], search["chosen"]["exit"])
        caption = (
            f"overlays[{search['overlay']}]: candidates backtested on "
            f"{format_metric('start', search['validation_start'])} to {format_metric('end', search['validation_end'])}; "
            f"chosen entry {chosen[0]:g}, exit {chosen[1]:g} (best net Sharpe)"
        )
        rows = [
            [
                f"{trial['entry']:g}",
                f"{trial['exit']:g}",
                format_metric("trades", trial["trades"]),
                format_metric("sharpe", trial["sharpe"]),
                "chosen" if (trial["entry"], trial["exit"]) == chosen else "",
            ]
            for trial in search["trials"]
        ]
        shown.append((caption, Table(["entry", "exit", "trades", "sharpe", ""], rows)))
    return shown


def traded_symbols(run: StoredRun) -> list[str]:
    """The symbols the trades chart shows: those with stored prices, the most filled first."""
    if run.price_symbols is None:
        return []
    fills = run.orders["symbol"].value_counts()
    return sorted(run.price_symbols, key=lambda symbol: -fills.get(symbol, 0))[:PRICE_PANELS]


def draw_charts(run: StoredRun, run_curves: list[Curve], folder: Path) -> list[Chart]:
    frame = run.equity.set_index("timestamp")
    initial = run.metrics["strategy"]["initial_cash"]
    periods = run.config["periods_per_year"]
    strategy = run_curves[0]
    labels = [f"{strategy.name} (net)", *(curve.name for curve in run_curves[1:])]
    lines = {label: curve.equity for label, curve in zip(labels, run_curves, strict=True)}
    window = quarter_of_bars(periods)
    return [
        Chart("Equity", charts.line_chart(folder / "equity.png", lines, "equity")),
        Chart("Equity, log scale", charts.line_chart(folder / "equity_log.png", lines, "equity (log scale)", log=True)),
        Chart(
            "Drawdown",
            charts.line_chart(
                folder / "drawdown.png",
                {label: drawdown(curve.equity, curve.initial_cash) for label, curve in zip(labels, run_curves, strict=True)},
                "drawdown",
                percent=True,
            ),
        ),
        Chart(
            "Monthly returns", charts.monthly_heatmap(folder / "monthly_returns.png", monthly_returns(frame["equity"], initial))
        ),
        Chart(
            "Rolling Sharpe and volatility",
            charts.rolling_chart(
                folder / "rolling.png", rolling_sharpe_and_volatility(frame["equity"], initial, periods), window
            ),
        ),
        *([] if run.signal_quality is None else [rank_ic_chart(run, folder, window)]),
        Chart(
            "Exposure",
            charts.line_chart(
                folder / "exposure.png", {"gross exposure": frame["gross_exposure"]}, "gross exposure (of equity)", percent=True
            ),
        ),
        Chart(
            "Gross against net",
            charts.gross_net_chart(folder / "gross_net.png", frame["gross_equity"], frame["net_equity"], frame["costs_paid"]),
        ),
    ]


def rank_ic_chart(run: StoredRun, folder: Path, window: int) -> Chart:
    """The signal's RankIC over time: across symbols, or per symbol where too few symbols rank."""
    quality = run.signal_quality
    horizon = f"against the {quality['horizon']}-bar forward return"
    if quality["basis"] == "cross-sectional":
        title = f"Rolling RankIC across symbols, {horizon}"
    else:
        too_few = f"fewer than {quality['min_symbols']} symbols to rank across"
        title = f"RankIC per symbol over each {quality['window']}-bar window ({too_few}), {horizon}"
    lines = rolling_rank_ic(run.ics, window)
    return Chart(title, charts.rank_ic_chart(folder / "rank_ic.png", lines, "RankIC", quality["overall"]["rank_ic"]))


def trades_chart(run: StoredRun, folder: Path) -> Chart:
    symbols = traded_symbols(run)
    prices = None if run.price_symbols is None else run.prices(symbols).set_index("timestamp")
    title = "Trades on the price"
    if prices is not None and len(run.price_symbols) > len(symbols):
        title += f" (the {len(symbols)} most traded of {len(run.price_symbols)} symbols)"
    return Chart(title, charts.trades_chart(folder / "trades.png", prices, run.orders, symbols))


def distribution_chart(run_curves: list[Curve], folder: Path) -> Chart:
    """The strategy's bar returns, with its VaR, against buy-and-hold's."""
    strategy = run_curves[0]
    returns = {curve.name: curve.returns for curve in run_curves if curve is strategy or curve.name == BENCHMARK}
    value_at_risk = distribution_metrics(strategy.returns)["value_at_risk"]
    return Chart(
        "Distribution of bar returns", charts.return_histogram(folder / "return_distribution.png", returns, value_at_risk)
    )


def write_tearsheet(run: StoredRun) -> Path:
    """Write `report/` into the run's folder (replacing an earlier one); returns the HTML's path."""
    strategy = run.config["strategy"]
    metrics = run.metrics["strategy"]
    trades = trade_table(run.trades, run.equity["timestamp"].iloc[-1], strategy["costs"]["slippage_bps"] / 1e4)
    run_curves = curves(run)
    benchmark = next((curve for curve in run_curves if curve.name == BENCHMARK), None)
    others = [curve for curve in run_curves if curve is not benchmark]

    def build(folder: Path) -> None:
        context = {
            "run": run,
            "strategy": strategy,
            "period": period(metrics),
            "metrics": metrics_table(
                metrics_columns(run), {curve.name: longest_drawdown_days(curve.drawdowns) for curve in run_curves}
            ),
            "relative": None if benchmark is None else relative_table(others, benchmark, run.config["periods_per_year"]),
            "yearly": None if benchmark is None else yearly_table([*others, benchmark], benchmark),
            "drawdowns": drawdown_table(run_curves[0]),
            "distribution": distribution_table(run_curves),
            "gross_net": metrics_table(
                {
                    "": {
                        name: metrics[name]
                        for name in ("gross_total_return", "net_total_return", "commission_paid", "slippage_paid", "costs_paid")
                    }
                }
            ),
            "charts": draw_charts(run, run_curves, folder / "charts"),
            "trades_chart": trades_chart(run, folder / "charts"),
            "distribution_chart": distribution_chart(run_curves, folder / "charts"),
            "trades": trades,
            "trades_preview": Table(trades.columns, trades.rows[:MARKDOWN_TRADES]),
            "folds": None if run.folds is None else fold_table(run.folds),
            "ablation": None if run.ablation is None else ablation_table(run.ablation),
            "calibration": calibration_tables(run.calibration or []),
            "warnings": run.metrics.get("warnings", []),  # runs stored before warnings existed have none
            "risk": None if run.risk is None else {"summary": risk_summary(run.risk), "events": risk_gate_table(run.risk)},
            "config": config_table(run.config),
            "manifest": run.manifest,
        }
        render("tearsheet.html.j2", context, folder / "report.html", folder)
        render("tearsheet.md.j2", context, folder / "report.md", folder)

    return write_report_folder(run.path / "report", build) / "report.html"
