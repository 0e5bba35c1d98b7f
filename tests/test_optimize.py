"""engine optimize end to end: real Optuna studies in SQLite, real signals; the exported strategy
reproduces its trial. Many workers and interruption are in test_optimize_workers.py."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import optuna
import pytest
from helpers import free_port, wait_for
from studies import load, states, storage_of
from test_cli import engine

from engine.optimize.deflated_sharpe import deflated_sharpe_ratio
from engine.optimize.errors import SearchSpaceError
from engine.optimize.pareto import pareto_front
from engine.optimize.space import SearchSpace, read_space_file, resolve_overlay_parameters, resolve_parameters
from engine.optimize.summary import completed, feasible
from engine.strategies.files import load_strategy
from engine.strategies.resolution import resolve_strategy
from engine.strategies.schema import OptimizeSpec, StrategyError, parse_strategy

REPO = Path(__file__).resolve().parent.parent


# Search spaces


def test_unknown_parameters_and_empty_ranges_are_named():
    gru93 = load_strategy("gru93")
    with pytest.raises(SearchSpaceError, match=r"'overlays.stops.stop_lost'.*stop_loss"):
        SearchSpace.of(gru93, OptimizeSpec.model_validate({"space": {"overlays.stops.stop_lost": {"low": 0.01, "high": 0.1}}}))
    with pytest.raises(SearchSpaceError, match=r"'signal.hyperparameters.hiden'.*hidden"):
        SearchSpace.of(gru93, OptimizeSpec.model_validate({"space": {"signal.hyperparameters.hiden": {"choices": [32]}}}))
    trend_window = OptimizeSpec.model_validate({"space": {"overlays.trend.window": {"low": 5, "high": 9}}})
    with pytest.raises(SearchSpaceError, match="has no 'trend' overlays"):
        SearchSpace.of(load_strategy("sma_cross"), trend_window)
    raw = load_strategy("sma_cross").model_dump(mode="json")
    raw["optimize"] = {"space": {"signal.fast": {"low": 50, "high": 50}}}
    with pytest.raises(StrategyError, match=r"optimize.space.signal.fast.*empty range"):
        parse_strategy(raw, "tuned.toml")
    raw["optimize"] = {"space": {"signal.fast": {"choices": []}}}
    with pytest.raises(StrategyError, match="choices is empty"):
        parse_strategy(raw, "tuned.toml")


def test_overlay_parameters_resolve_as_the_whole_strategy_would():
    """An overlay-only trial resolves only the overlays it changes: the same strategy and chain as
    resolving the whole strategy anew, and the same error for settings its plugin refuses."""
    gru93 = load_strategy("gru93")
    tuned = {"overlays.threshold.entry": 0.55, "overlays.threshold.exit": 0.35, "overlays.stops.stop_loss": 0.04}
    ours, whole = resolve_overlay_parameters(resolve_strategy(gru93), tuned), resolve_parameters(gru93, tuned)
    assert ours.strategy == whole.strategy and "calibrate" not in ours.strategy.overlays[0]
    assert [(link.position, link.config) for link in ours.chain] == [(link.position, link.config) for link in whole.chain]
    assert gru93.overlays[0]["entry"] == 0.45 and "calibrate" in gru93.overlays[0]  # the study's strategy is left as it was
    refused = {"overlays.threshold.entry": 0.4, "overlays.threshold.exit": 0.45}
    with pytest.raises(SearchSpaceError) as ours_error:
        resolve_overlay_parameters(resolve_strategy(gru93), refused)
    with pytest.raises(SearchSpaceError) as whole_error:
        resolve_parameters(gru93, refused)
    assert str(ours_error.value) == str(whole_error.value)
    assert "exit (0.45) must not be above entry (0.4)" in str(ours_error.value)


def test_a_broken_space_file_names_the_file(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text('[space]\n"signal.fast" = { low = 10 }\n')
    with pytest.raises(SearchSpaceError, match=f"{space}.*low and high"):
        read_space_file(space)


# Studies in SQLite


@pytest.fixture(scope="module")
def sma_study(sample_home) -> dict:
    """sma_cross tuned for 6 trials with a seed, then resumed to 9."""
    first = engine(sample_home, "optimize", "--strategy", "sma_cross", "--study", "sma", "--trials", "6", "--seed", "7")
    params = [trial.params for trial in load(sample_home, "sma").trials]
    resumed = engine(sample_home, "optimize", "--strategy", "sma_cross", "--study", "sma", "--trials", "9", "--seed", "7")
    return {"first": first, "params": params, "resumed": resumed}


def test_a_study_reports_its_pareto_front_holdout_and_deflated_sharpe(sample_home, sma_study):
    out = sma_study["first"].stdout
    assert "Pareto front" in out and "holdout sharpe" in out and "deflated sharpe" in out
    report = Path(out.split("report: ")[-1].split()[0])
    assert report == sample_home / "runs" / "studies" / "sma" / "report.html" and report.exists()
    study = load(sample_home, "sma")
    assert study.user_attrs["strategy"] == "sma_cross" and study.user_attrs["objectives"] == ["sharpe", "max_drawdown"]
    holdout = study.user_attrs["holdout"]
    pareto = [trial.number for trial in pareto_front(study).trials]
    assert pareto and set(map(int, holdout)) >= set(pareto)
    split = study.user_attrs["split"]
    for trial in study.trials:  # trials saw the validation period only
        assert trial.user_attrs["evaluation"]["metrics"]["trades"] >= 0
    assert split["holdout_start"] > split["validation_end"]
    # The front's drawdowns are written as every drawdown is (negative), beside the holdout's.
    lines = out.splitlines()
    header = lines[lines.index("# Pareto front (validation; holdout once each)") + 1].split("\t")
    rows = [line.split("\t") for line in lines[lines.index("# Pareto front (validation; holdout once each)") + 2 :]]
    rows = rows[: next(index for index, row in enumerate(rows) if row[0].startswith("#"))]
    for row in rows:
        drawdown, holdout_drawdown = row[header.index("max_drawdown")], row[header.index("holdout max_drawdown")]
        assert drawdown.startswith("-") and drawdown.endswith("%") and holdout_drawdown.startswith("-"), row
    # The progress line's best values come from feasible trials that traded, written as metrics.
    feasible_trials = [
        trial for trial in completed(study)[:6] if feasible(trial) and trial.user_attrs["evaluation"]["metrics"]["trades"]
    ]
    sharpe = max(trial.user_attrs["evaluation"]["metrics"]["sharpe"] for trial in feasible_trials)
    drawdown = max(trial.user_attrs["evaluation"]["metrics"]["max_drawdown"] for trial in feasible_trials)
    assert f"6 of 6 trials done; best sharpe {sharpe:.3f}, max_drawdown {drawdown:.2%}" in sma_study["first"].stderr


def test_running_a_study_again_resumes_it(sample_home, sma_study):
    study = load(sample_home, "sma")
    assert states(study) == {"COMPLETE": 9}
    assert [trial.params for trial in study.trials[:6]] == sma_study["params"]
    again = engine(sample_home, "optimize", "--strategy", "sma_cross", "--study", "sma", "--trials", "9")
    assert states(load(sample_home, "sma")) == {"COMPLETE": 9} and "Pareto front" in again.stdout


def test_each_study_command_is_a_run_of_the_run_store(sample_home, sma_study):
    listed = json.loads(engine(sample_home, "runs", "list", "--json").stdout)
    runs = [run for run in listed if run["kind"] == "study" and run["strategy"] == "sma_cross"]
    assert len(runs) >= 2
    assert {run["status"] for run in runs} <= {"finished", "interrupted", "failed"}
    finished = [run["id"] for run in runs if run["status"] == "finished"]
    records = [json.loads((sample_home / "runs" / run_id / "study.json").read_text()) for run_id in finished]
    assert "sma" in {record["study"] for record in records}  # other tests study sma_cross too
    assert all("password" not in record["storage"] for record in records)


def test_same_seed_same_trials(sample_home, sma_study):
    engine(sample_home, "optimize", "--strategy", "sma_cross", "--study", "sma-again", "--trials", "6", "--seed", "7")
    assert [trial.params for trial in load(sample_home, "sma-again").trials] == sma_study["params"]
    assert [trial.values for trial in load(sample_home, "sma-again").trials] == [
        trial.values for trial in load(sample_home, "sma").trials[:6]
    ]


def test_a_study_of_another_strategy_is_refused_and_left_intact(sample_home, sma_study, tmp_path):
    before = load(sample_home, "sma")
    other = tmp_path / "other_sma.toml"
    other.write_text((REPO / "strategies" / "sma_cross.toml").read_text().replace('name = "sma_cross"', 'name = "other_sma"'))
    refused = engine(sample_home, "optimize", "--strategy", str(other), "--study", "sma", "--trials", "20", check=False)
    assert refused.returncode == 2 and "created for strategy 'sma_cross', not 'other_sma'" in refused.stderr
    refused = engine(
        sample_home, "optimize", "-s", "sma_cross", "--study", "sma", "--trials", "20", "--objectives", "sharpe", check=False
    )
    assert refused.returncode == 2 and "optimizes sharpe,max_drawdown" in refused.stderr
    after = load(sample_home, "sma")
    assert len(after.trials) == len(before.trials) and after.user_attrs == before.user_attrs


def test_an_invalid_combination_fails_its_trial_only(sample_home, tmp_path):
    space = tmp_path / "overlapping.toml"
    space.write_text('[space]\n"signal.fast" = { low = 10, high = 250 }\n"signal.slow" = { low = 100, high = 300 }\n')
    run = engine(
        sample_home, "optimize", "-s", "sma_cross", "--space", str(space), "--study", "overlap", "--trials", "8", "--seed", "3"
    )
    counted = states(load(sample_home, "overlap"))
    assert counted["COMPLETE"] == 8 and counted.get("FAIL", 0) >= 1  # failed trials do not count toward --trials
    assert "failed: these parameters make an invalid strategy" in run.stdout and "must be shorter than slow" in run.stdout


def test_show_and_clear_errors(sample_home, sma_study):
    shown = engine(sample_home, "optimize", "show", "sma")
    assert "Pareto front" in shown.stdout and "parameter importances" in shown.stdout
    missing = engine(sample_home, "optimize", "show", "nope", check=False)
    assert missing.returncode == 2 and "no study 'nope'" in missing.stderr and "sma" in missing.stderr


def test_optuna_dashboard_opens_the_study(sample_home, sma_study):
    port = free_port()
    dashboard = Path(sys.executable).parent / "optuna-dashboard"
    server = subprocess.Popen([str(dashboard), storage_of(sample_home), "--port", str(port), "--quiet"], stderr=subprocess.PIPE)

    def studies_listed() -> list[dict] | None:
        assert server.poll() is None, f"optuna-dashboard exited: {server.stderr.read().decode()}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as reply:
                return json.load(reply)["study_summaries"]
        except OSError:  # not listening yet
            return None

    try:
        summaries = wait_for(studies_listed)
        assert "sma" in {summary["study_name"] for summary in summaries}
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_an_unreachable_storage_is_one_line_without_the_password(sample_home):
    url = f"postgresql+psycopg://engine:s3cret-pw@127.0.0.1:{free_port()}/studies"
    result = engine(sample_home, "optimize", "-s", "sma_cross", "--trials", "2", "--storage", url, check=False)
    assert result.returncode == 2
    assert "cannot open the study storage postgresql+psycopg://engine:***@127.0.0.1" in result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr and "Traceback" not in result.stderr


# The model path: cached predictions, export, exact reproduction


def test_overlay_trials_reuse_predictions_and_an_export_reproduces_its_trial(sample_home, tmp_path):
    """The README's recipe, from a directory that is not the workspace: the built-in search space by
    its path in the repository, the export into the workspace, the backtest of it by name."""
    space = "configs/search/gru93-overlays.toml"
    run = engine(
        sample_home,
        "optimize",
        *("--strategy", "gru93", "--space", space, "--study", "gru93-overlays", "--trials", "6", "--seed", "1"),
        cwd=tmp_path,
    )
    assert "Pareto front" in run.stdout
    study = load(sample_home, "gru93-overlays")
    assert states(study) == {"COMPLETE": 6}
    # One model configuration: its predictions were computed once for the validation bars (and once
    # for the whole history, for the holdout), however many trials ran.
    assert len(list((sample_home / "models" / "predictions").glob("*.json"))) == 2

    best = max(study.trials, key=lambda trial: trial.values[0])
    export_as = ("optimize", "export", "gru93-overlays", "--as", "gru93_tuned")
    export = engine(sample_home, *export_as, "--trial", str(best.number), cwd=tmp_path)
    exported = sample_home / "strategies" / "gru93_tuned.toml"
    assert str(exported) in export.stdout.replace("\n", "")
    tuned = load_strategy(str(exported))
    assert tuned.name == "gru93_tuned" and tuned.optimize == load_strategy("gru93").optimize  # the space travels along
    assert tuned.overlays[0]["entry"] == best.user_attrs["parameters"]["overlays.threshold.entry"]
    assert "calibrate" not in tuned.overlays[0]  # the study tuned the threshold itself
    validation_end = study.user_attrs["split"]["validation_end"]
    backtest = engine(sample_home, "backtest", "--strategy", "gru93_tuned", "--end", validation_end, "--json", cwd=tmp_path)
    metrics = json.loads(backtest.stdout.strip().splitlines()[-1])["metrics"]
    for name, value in best.user_attrs["evaluation"]["metrics"].items():
        assert metrics[name] == value, name
    again = engine(sample_home, *export_as, "--trial", "0", cwd=tmp_path, check=False)
    assert again.returncode == 2 and "exists" in again.stderr
    shadowing = engine(sample_home, *export_as[:-1], "gru93", "--trial", "0", cwd=tmp_path, check=False)
    assert shadowing.returncode == 2 and shadowing.stderr.splitlines()[-1] == (
        "error: --as gru93 would hide the built-in strategy gru93; choose another --as NAME or pass --force"
    )
    assert not (sample_home / "strategies" / "gru93.toml").exists()
    exported.unlink()  # the session's workspace stays as other tests expect it


def test_one_objective_prunes_a_model_that_trails_after_a_fold():
    from types import SimpleNamespace

    from engine.optimize.evaluation import OBJECTIVES
    from engine.optimize.study import Interruption, TrialObjective

    def fold(auc: float):
        return SimpleNamespace(metrics={"roc_auc": auc}, fold=SimpleNamespace(index=0))

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=5))
    single = TrialObjective.__new__(TrialObjective)
    single.opened, single.interruption = SimpleNamespace(objectives=[OBJECTIVES["sharpe"]]), Interruption(study)
    for auc in (0.55, 0.56, 0.57, 0.58, 0.59):
        trial = study.ask()
        single._after_fold(trial, fold(auc))
        study.tell(trial, 1.0)
    single._after_fold(study.ask(), fold(0.60))  # above the median: goes on
    with pytest.raises(optuna.TrialPruned, match="fold 0: out-of-sample ROC-AUC 0.500"):
        single._after_fold(study.ask(), fold(0.50))
    several = TrialObjective.__new__(TrialObjective)  # Optuna cannot prune multi-objective studies
    several.opened = SimpleNamespace(objectives=[OBJECTIVES["sharpe"], OBJECTIVES["max_drawdown"]])
    several.interruption = Interruption(study)
    several._after_fold(study.ask(), fold(0.10))


# The deflated Sharpe ratio


def test_a_trials_return_skewness_and_kurtosis_are_scipys():
    """What the deflated Sharpe ratio is given: the returns' moments as scipy.stats has them (the
    evaluation computes them itself, in every trial)."""
    from scipy.stats import kurtosis, skew

    from engine.optimize.evaluation import _skewness_and_kurtosis

    for returns in (np.random.default_rng(3).standard_t(3, 2000) * 0.01, np.r_[np.zeros(500), 0.02, -0.001]):
        skewness, not_excess = _skewness_and_kurtosis(returns)
        assert skewness == pytest.approx(skew(returns), rel=1e-12)
        assert not_excess == pytest.approx(kurtosis(returns, fisher=False), rel=1e-12)


def test_deflated_sharpe_follows_bailey_and_lopez_de_prado():
    # One trial: no deflation, the probabilistic Sharpe ratio against zero.
    z = 0.1 * math.sqrt(252) / math.sqrt(1 + (3 - 1) / 4 * 0.1**2)
    assert deflated_sharpe_ratio(0.1, 253, 0.0, 3.0, np.array([0.1])) == pytest.approx(0.5 * (1 + math.erf(z / math.sqrt(2))))
    # Two trials with per-bar Sharpe ratios 0 and 0.1: SR0 = sd × (γ Φ⁻¹(1 − 1/(2e))) ≈ 0.03676.
    assert deflated_sharpe_ratio(0.1, 253, 0.0, 3.0, np.array([0.0, 0.1])) == pytest.approx(0.8417, abs=1e-3)
    # More trials with the same spread deflate more; negative skew and fat tails weaken the evidence.
    many = np.random.default_rng(0).normal(0, 0.05, 200)
    few = deflated_sharpe_ratio(0.1, 253, 0.0, 3.0, many[:10])
    assert deflated_sharpe_ratio(0.1, 253, 0.0, 3.0, many) < few
    assert few > 0.5 and deflated_sharpe_ratio(0.1, 253, -1.0, 8.0, many[:10]) < few
