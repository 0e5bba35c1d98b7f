"""Results that rest on no or too few trades are said to, never passed as results: a threshold
calibration with nothing to choose by fails naming its candidates, a thin backtest or calibration
is flagged (in --json, metrics.json and the report), and a study's Pareto front leaves out trials
that never traded, lists each member once, and refuses a search space it was not created with.

sma_cross stands in for a score: its target weights (0.5 per symbol while long) are what a
threshold overlay gates, so an entry above 0.5 never trades.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna

from engine.analytics.plausibility import MIN_TRADES
from tests.test_cli import engine
from tests.test_user_errors import assert_one_line_error

REPO = Path(__file__).resolve().parent.parent
RULE = (REPO / "strategies" / "sma_cross.toml").read_text().split("# `engine optimize")[0]  # without its [optimize] table


def sma_strategy(folder: Path, name: str, overlay: str, optimize: str = "") -> str:
    """sma_cross under another name, with one threshold overlay (and an [optimize] table); the file's path."""
    text = RULE.replace('name = "sma_cross"', f'name = "{name}"').replace("[costs]", f"[[overlays]]\n{overlay}\n\n[costs]")
    path = folder / f"{name}.toml"
    path.write_text(text + optimize)
    return str(path)


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_a_calibration_whose_candidates_never_trade_fails_naming_them(cli, tmp_path, sample_home):
    calibrate = 'kind = "threshold"\ncalibrate = { validation_bars = 600, entries = [0.9, 0.95], exits = [0.8] }'
    result = cli("backtest", "--strategy", sma_strategy(tmp_path, "sma_unreachable", calibrate))
    assert_one_line_error(
        result,
        r"^error: strategy sma_unreachable: overlays\[0\]\.calibrate: none of the entry/exit candidates 0\.9/0\.8, 0\.95/0\.8 "
        r"made a trade in its validation window \(1999-01-04 to 2001-05-18\)",
    )
    (run,) = (sample_home / "runs").glob("*-sma_unreachable-*")
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "failed" and "none of the entry/exit candidates" in status["error"]
    assert sorted(path.name for path in run.iterdir()) == ["status.json"]  # no results, whole or half


def test_a_calibration_chosen_on_few_trades_is_flagged_and_shown_in_the_report(cli, tmp_path):
    calibrate = 'kind = "threshold"\ncalibrate = { validation_bars = 600, entries = [0.4, 0.6], exits = [0.3] }'
    result = cli("backtest", "--strategy", sma_strategy(tmp_path, "sma_calibrated", calibrate), "--json")
    assert result.returncode == 0, result.stderr
    payload = last_json(result.stdout)
    calibration = json.loads((Path(payload["run_dir"]) / "calibration.json").read_text())["thresholds"][0]
    chosen = next(trial for trial in calibration["trials"] if trial["entry"] == 0.4)
    assert calibration["chosen"] == {"entry": 0.4, "exit": 0.3} and 0 < chosen["trades"] < MIN_TRADES
    warning = (
        "the threshold calibration of overlays[0] (entry 0.4, exit 0.3, chosen over 1999-01-04 to 2001-05-18) "
        f"rests on {chosen['trades']} trades, fewer than {MIN_TRADES}: too few to judge by"
    )
    assert payload["warnings"] == [warning] and f"warning: {warning}" in " ".join(result.stderr.split())
    assert json.loads((Path(payload["run_dir"]) / "metrics.json").read_text())["warnings"] == [warning]
    page = Path(payload["report"]).read_text()
    assert f"<li>warning: {warning}</li>" in page
    assert "chosen entry 0.4, exit 0.3 (best net Sharpe)" in page
    candidates = re.findall(r"<tr><td>([\d.]+)</td><td>([\d.]+)</td><td>(\d+)</td><td>([^<]*)</td><td>(\w*)</td></tr>", page)
    assert candidates == [
        ("0.4", "0.3", str(chosen["trades"]), f"{chosen['sharpe']:.3f}", "chosen"),
        ("0.6", "0.3", "0", "–", ""),
    ]


