"""`engine tui` driven as a person drives it (Textual's `run_test` and its Pilot) over a workspace with
real runs, and each screen's snapshot at a fixed size on fixed data."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import optuna
import pandas as pd
import pexpect
import pytest
from textual.widgets import Input, Label, TabbedContent

from engine.kernel.risk import risk_summary
from engine.news.model_files import DEFAULT_MODEL
from engine.news.scores import ScoreStore
from engine.news.synthetic import synthetic_news
from engine.optimize.evaluation import OBJECTIVES
from engine.optimize.pareto import best_by_objective
from engine.optimize.storage import STORAGE_FILE, list_studies
from engine.report.breakdowns import ablation_table, fold_table, risk_gate_table, trade_table
from engine.strategies.files import load_strategy
from engine.strategies.resolution import resolve_strategy
from engine.strategies.schema import parse_strategy
from engine.tui.app import EngineApp
from engine.tui.compare import CompareScreen
from engine.tui.confirm import Confirm
from engine.tui.data import DataScreen
from engine.tui.new_backtest import NewBacktestScreen
from engine.tui.run_detail import RunDetailScreen
from engine.tui.runs import COLUMNS, RunsScreen
from engine.tui.studies import StudiesScreen, StudyRequest
from engine.usecases.backtest_run import journaled_backtest
from engine.workspace import Workspace
from tests.in_process import engine_here
from tests.model_helpers import model_strategy, write_planted
from tests.postgres import postgres_server, running_postgres
from tests.test_cli import engine
from tests.test_user_errors import assert_one_line_error

pytestmark = pytest.mark.anyio  # the Pilot tests are coroutines, run by anyio's pytest plugin
SIZE = (160, 45)
FROZEN = {"sma_cross": "20240102-093000-sma_cross-000001", "buy_and_hold": "20240102-093100-buy_and_hold-000002"}


# Overlays after the planted model's threshold: the ablation's chain of them is long.
MORE_OVERLAYS = [
    {"kind": "trend", "window": 50, "scale": 0.5},
    {"kind": "holding", "min_holding_bars": 2, "cooldown_bars": 1},
    {"kind": "stops", "stop_loss": 0.05, "take_profit": 0.15, "trailing_stop": 0.08, "cooldown_bars": 2},
    {"kind": "volatility_target", "target": 0.15, "window": 20, "max_scale": 1.0},
    {"kind": "exposure_caps", "per_symbol": 0.5, "gross": 1.0},
    {"kind": "drawdown_breaker", "max_drawdown": 0.15, "cooldown_bars": 5},
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Textual runs on asyncio


@pytest.fixture(scope="module")
def runs_home(tmp_path_factory, sample_home) -> Path:
    """A workspace with the sample's daily bars and two finished backtests under fixed ids and times."""
    home = tmp_path_factory.mktemp("tui")
    shutil.copytree(sample_home / "data" / "bars" / "1d", home / "data" / "bars" / "1d")
    workspace = Workspace(home)
    for strategy, run_id in FROZEN.items():
        stored = journaled_backtest(resolve_strategy(load_strategy(strategy)), workspace, ["engine", "backtest"]).run_id
        freeze(workspace.runs.path(stored), home / "runs" / run_id)
    return home


def freeze(run: Path, frozen: Path) -> None:
    """The run under a fixed id and fixed times, so that its screens are the same in every test run."""
    run.rename(frozen)
    status = json.loads((frozen / "status.json").read_text())
    stamp = f"2024-01-02T09:{frozen.name[11:13]}:00+00:00"
    status.update(run_id=frozen.name, created_at=stamp, updated_at=stamp, ended_at=stamp, pid=1)
    (frozen / "status.json").write_text(json.dumps(status))


def app_over(home: Path) -> EngineApp:
    return EngineApp(Workspace(home))


async def until(pilot, condition, seconds: float = 30.0) -> None:
    """Let the app run until `condition()` holds: screens refresh on timers, which fire late on a
    loaded machine."""
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    assert condition()


def rows(app: EngineApp) -> list[list[str]]:
    table = app.screen.query_one("#runs")
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


