"""Bad input to `engine optimize`: a storage it cannot open, a search space no trial could use, a
space whose every trial fails, an empty space, and a rerun right after a worker was killed.
Refusals are one line naming the URL, or the space file and the parameter, exit 2, before any
trial or run is stored."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest
from rich.console import Console

from engine.cli.output import ERROR, Column, print_labelled, print_line, print_table
from tests.studies import frozen_tally, kill_when, load, start, states, trials_of
from tests.test_user_errors import assert_one_line_error

RUNNING, COMPLETE, FAIL = optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL
SLOW = '"signal.slow" = { low = 120, high = 300, step = 10 }'

# A line of the space file for `signal.fast` (sma_cross: an integer, at least 1), and the error.
BAD_SPACES = {
    "negative step": ('"signal.fast" = { low = 10, high = 100, step = -5 }', r"signal\.fast: .*must be positive \(got -5\)"),
    "zero step": ('"signal.fast" = { low = 10, high = 100, step = 0 }', r"signal\.fast: .*must be positive \(got 0\)"),
    "float range for an integer": ('"signal.fast" = { low = 10.5, high = 100.5 }', r"signal\.fast takes whole numbers"),
    "float step for an integer": ('"signal.fast" = { low = 10, high = 100, step = 2.5 }', r"signal\.fast takes whole numbers"),
    "step and log": ('"signal.fast" = { low = 10, high = 100, step = 5, log = true }', r"signal\.fast: .*give step or log"),
    "below the minimum": (
        '"signal.fast" = { low = 0, high = 50 }',
        r"signal\.fast: low 0 is not valid: .*greater than or equal to 1",
    ),
    "a choice of the wrong type": ('"signal.fast" = { choices = [10, "twenty"] }', r"signal\.fast: choice 'twenty' is not valid"),
}


@pytest.fixture
def home(tmp_path, sample_home, monkeypatch) -> Path:
    """A workspace sharing the sample data, with a run store (and study storage) of its own."""
    (tmp_path / "data").symlink_to(sample_home / "data")
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path))
    return tmp_path


def test_a_storage_that_cannot_be_created_is_one_line_naming_it(cli, home):
    url = "sqlite:////proc/nope/x.db"
    result = cli("optimize", "-s", "sma_cross", "--trials", "2", "--storage", url)
    assert_one_line_error(result, rf"cannot open the study storage {re.escape(url)}: .*/proc/nope")
    assert not (home / "runs").exists()


@pytest.mark.parametrize("case", list(BAD_SPACES))
def test_a_bad_search_space_is_refused_before_any_trial(cli, home, case):
    line, pattern = BAD_SPACES[case]
    space = home / "space.toml"
    space.write_text(f"[space]\n{line}\n{SLOW}\n")
    result = cli("optimize", "-s", "sma_cross", "--trials", "2", "--space", str(space))
    assert_one_line_error(result, rf"{re.escape(str(space))}: (space\.)?{pattern}")
    assert not (home / "runs").exists()  # no study storage, no run


def test_an_empty_space_names_its_table_with_the_brackets(cli, home):
    space = home / "empty.toml"
    space.write_text("[space]\n")
    result = cli("optimize", "-s", "sma_cross", "--trials", "2", "--space", str(space))
    assert_one_line_error(result, rf"{re.escape(str(space))}: the search space is empty; .*\[space\] table")


def test_a_study_whose_every_trial_fails_exits_2_with_the_reason(cli, home):
    space = home / "fast_above_slow.toml"  # every fast is above every slow: no valid strategy
    space.write_text('[space]\n"signal.fast" = { low = 210, high = 250, step = 10 }\n"signal.slow" = { low = 120, high = 200 }\n')
    result = cli("optimize", "-s", "sma_cross", "--trials", "2", "--space", str(space), "--study", "hopeless")
    assert_one_line_error(
        result, r"study hopeless: 20 trials in a row failed, 0 of 2 finished; the last: .*must be shorter than slow"
    )
    assert states(load(home, "hopeless")) == {"FAIL": 20}
    (run,) = [path for path in (home / "runs").iterdir() if path.is_dir() and path.name != "studies"]
    assert '"status": "failed"' in (run / "status.json").read_text()


def test_a_rerun_right_after_a_kill_fails_the_dead_trial_and_counts_the_rest(cli, home):
    """The default heartbeat (10 s, stale after 30 s) has not expired: the dead worker's process is
    what tells the rerun that its trial will never finish."""
    study = "killed"
    options = ("-s", "sma_cross", "--study", study, "--objectives", "sortino", "--sampler", "random")
    process = start(home, *options, "--trials", "500")

    def a_trial_runs_with_its_worker_recorded() -> bool:
        tally = frozen_tally(home, study)
        return tally["COMPLETE"] >= 1 and tally["RUNNING claimed"] >= 1

    kill_when(process, a_trial_runs_with_its_worker_recorded)
    orphans = trials_of(home, study, RUNNING)
    assert len(orphans) == 1 and "worker" in orphans[0].user_attrs
    done = len(trials_of(home, study, COMPLETE))
    result = cli("optimize", *options, "--trials", str(done + 1))
    assert result.returncode == 0, result.stderr
    finished = load(home, study)
    assert finished.trials[orphans[0].number].state == FAIL
    assert "RUNNING" not in states(finished) and states(finished)["COMPLETE"] == done + 1


def test_brackets_in_user_text_are_printed_not_read_as_markup():
    """A TOML table (`[optimize.space]`) or a list in a message, a title or a cell reaches the terminal whole."""
    console = Console(width=120, force_terminal=True, color_system=None, record=True)
    print_labelled(ERROR, "strategy x: add an [optimize.space] table", console)
    print_line("trial 3 failed: [bold] is no style here", console)
    print_table([Column("study [x]", identifier=True)], [["[optimize.space]"]], title="study [sma]", console=console)
    text = console.export_text()
    for shown in ("error: strategy x: add an [optimize.space] table", "[bold] is no style", "study [x]", "study [sma]"):
        assert shown in text
    assert text.count("[optimize.space]") == 2