def test_a_backtest_on_a_few_trades_is_flagged_but_buy_and_hold_is_not(cli):
    result = cli("backtest", "--strategy", "sma_cross", "--start", "2018-01-01", "--json")
    payload = last_json(result.stdout)
    trades = payload["metrics"]["trades"]
    assert 0 < trades < MIN_TRADES
    assert payload["warnings"] == [f"the result rests on {trades} trades, fewer than {MIN_TRADES}: too few to judge by"]
    assert payload["warnings"][0] in Path(payload["report"]).read_text()
    held = last_json(cli("backtest", "--strategy", "buy_and_hold", "--json").stdout)
    assert held["metrics"]["trades"] == 2 and held["warnings"] == []  # the market's result, one position per symbol


# A study whose threshold is tuned between a reachable entry (0.4) and one that never trades (0.9).
GATED = 'kind = "threshold"\nentry = 0.4\nexit = 0.3'
GATED_SPACE = '[optimize]\nholdout = 0.2\n\n[optimize.space]\n"overlays.threshold.entry" = { choices = [0.4, 0.9] }\n'


def test_a_study_front_leaves_out_untraded_trials_lists_members_once_and_keeps_its_space(cli, tmp_path, sample_home):
    strategy = sma_strategy(tmp_path, "sma_gated", GATED, GATED_SPACE)
    study_args = ("optimize", "--strategy", strategy, "--study", "gated", "--sampler", "random", "--seed", "9")
    run = engine(sample_home, *study_args, "--trials", "4")  # a new interpreter: a terminal 200 columns wide
    study = optuna.load_study(study_name="gated", storage=f"sqlite:///{sample_home / 'runs' / 'studies.sqlite3'}")
    untraded = [trial.number for trial in study.trials if trial.user_attrs["evaluation"]["metrics"]["trades"] == 0]
    traded = [trial.number for trial in study.trials if trial.number not in untraded]
    assert untraded and len(traded) >= 2  # seed 9: both entries drawn, the reachable one twice
    assert {trial.number for trial in study.best_trials} & set(untraded)  # Optuna's own front would name a flat trial
    err = " ".join(run.stderr.split())
    assert f"{len(untraded)} of 4 completed trials made no trades and are left out of the Pareto front" in err
    assert "max_drawdown 0.000" not in err  # the best so far is among trials that traded
    member = f"{traded[0]} (also {', '.join(map(str, traded[1:]))})"  # one parameter set: one member
    rows = [line for line in run.stdout.splitlines() if "overlays.threshold.entry = " in line]
    assert len(rows) == 1 and rows[0].split("\t")[0] == member  # piped: tab-separated
    record = json.loads(next((sample_home / "runs").glob("*-sma_gated-*/study.json")).read_text())
    assert record["pareto_trials"] == [traded[0]]
    assert any("left out of the Pareto front" in warning for warning in record["warnings"])
    page = (sample_home / "runs" / "studies" / "gated" / "report.html").read_text()
    assert f"<td>{member}</td>" in page and "made no trades and are left out of the Pareto front" in page

    resumed = cli(*study_args, "--trials", "4")
    assert "study gated has 4 finished trials; --trials 4 is its target total: no more to run" in " ".join(resumed.stdout.split())

    narrow = tmp_path / "narrow.toml"
    narrow.write_text('[space]\n"overlays.threshold.entry" = { choices = [0.4] }\n')
    before = optuna.load_study(study_name="gated", storage=f"sqlite:///{sample_home / 'runs' / 'studies.sqlite3'}")
    refused = cli(*study_args, "--trials", "8", "--space", str(narrow))
    assert_one_line_error(
        refused,
        r"study 'gated' in sqlite:///\S+ was created with the search space \{overlays\.threshold\.entry in \[0\.4, 0\.9\]\}; "
        rf"--space {re.escape(str(narrow))} gives \{{overlays\.threshold\.entry in \[0\.4\]\}}: resume it with the same space",
    )
    after = optuna.load_study(study_name="gated", storage=f"sqlite:///{sample_home / 'runs' / 'studies.sqlite3'}")
    assert len(after.trials) == len(before.trials) and after.user_attrs == before.user_attrs