def test_engine_tui_opens_in_a_terminal_on_the_runs_and_quits(runs_home):
    """`engine tui` as typed in a terminal (a pseudo-terminal of 160×45): it shows the workspace's
    runs, and `q` quits it cleanly."""
    environment = {**os.environ, "ENGINE_HOME": str(runs_home), "TERM": "xterm-256color"}
    terminal = pexpect.spawn(sys.executable, ["-m", "engine", "tui"], env=environment, dimensions=(45, 160), timeout=60)
    try:
        terminal.expect_exact(FROZEN["sma_cross"])
        terminal.send("q")
        terminal.expect(pexpect.EOF)
    finally:
        terminal.close()
    assert terminal.exitstatus == 0


FIRST_FRAME = """
import asyncio, sys
from engine.tui.app import EngineApp
from engine.workspace import Workspace

async def first_frame():
    async with EngineApp(Workspace.from_env()).run_test() as pilot:
        await pilot.pause()

asyncio.run(first_frame())
print(sorted({"optuna", "scipy", "vectorbt"} & set(sys.modules)))
"""


def test_the_first_frame_imports_none_of_the_other_screens_libraries(runs_home):
    """The Runs screen came after about 5 s: the app imported every screen, and with them vectorbt,
    scipy and optuna, which only the screens opened later use."""
    environment = {**os.environ, "ENGINE_HOME": str(runs_home), "PYTHONPATH": str(Path(__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", FIRST_FRAME], env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_a_workspace_that_is_missing_or_a_file_is_one_line_before_the_tui_starts(tmp_path):
    assert_one_line_error(
        engine(tmp_path / "missing", "tui", check=False), r"missing \(ENGINE_HOME, or the current folder\) does not exist$"
    )
    (tmp_path / "a-file").write_text("")
    assert_one_line_error(
        engine(tmp_path / "a-file", "tui", check=False), r"a-file \(ENGINE_HOME, or the current folder\) is a file, not a folder$"
    )


def test_a_storage_it_cannot_open_is_one_line_before_the_tui_starts(runs_home):
    for url, pattern in (
        ("nonsense", r"--storage: not a database URL"),
        ("postgresql+psycopg://engine:s3cret-pw@127.0.0.1:1/studies", r"cannot open the study storage .*engine:\*\*\*@"),
    ):
        result = engine(runs_home, "tui", "--storage", url, check=False)
        assert_one_line_error(result, pattern)
        assert "s3cret-pw" not in result.stdout + result.stderr


def test_a_storage_url_whose_folder_does_not_exist_is_refused_and_nothing_is_made(runs_home, tmp_path):
    folder = tmp_path / "nowhere" / "deeper"
    result = engine(runs_home, "tui", "--storage", f"sqlite:///{folder / 'x.db'}", check=False, timeout=60)
    assert_one_line_error(result, rf"cannot open the study storage .*: the folder {folder} does not exist$")
    assert not (tmp_path / "nowhere").exists()


async def test_a_run_store_that_becomes_a_file_is_a_line_on_the_screen_and_the_tui_stays_up(runs_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(runs_home, home)
    runs = home / "runs"
    app = app_over(home)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(rows(app)) == 2)
        runs.rename(home / "runs-aside")
        runs.write_text("")
        problem = app.screen.query_one("#unreadable")
        await until(pilot, lambda: problem.display)
        assert str(problem.render()) == f"cannot read {runs}: Not a directory"
        await pilot.press("down", "enter", "t")  # a run cannot be opened, the Studies screen has no storage to read
        await pilot.pause()
        assert isinstance(app.screen, StudiesScreen)
        await pilot.press("escape")
        runs.unlink()
        (home / "runs-aside").rename(runs)
        await until(pilot, lambda: not problem.display)
        assert app.is_running and len(rows(app)) == 2


async def test_a_study_storage_that_stops_is_a_line_on_the_screen_and_the_tui_stays_up(runs_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(runs_home / "data", home / "data")
    with running_postgres() as server:
        engine(home, "optimize", "-s", "sma_cross", "--storage", server.url, "--study", "shared", "--trials", "2")
        app = EngineApp(Workspace(home), server.url)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            screen = app.screen
            await until(pilot, lambda: bool(screen.studies))
            server.stop()
            problem = screen.query_one("#unreadable")
            await until(pilot, lambda: problem.display)
            assert str(problem.render()).startswith(f"cannot read the study storage {server.url}: ")
            await pilot.press("escape", "t")  # the screen opens again, saying the same
            await until(pilot, lambda: app.screen.query_one("#unreadable").display)
            assert app.is_running


async def test_runs_are_listed_filtered_sorted_and_opened(runs_home):
    app = app_over(runs_home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        assert [row[1] for row in rows(app)] == list(FROZEN.values())
        assert [[row[3], row[4], row[9]] for row in rows(app)] == [
            ["finished", "sma_cross", "SP500,NASDAQ"],
            ["finished", "buy_and_hold", "SP500,NASDAQ"],
        ]
        await pilot.press("slash", *"buy")
        await pilot.pause()
        assert [row[4] for row in rows(app)] == ["buy_and_hold"]
        await pilot.press("enter", "escape")  # back to the table, then the filter is cleared
        await pilot.pause()
        assert len(rows(app)) == 2
        table = app.screen.query_one("#runs")
        assert str(table.columns["run"].label) == "run ▲"  # by run id at first
        await pilot.press(*["right"] * 6, "s")  # the cursor on sharpe: sorted by it, then reversed
        await pilot.pause()
        ascending = [float(row[6]) for row in rows(app)]
        assert str(table.columns["sharpe"].label) == "sharpe ▲" and str(table.columns["run"].label) == "run  "
        await pilot.press("s")
        await pilot.pause()
        assert [float(row[6]) for row in rows(app)] == sorted(ascending, reverse=True) and ascending == sorted(ascending)
        assert str(table.columns["sharpe"].label) == "sharpe ▼"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailScreen)
        metrics = app.screen.query_one("#metrics")
        assert [str(cell) for cell in metrics.get_row("total_return")][0] == "total_return"
        assert metrics.row_count > 20 and "buy & hold" in [str(column.label) for column in metrics.columns.values()]
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_at_120_columns_the_metrics_show_and_a_refresh_keeps_the_scroll_and_the_cursor(runs_home, sample_home, tmp_path):
    """A run of 24 symbols lists the first three and how many more (in full they pushed the metrics
    off the screen); the table scrolled to its right edge stays there, its cursor on its run, while
    the refresh adds a run."""
    home = tmp_path / "home"
    shutil.copytree(runs_home, home)
    shutil.copytree(sample_home / "data" / "bars" / "1h", home / "data" / "bars" / "1h")
    workspace = Workspace(home)
    symbols = [f"SYN{number:02d}" for number in range(24)]
    wide = load_strategy("sma_cross").with_overrides(data={"symbols": symbols, "timeframe": "1h"})
    wide_run = journaled_backtest(resolve_strategy(wide, workspace=workspace), workspace, ["engine", "backtest"]).run_id
    app = app_over(home)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(rows(app)) == 3)
        table = app.screen.query_one("#runs")
        assert rows(app)[-1][9] == "SYN00,SYN01,SYN02 +21"
        right_of_max_dd = sum(column.get_render_width(table) for column in table.ordered_columns[: COLUMNS.index("max dd") + 1])
        assert right_of_max_dd <= table.scrollable_content_region.width
        await pilot.press("down", "down", *["right"] * 10)  # the wide run's period, the last column
        await until(pilot, lambda: table.scroll_x > 0)
        scrolled, cursor = table.scroll_x, table.cursor_coordinate
        journal = workspace.runs.open("backtest", "sma_cross", ["engine", "backtest"])
        journal.progress(10, 100, force=True)
        await until(pilot, lambda: len(rows(app)) == 4)
        await pilot.pause(0.2)
        assert (table.scroll_x, table.cursor_coordinate) == (scrolled, cursor) and app.screen.highlighted.run_id == wide_run
        journal.fail("stopped by the test")
        await pilot.press("slash", *"syn23")  # the filter reads every symbol, shown or not
        await until(pilot, lambda: [row[1] for row in rows(app)] == [wide_run])


async def test_a_running_run_updates_live_and_the_refresh_pauses(runs_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(runs_home, home)
    app = app_over(home)
    async with app.run_test(size=SIZE) as pilot:
        journal = Workspace(home).runs.open("backtest", "sma_cross", ["engine", "backtest"])
        journal.progress(10, 100, force=True)
        await until(pilot, lambda: len(rows(app)) == 3 and rows(app)[-1][3] == "running")
        await pilot.press("p")
        journal.fail("stopped by the test")
        await pilot.pause(1.5)
        assert rows(app)[-1][3] == "running"  # paused: the screen keeps what it showed
        await pilot.press("p")
        await until(pilot, lambda: rows(app)[-1][3] == "failed")
        app.screen.query_one("#runs").move_cursor(row=2)
        await pilot.press("enter")  # a failed run has no results: a notice, no detail
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)


async def test_marked_runs_are_compared(runs_home):
    app = app_over(runs_home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")  # nothing marked: a notice
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("space", "down", "space", "c")
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen) and [run.run_id for run in app.screen.runs] == list(FROZEN.values())


async def test_the_data_screen_lists_the_stored_series(runs_home):
    app = app_over(runs_home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DataScreen)
        table = app.screen.query_one("#series")
        assert [str(table.get_row_at(row)[0]) for row in range(table.row_count)] == ["NASDAQ", "SP500"]
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_a_model_run_shows_its_trades_folds_and_ablation(tmp_path, monkeypatch):
    """A walk-forward model run (a small MLP on planted data) backtested with its overlay ablation:
    the Trades, Folds and Ablation tabs list what the run stored, as its report does."""
    workspace = Workspace(tmp_path)
    write_planted(workspace.data)
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    planted = model_strategy("mlp", epochs=3).model_dump()
    resolved = resolve_strategy(parse_strategy({**planted, "overlays": [*planted["overlays"], *MORE_OVERLAYS]}, "test strategy"))
    run_id = journaled_backtest(resolved, workspace, ["engine", "backtest", "--ablation"], ablation=True).run_id
    run = workspace.runs.load(run_id)
    app = app_over(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailScreen)
        shown = {}
        for tab in ("trades", "folds", "ablation"):
            app.screen.query_one(TabbedContent).active = f"{tab}-tab"
            await pilot.pause()
            table = app.screen.query_one(f"#{tab}")
            shown[tab] = [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]
        ablation = app.screen.query_one("#ablation")  # the chain's overlays wrap: every column on the screen
        assert sum(column.get_render_width(ablation) for column in ablation.columns.values()) <= ablation.size.width
    # The report's cells: each trade's dates, return and costs, each fold's prediction period and
    # out-of-sample figures, each overlay step's metrics.
    slippage = run.config["strategy"]["costs"]["slippage_bps"] / 1e4
    assert shown["trades"] == trade_table(run.trades, run.equity["timestamp"].iloc[-1], slippage).rows
    first = run.trades.iloc[0]
    assert shown["trades"][0][2:5] == [str(first["entry_time"].date()), str(first["exit_time"].date()), f"{first['return']:.2%}"]
    assert shown["folds"] == fold_table(run.folds).rows and len(shown["folds"]) == len(run.folds) > 1
    assert shown["folds"][0][1] == f"{run.folds[0]['predict_start'][:10]} to {run.folds[0]['predict_end'][:10]}"
    assert shown["ablation"] == ablation_table(run.ablation).rows and len(shown["ablation"]) == len(run.ablation) > 1


async def test_the_report_key_writes_and_opens_the_html_report(runs_home, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(runs_home, home)
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    app = app_over(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "o")
        await pilot.pause()
    report = home / "runs" / FROZEN["sma_cross"] / "report" / "report.html"
    assert opened == [report.as_uri()] and report.exists()


@pytest.mark.parametrize(
    ("screen", "keys"),
    [
        ("runs", ()),
        ("detail", ("enter",)),
        ("charts", ("enter", "right")),
        ("compare", ("space", "down", "space", "c")),
        ("data", ("d",)),
        ("new_backtest", ("n",)),
    ],
)
def test_screen_snapshots(runs_home, snap_compare, screen, keys):
    assert snap_compare(app_over(runs_home), press=keys, terminal_size=SIZE)


@pytest.fixture(scope="module")
def studies_home(runs_home, tmp_path_factory) -> Path:
    """The runs' workspace with a seeded sma_cross study of four trials, their times fixed."""
    home = tmp_path_factory.mktemp("tui-studies") / "home"
    shutil.copytree(runs_home, home)
    engine(home, "optimize", "--strategy", "sma_cross", "--trials", "4", "--seed", "7")
    with closing(sqlite3.connect(home / "runs" / STORAGE_FILE)) as database, database:
        database.execute("UPDATE trials SET datetime_start = '2024-01-02 09:40:00', datetime_complete = '2024-01-02 09:41:00'")
    return home


def test_studies_snapshot(studies_home, snap_compare):
    assert snap_compare(app_over(studies_home), press=("t",), terminal_size=SIZE)


def footer_keys(app: EngineApp) -> set[str]:
    """The keys whose bindings the footer shows whole within the screen."""
    width = app.screen.size.width
    return {key.key for key in app.screen.query("FooterKey") if key.region.width and key.region.right <= width}


async def test_at_80x24_the_footers_keys_the_pareto_front_and_the_form_show(studies_home):
    app = app_over(studies_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert {"slash", "s", "space", "c", "n", "t", "d", "q"} <= footer_keys(app)
        await pilot.press("t")
        await until(pilot, lambda: bool(app.screen.studies))
        assert {"escape", "a", "r", "x", "q"} <= footer_keys(app)
        assert app.screen.query_one("#front").size.height >= 10  # room for its axes and points
        await pilot.press("escape", "n")
        await pilot.pause()
        boxes = list(app.screen.query(Input))
        assert all(box.content_region.width >= len(box.placeholder) for box in boxes) and len(boxes) == 5
        assert app.screen.max_scroll_y == 0  # the whole form on the screen


@pytest.mark.parametrize("size", [(120, 30), (80, 24)])
async def test_a_confirmation_shows_its_whole_question(runs_home, size):
    """As wide as its question where the screen has room (a fixed 70 columns cut it), wrapped where not."""
    question = "Trip the kill switch of 20240102-093000-paper-000001: cancel its open orders and send no more?"
    app = app_over(runs_home)
    async with app.run_test(size=size) as pilot:
        app.push_screen(Confirm(question))
        await pilot.pause()
        label, dialog = app.screen.query_one(Label), app.screen.query_one("Confirm > Vertical")
        assert dialog.content_region.contains_region(label.region) and dialog.region.right <= size[0]
        lines = label.size.height
        assert lines == (1 if size[0] == 120 else 2) and label.size.width * lines >= len(question)


async def test_a_new_backtest_runs_in_the_background_and_lands_on_its_detail(runs_home, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    shutil.copytree(runs_home, home)
    monkeypatch.setenv("ENGINE_HOME", str(home))
    app = app_over(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NewBacktestScreen)
        app.screen.query_one("#strategy").value = "sma_cross"
        await pilot.click("#start")
        await pilot.press(*"2010-01-01", "enter")  # Enter in a box runs it, as the button does
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        run = app.screen.run
        assert run.metrics["strategy"]["start"].startswith("2010-01-04")
        await pilot.press("escape")
        await until(pilot, lambda: len(rows(app)) == 3)
    # The same run as `engine backtest` stores for the same request, its report included.
    reply = engine_here(monkeypatch, capsys, "backtest", "--strategy", "sma_cross", "--start", "2010-01-01", "--json")
    cli = Workspace(home).runs.load(json.loads(reply.stdout.splitlines()[-1])["run_id"])
    assert cli.metrics == run.metrics and cli.config == run.config
    assert (run.path / "report" / "report.html").is_file() and (cli.path / "report" / "report.html").is_file()


async def test_a_study_gains_trials_on_screen_while_a_worker_runs_and_is_stopped_from_it(runs_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(runs_home, home)
    command = [sys.executable, "-m", "engine", "optimize", "--strategy", "sma_cross", "--trials", "100000", "--seed", "1"]
    environment = {**os.environ, "ENGINE_HOME": str(home), "PYTHONPATH": str(Path(__file__).parents[1])}
    worker = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        app = app_over(home)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            screen = app.screen
            assert isinstance(screen, StudiesScreen)
            await until(  # the worker has finished two trials
                pilot,
                lambda: (
                    screen.studies
                    and screen.studies[0]["finished"] >= 2
                    and "workers running" in str(screen.query_one("#progress").render())
                ),
                seconds=60,
            )
            assert screen.studies[0]["study"] == "sma_cross"
            assert "of 100000 trials finished" in str(screen.query_one("#progress").render())
            assert screen.query_one("#trials").row_count >= 2
            await pilot.press("p")  # paused: the screen keeps what it showed while the worker goes on
            shown = screen.studies[0]["finished"]
            await until(pilot, lambda: list_studies(None, Workspace(home))[0]["finished"] > shown + 1, seconds=60)
            assert screen.studies[0]["finished"] == shown and screen.sub_title.endswith("(refresh paused)")
            await pilot.press("p")
            await until(pilot, lambda: screen.studies[0]["finished"] > shown + 1)
            await pilot.press("x")
            await pilot.pause()
            assert isinstance(app.screen, Confirm)
            await pilot.press("y")
            worker.wait(60)
            await until(pilot, lambda: "no worker running" in str(screen.query_one("#progress").render()))
    finally:
        worker.kill()
    assert worker.returncode != 0 and screen.studies[0]["finished"] < 100000  # stopped before its target


async def test_the_studies_screen_follows_a_study_in_postgresql_without_showing_its_password(runs_home):
    """`engine tui --storage URL`: a study that workers share in PostgreSQL, its trials and front
    on screen; the URL's password (trust authentication ignores it) appears nowhere."""
    with postgres_server() as url:
        with_password = url.replace("engine@", "engine:s3cret-pw@")
        engine(runs_home, "optimize", "-s", "sma_cross", "--storage", with_password, "--study", "shared", "--trials", "3")
        app = EngineApp(Workspace(runs_home), with_password)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t")
            await pilot.pause()
            screen = app.screen
            assert [study["study"] for study in screen.studies] == ["shared"] and screen.studies[0]["finished"] == 3
            assert screen.query_one("#trials").row_count == 3
            # The best values are the feasible traded trials', written as metrics; parameters as `path = value`.
            study = optuna.load_study(study_name="shared", storage=url)
            best = best_by_objective(study.trials, [OBJECTIVES["sharpe"], OBJECTIVES["max_drawdown"]])
            sharpe, drawdown = (trial.user_attrs["evaluation"]["metrics"] for trial in best)
            progress = str(screen.query_one("#progress").render())
            assert (
                f"best: sharpe {sharpe['sharpe']:.3f} (trial {best[0].number}), max_drawdown {drawdown['max_drawdown']:.2%}"
                in progress
            )
            parameters = str(screen.query_one("#trials").get_row_at(0)[-1])
            assert parameters.startswith("signal.fast = ") and "; signal.slow = " in parameters
            assert screen.sub_title == f"in {url.replace('engine@', 'engine:***@')}"
            on_screen = app.export_screenshot()
    assert "s3cret-pw" not in on_screen and "shared" in on_screen


async def test_the_data_screen_shows_each_articles_sentiment_and_the_bar_it_counts_for(sample_home, tmp_path):
    home = tmp_path / "home"
    (home / "data" / "bars" / "1h").mkdir(parents=True)
    shutil.copy(sample_home / "data" / "bars" / "1h" / "SYN00.parquet", home / "data" / "bars" / "1h")
    workspace = Workspace(home)
    syn00 = workspace.data.load(["SYN00"], "1h")
    frame = pd.DataFrame({"timestamp": syn00.index(), "close": syn00.close[:, 0]})
    workspace.news.add(synthetic_news({"SYN00": frame}, pd.Timedelta(hours=1)), "the sample's synthetic news")
    articles = workspace.news.versions(["SYN00"])
    scores = pd.DataFrame({"id": articles["id"], "version": articles["updated_at"]})
    scores = scores.assign(
        model=DEFAULT_MODEL, revision="a-revision", text="both", positive=0.7, negative=0.1, neutral=0.2, score=0.6
    )
    ScoreStore(workspace.news.root).add(scores)
    app = app_over(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await pilot.pause()
        news = app.screen.query_one("#news")
        first = [str(cell) for cell in news.get_row_at(0)]
        assert news.row_count == len(articles) > 100
    published = articles["created_at"].min()
    bars = workspace.data.load(["SYN00"], "1h")
    closing = bars.index()[bars.index() + pd.Timedelta(hours=1) >= published][0]  # the first bar closing at or after it
    assert first[0] == published.strftime("%Y-%m-%d %H:%M") and first[3] == "+0.600"
    assert first[4] == closing.strftime("%Y-%m-%d %H:%M")


async def until_the_worker_ends(pilot, screen, target: int, log: Path) -> None:
    """Let the app run until the highlighted study has `target` trials finished and no worker runs;
    else fail with the worker's output."""
    try:
        await until(
            pilot,
            lambda: (
                screen.studies
                and screen.studies[0]["finished"] == target
                and "no worker running" in str(screen.query_one("#progress").render())
            ),
            seconds=90,
        )
    except AssertionError:
        raise AssertionError(f"engine optimize did not reach {target} trials; its output:\n{log.read_text()}") from None


async def test_a_study_is_started_and_resumed_from_the_studies_screen(runs_home, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(runs_home, home)
    monkeypatch.setenv("ENGINE_HOME", str(home))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parents[1]))
    app = app_over(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        screen = app.screen
        for target, key in ((2, "a"), (3, "r")):
            await pilot.press(key)
            await pilot.pause()
            request = app.screen
            assert isinstance(request, StudyRequest)
            request.query_one("#strategy").value = "sma_cross"
            request.query_one("#trials").value = str(target)
            await pilot.click("#go")
            await until_the_worker_ends(pilot, screen, target, home / "runs" / ".optimize-sma_cross.log")
            assert screen.studies[0]["study"] == "sma_cross"
        # One that fails says why on the screen: a workspace strategy whose search space names a
        # parameter it does not have.
        (home / "strategies").mkdir()
        sma_cross = (Path(__file__).parents[1] / "strategies" / "sma_cross.toml").read_text()
        broken = sma_cross.replace('name = "sma_cross"', 'name = "misspelt"').replace('"signal.fast" =', '"signal.fats" =')
        (home / "strategies" / "misspelt.toml").write_text(broken)
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#strategy").value = "misspelt"
        await pilot.click("#go")
        await until(pilot, lambda: "exited" in str(screen.query_one("#exits").render()))
        failure = str(screen.query_one("#exits").render())
        assert "engine optimize exited 2: error:" in failure and "signal.fats" in failure


async def test_a_run_detail_shows_its_warnings_and_what_the_risk_gate_did(runs_home, tmp_path):
    """A backtest whose kill switch trips: the Risk tab has the gate's line and each event as the
    report lists them; the metrics tab says what the metrics' warnings say."""
    home = tmp_path / "home"
    shutil.copytree(runs_home / "data", home / "data")
    workspace = Workspace(home)
    strategy = load_strategy("sma_cross").with_overrides(risk={"daily_loss": 0.01})
    run = workspace.runs.load(journaled_backtest(resolve_strategy(strategy), workspace, ["engine", "backtest"]).run_id)
    assert run.risk["halted"] is not None and run.metrics["warnings"]
    app = app_over(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailScreen)
        warnings = str(app.screen.query_one("#warnings").render())
        assert all(f"warning: {warning}" in warnings for warning in run.metrics["warnings"])
        app.screen.query_one(TabbedContent).active = "risk-tab"
        await pilot.pause()
        assert str(app.screen.query_one("#risk-summary").render()) == risk_summary(run.risk)
        table = app.screen.query_one("#risk")
        shown = [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]
    assert shown == [[str(cell) for cell in row] for row in risk_gate_table(run.risk).rows] and "daily_loss" in shown[0]


async def test_a_study_made_with_a_space_file_is_resumed_with_it(runs_home, tmp_path, monkeypatch):
    """`r` on a study made with `--space FILE` runs `engine optimize ... --space FILE`, which resumes
    it (without the space, engine optimize refuses the mismatch)."""
    home = tmp_path / "home"
    shutil.copytree(runs_home / "data", home / "data")
    space = tmp_path / "narrow.toml"
    space.write_text('min_trades = 1\n[space]\n"signal.fast" = { low = 20, high = 40, step = 10 }\n')
    engine(home, "optimize", "--strategy", "sma_cross", "--space", str(space), "--trials", "2", "--study", "narrow")
    monkeypatch.setenv("ENGINE_HOME", str(home))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parents[1]))
    app = app_over(home)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        screen = app.screen
        await until(pilot, lambda: bool(screen.studies))
        await pilot.press("r")
        await pilot.pause()
        app.screen.query_one("#trials").value = "3"
        await pilot.click("#go")
        await until_the_worker_ends(pilot, screen, 3, home / "runs" / ".optimize-narrow.log")
    assert screen.studies[0]["space_file"] == str(space)
