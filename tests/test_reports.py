"""Reports as a reader sees them: numbers equal the run store's, charts drawn in a real browser, offline."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import view
from PIL import Image
from test_cli import engine
from test_metrics import reference_distribution, reference_relative

from engine.analytics.formatting import format_metric, metric_label
from engine.analytics.metrics import return_metrics
from engine.analytics.returns import bar_returns
from engine.report import charts, write_comparison, write_tearsheet
from engine.report.breakdowns import ABLATION_COLUMNS, FOLD_COLUMNS
from engine.stores.runs import RunRecords, RunStore
from engine.strategies.files import load_strategy

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"  # screenshots kept for people to look at
CHARTS = {
    "equity",
    "equity_log",
    "drawdown",
    "monthly_returns",
    "rolling",
    "rank_ic",
    "exposure",
    "gross_net",
    "trades",
    "return_distribution",
}


def backtest(home: Path, *args: str) -> dict:
    return json.loads(engine(home, "backtest", *args, "--json").stdout.strip().splitlines()[-1])


def shown_equals(name: str, shown: str, value) -> bool:
    """Whether a cell as displayed is `value` to the precision it shows."""
    if value is None:
        return shown == "–"
    if isinstance(value, str):
        return value.startswith(shown.replace(" ", "T") if "T" in value else shown)
    number = shown.replace(",", "").split(" bars")[0]  # "893 bars (1301 days)"
    if number.endswith("%"):
        return math.isclose(float(number[:-1]) / 100, value, abs_tol=0.5e-4 + 1e-12)
    decimals = len(number.partition(".")[2])
    return math.isclose(float(number), value, abs_tol=0.5 * 10**-decimals + 1e-12)


def assert_table_matches(rows: list[list[str]], columns: dict[str, dict], row_names: str = "metric") -> None:
    """rows: header then one row per metric; columns: title -> {metric: value} as stored."""
    header, *body = rows
    names = list(next(iter(columns.values())))
    assert header[0] == row_names and header[1:] == list(columns)
    assert [row[0] for row in body] == [metric_label(name) for name in names]  # named in words
    for name, row in zip(names, body, strict=True):
        for title, shown in zip(header[1:], row[1:], strict=True):
            value = columns[title].get(name)  # a baseline has no signal to measure: "–"
            assert shown_equals(name, shown, value), f"{title} {name}: shows {shown!r}, metrics.json has {value!r}"


def markdown_tables(text: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if not all(set(cell) <= set("-:") for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


def assert_not_blank(screenshot: Path) -> None:
    pixels = np.asarray(Image.open(screenshot).convert("L"), dtype=float)
    assert pixels.shape[0] > 900 and pixels.std() > 10, "the screenshot is blank"


@pytest.fixture(scope="module")
def gru93_run(sample_home) -> dict:
    return backtest(sample_home, "--strategy", "gru93", "--ablation")


def test_backtest_writes_the_report_into_the_run(gru93_run):
    report = Path(gru93_run["report"])
    assert report == Path(gru93_run["run_dir"]) / "report" / "report.html"
    assert {path.stem for path in (report.parent / "charts").glob("*.png")} == CHARTS
    for chart in (report.parent / "charts").glob("*.png"):
        assert Image.open(chart).size[0] >= 800
    assert "http://" not in report.read_text() and "https://" not in report.read_text()  # nothing to fetch


def test_html_numbers_equal_metrics_json_and_every_chart_is_drawn(gru93_run):
    run_dir = Path(gru93_run["run_dir"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    ARTIFACTS.mkdir(exist_ok=True)
    page = view(run_dir / "report" / "report.html", ARTIFACTS / "report-gru93.png")
    assert page.errors == [] and page.requests == []
    assert {image["alt"] for image in page.images} >= {"Equity", "Drawdown", "Monthly returns", "Exposure"}
    assert all(image["complete"] and image["width"] >= 800 and image["height"] > 100 for image in page.images)
    assert len(page.images) == len(CHARTS)
    assert_not_blank(ARTIFACTS / "report-gru93.png")

    assert set(metrics["baselines"]) == {"buy & hold", "sma_cross"}
    assert_table_matches(page.tables["metrics"], {"gru93": metrics["strategy"], **metrics["baselines"]})
    costs = ("gross_total_return", "net_total_return", "commission_paid", "slippage_paid", "costs_paid")
    assert_table_matches(page.tables["gross-net"], {"": {name: metrics["strategy"][name] for name in costs}})

    folds = json.loads((run_dir / "folds.json").read_text())["folds"]
    fold_rows = page.tables["folds"]
    assert fold_rows[0][:5] == ["fold", "predicts", "ROC-AUC", "PR-AUC", "F1"]
    for fold, row in zip(folds, fold_rows[1:], strict=True):
        for name, shown in zip(FOLD_COLUMNS, row[2:], strict=True):
            assert shown_equals(name, shown, fold[name]), (fold["fold"], name)

    steps = json.loads((run_dir / "ablation.json").read_text())["steps"]
    ablation = page.tables["ablation"]
    assert [row[0] for row in ablation[1:]] == [step["step"] for step in steps]
    for step, row in zip(steps, ablation[1:], strict=True):
        for name, shown in zip(ABLATION_COLUMNS, row[2:], strict=True):
            assert shown_equals(name, shown, step[name]), (step["step"], name)
    assert page.width <= 1200, "a table pushes the page sideways"  # the overlay lists and the configuration wrap

    trades = page.tables["trades"]
    assert len(trades) - 1 == metrics["strategy"]["trades"]
    assert trades[0] == ["symbol", "side", "entry", "exit", "return", "held", "P&L", "costs"]
    assert page.tables["provenance"][0][1] == json.loads((run_dir / "manifest.json").read_text())["data"]["fingerprint"]


def test_markdown_numbers_equal_metrics_json(gru93_run):
    run_dir = Path(gru93_run["run_dir"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    markdown = (run_dir / "report" / "report.md").read_text()
    tables = markdown_tables(markdown)
    assert_table_matches(tables[0], {"gru93": metrics["strategy"], **metrics["baselines"]})
    for chart in CHARTS:
        assert f"](charts/{chart}.png)" in markdown


@pytest.mark.parametrize(
    ("case", "period"),
    [
        ("no-trades", ("--start", "2008-11-01", "--end", "2009-03-31")),  # sma_cross sits out the bear market
        ("single-bar", ("--start", "2018-12-31", "--end", "2018-12-31")),
    ],
)
def test_runs_without_trades_or_with_one_bar_still_report(sample_home, case, period):
    run = backtest(sample_home, "--strategy", "sma_cross", *period)
    assert run["metrics"]["trades"] == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page = view(Path(run["report"]), ARTIFACTS / f"report-{case}.png")
    assert page.errors == [] and page.requests == []
    assert len(page.images) == len(CHARTS) and all(image["complete"] and image["width"] > 0 for image in page.images)
    assert_table_matches(page.tables["metrics"], {"sma_cross": run["metrics"], **run["baselines"]})
    assert "trades" not in page.tables
    assert "No trades" in Path(run["report"]).with_suffix(".md").read_text()


def test_a_report_written_again_has_the_same_chart_bytes(sample_home, gru93_run):
    folder = Path(gru93_run["report"]).parent / "charts"
    before = {path.name: path.read_bytes() for path in folder.glob("*.png")}
    write_tearsheet(RunStore(sample_home / "runs").load(gru93_run["run_id"]))
    assert {path.name: path.read_bytes() for path in folder.glob("*.png")} == before


def test_thinning_keeps_each_pixel_columns_extremes_and_the_gaps():
    rng = np.random.default_rng(0)
    # Powers of two, so that the test's pixel columns are exactly thin's.
    x = np.datetime64("2020-01-01T00:00") + np.arange(2**17 + 1).astype("timedelta64[m]")
    columns = 128
    y = np.cumsum(rng.normal(size=len(x)))
    y[40_000:40_500] = np.nan
    kept_x, kept_y = charts.thin(x, y, columns)
    assert len(kept_y) < 5 * columns and kept_x[0] == x[0] and kept_x[-1] == x[-1]
    assert (np.diff(kept_x) > np.timedelta64(0)).all()  # a subsequence, in order

    def column(times):
        return (times - x[0]).astype(np.int64) * columns // (x[-1] - x[0]).astype(np.int64)

    for pixel in range(columns):
        inside, kept = y[column(x) == pixel], kept_y[column(kept_x) == pixel]
        assert np.nanmin(kept) == np.nanmin(inside) and np.nanmax(kept) == np.nanmax(inside)
    assert np.isnan(kept_y[(kept_x >= x[40_000]) & (kept_x < x[40_500])]).any()  # the line still breaks


def test_report_command_rewrites_a_report_and_compares_runs(sample_home, gru93_run):
    first = backtest(sample_home, "--strategy", "sma_cross")
    report = Path(first["report"])
    report.write_text("damaged")
    result = engine(sample_home, "report", first["run_id"])
    assert str(report) in result.stdout.replace("\n", "")
    assert report.read_text().startswith("<!DOCTYPE html>")

    result = engine(sample_home, "report", "--compare", first["run_id"], gru93_run["run_id"])
    comparison = Path(result.stdout.replace("\n", "").split("comparison written to ")[1].strip())
    # The headline figures printed, and buy-and-hold over each run's own period (a calibrated gru93 trades later).
    summary = [line.split("\t") for line in result.stdout.split("# the runs compared")[1].splitlines()[2:6]]
    assert [row[:2] for row in summary] == [
        [first["run_id"], "sma_cross"],
        [gru93_run["run_id"], "gru93"],
        ["", "buy & hold"],
        ["", "buy & hold"],
    ]
    for row, run in zip(summary, (first, gru93_run), strict=False):
        assert row[3:6] == [
            format_metric(name, run["metrics"][name]) for name in ("gross_total_return", "net_total_return", "sharpe")
        ]
        assert row[7:] == [format_metric("max_drawdown", run["metrics"]["max_drawdown"]), str(run["metrics"]["trades"])]
    for row, run in zip(summary, (first, gru93_run), strict=False):  # each signal's RankIC, as its run measured it
        quality = json.loads((Path(run["run_dir"]) / "signal_quality.json").read_text())
        assert row[6] == format_metric("rank_ic", quality["overall"]["rank_ic"]) != "–"
    assert summary[2][6] == summary[3][6] == "–"
    assert summary[3][3:5] == [
        format_metric(name, gru93_run["baselines"]["buy & hold"][name]) for name in ("gross_total_return", "net_total_return")
    ]
    page = view(comparison, ARTIFACTS / "report-compare.png")
    assert page.errors == [] and len(page.images) == 3 and all(image["complete"] for image in page.images)
    header, *rows = page.tables["metrics"]
    assert header == ["metric", first["run_id"], gru93_run["run_id"]]
    assert page.width <= 1200
    sharpe = next(row for row in rows if row[0] == "Sharpe ratio")
    assert shown_equals("sharpe", sharpe[1], first["metrics"]["sharpe"])
    assert shown_equals("sharpe", sharpe[2], gru93_run["metrics"]["sharpe"])


def test_report_errors_name_the_run(sample_home):
    result = engine(sample_home, "report", "no-such-run", check=False)
    assert result.returncode == 2 and "no-such-run" in result.stderr
    result = engine(sample_home, "report", "--compare", "one-run", check=False)
    assert result.returncode == 2 and "at least two" in result.stderr


def store_hand_made_run(root: Path, strategy: list[float], benchmark: list[float], start: str) -> str:
    """A finished run of gru93's configuration with the given daily equity (and buy-and-hold's), one
    round trip, 100 cash."""
    index = pd.date_range(start, periods=len(strategy), freq="D", tz="UTC")
    equity, held = np.array(strategy), np.array(benchmark)

    def metrics(values):
        total = values[-1] / 100.0 - 1.0
        costs = {"commission_paid": 0.0, "slippage_paid": 0.0, "costs_paid": 0.0}
        return (
            {"start": str(index[0]), "end": str(index[-1]), "bars": len(values), "initial_cash": 100.0}
            | costs
            | {
                "gross_total_return": total,
                "net_total_return": total,
            }
        )

    config = {"strategy": load_strategy("gru93").model_dump(mode="json"), "chunk_size": None, "execution": "vectorized"}
    config |= {"periods_per_year": 252.0, "annualization": "1d bars"}
    config["strategy"]["data"]["symbols"] = ["AAA"]
    manifest = {
        "strategy": "hand_made",
        "created_at": "2021-01-31T00:00:00+00:00",
        "command": ["test"],
        "data": {"fingerprint": "0" * 64, "timeframe": "1d", "rows": len(index), "traded_rows": len(index)},
        "libraries": {},
    }
    manifest["data"]["series"] = {"AAA": "synthetic: hand-made"}
    trade = {"symbol": "AAA", "direction": "long", "entry_time": index[1], "exit_time": index[4], "size": 1.0}
    trade |= {"entry_price": 10.0, "exit_price": 11.0, "fees": 0.0, "pnl": 1.0, "return": 0.1, "holding_bars": 3}
    fills = pd.DataFrame({"timestamp": index[[1, 4]], "symbol": "AAA", "side": ["buy", "sell"], "price": [10.0, 11.0]})
    records = RunRecords(
        {
            "config.json": config,
            "metrics.json": {
                "strategy": metrics(equity) | return_metrics(equity, 100.0, 252),
                "baselines": {"buy & hold": metrics(held) | return_metrics(held, 100.0, 252)},
                "warnings": [],
            },
            "manifest.json": manifest,
        },
        {
            "equity.parquet": pd.DataFrame(
                {"timestamp": index, "equity": equity, "cash": 0.0, "gross_equity": equity, "net_equity": equity}
                | {"costs_paid": 0.0, "gross_exposure": 1.0}
            ),
            "baselines.parquet": pd.DataFrame({"timestamp": index, "buy & hold": held}),
            "trades.parquet": pd.DataFrame([trade | {"status": "closed"}]),
            "orders.parquet": fills,
            "prices.parquet": pd.DataFrame({"timestamp": index, "AAA": held / 10}),
        },
    )
    with RunStore(root).open("backtest", "hand_made", ["test"]) as journal:
        journal.finish(records)
    return journal.run_id


# Eight days across a year end: a 25% fall from 120 that recovers at 130, then a 20% fall still open.
STRATEGY = [100.0, 120.0, 90.0, 110.0, 130.0, 104.0, 104.0, 120.0]
BUY_AND_HOLD = [101.0, 103.0, 99.0, 104.0, 108.0, 100.0, 102.0, 106.0]


def section(markdown: str, title: str) -> list[list[str]]:
    """The first table under a `## title` heading of a markdown report."""
    return markdown_tables(markdown.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0])[0]


def test_a_hand_made_run_reports_figures_beside_buy_and_hold(tmp_path):
    store = RunStore(tmp_path)
    run = store.load(store_hand_made_run(tmp_path, STRATEGY, BUY_AND_HOLD, "2020-12-28"))
    report = write_tearsheet(run)
    markdown = report.with_suffix(".md").read_text()
    strategy, benchmark = bar_returns(np.array(STRATEGY), 100.0), bar_returns(np.array(BUY_AND_HOLD), 100.0)

    metrics = section(markdown, "Metrics")
    assert ["longest drawdown", "3 bars (3 days)", "3 bars (3 days)"] in metrics
    header, *rows = section(markdown, "Against buy-and-hold")
    assert header == ["metric", "hand_made"]
    for (name, value), row in zip(reference_relative(list(strategy), list(benchmark), 252).items(), rows, strict=True):
        assert row[0] == metric_label(name) and shown_equals(name, row[1], value), name
    header, *rows = section(markdown, "Return distribution")
    assert header == ["metric", "hand_made", "buy & hold"]
    for (name, value), row in zip(reference_distribution(list(strategy)).items(), rows, strict=True):
        assert row[0] == metric_label(name) and shown_equals(name, row[1], value), name
    assert section(markdown, "Yearly returns") == [
        ["year", "bars", "hand_made", "buy & hold", "hand_made − buy & hold"],
        ["2020", "4", "10.00%", "4.00%", "+6.00%"],
        ["2021", "4", "9.09%", "1.92%", "+7.17%"],
    ]
    assert section(markdown, "Worst drawdowns") == [
        ["depth", "peak", "valley", "recovery", "under water"],
        ["-25.00%", "2020-12-29", "2020-12-30", "2021-01-01", "2 bars (3 days)"],
        ["-20.00%", "2021-01-01", "2021-01-02", "not recovered", "3 bars (3 days)"],
    ]
    configuration = section(markdown, "Configuration")
    assert ["costs.commission_bps", "10"] in configuration and ["data.symbols", "AAA"] in configuration
    assert ["overlays 2", "trend: window 200, scale 0"] in configuration  # gru93's chain, one row per overlay
    for chart in ("trades", "return_distribution"):
        assert f"](charts/{chart}.png)" in markdown

    page = view(report, ARTIFACTS / "report-hand-made.png")
    assert page.errors == [] and page.requests == []
    assert {"relative", "yearly", "drawdowns", "distribution", "config"} <= set(page.tables)
    assert {"Trades on the price", "Distribution of bar returns"} <= {image["alt"] for image in page.images}
    assert page.width <= 1200, "the configuration's long overlay rows push the page sideways"


def test_comparing_runs_over_different_periods_warns(tmp_path):
    store = RunStore(tmp_path)
    first = store_hand_made_run(tmp_path, STRATEGY, BUY_AND_HOLD, "2020-12-28")
    same = store_hand_made_run(tmp_path, BUY_AND_HOLD, STRATEGY, "2020-12-28")
    later = store_hand_made_run(tmp_path, STRATEGY, BUY_AND_HOLD, "2021-03-01")
    alike = write_comparison([store.load(first), store.load(same)], tmp_path).read_text()
    assert 'id="period-warning"' not in alike and '<table id="settings" class="wrap">' in alike
    different = write_comparison([store.load(first), store.load(later)], tmp_path).read_text()
    assert "these runs cover 2 different periods (2020-12-28 to 2021-01-04; 2021-03-01 to 2021-03-08)" in different
