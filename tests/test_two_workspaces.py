"""One process, two workspaces: each backtest finds its own strategy files, plugins, bars, news and run
store, whatever `$ENGINE_HOME` says, because the workspace is passed down, never read from the environment."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from engine.features.base import FeatureContext
from engine.features.sentiment import NewsSentiment, SentimentSettings
from engine.news.timeline import SentimentInputError
from engine.strategies.files import load_strategy
from engine.strategies.resolution import resolve_strategy, strategy_with_overrides
from engine.strategies.schema import StrategyError
from engine.usecases.backtest import run_backtest
from engine.usecases.backtest_run import journaled_backtest
from engine.workspace import Workspace
from tests.test_plugins import strategy_for, write_plugin
from tests.test_sentiment_feature import publish

MINE = """name = "mine"
[data]
symbols = ["SP500", "NASDAQ"]
timeframe = "1d"
[signal]
kind = "sma_cross"
fast = {fast}
slow = 200
"""


@pytest.fixture
def two(sample_home, tmp_path, monkeypatch):
    """Workspaces A and B with the sample's bars, each with its own `mine` strategy; $ENGINE_HOME points at
    neither."""
    workspaces = []
    for name, fast in (("a", 20), ("b", 80)):
        root = tmp_path / name
        shutil.copytree(sample_home / "data", root / "data", ignore=shutil.ignore_patterns("news"))
        (root / "strategies").mkdir()
        (root / "strategies" / "mine.toml").write_text(MINE.format(fast=fast))
        workspaces.append(Workspace(root))
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path / "neither"))
    return workspaces


def test_each_workspace_backtests_its_own_strategy_into_its_own_run_store(two):
    a, b = two
    runs = {}
    for workspace in two:
        stored = journaled_backtest(strategy_with_overrides("mine", workspace), workspace, ["test"])
        runs[workspace.root.name] = stored
        assert [run.run_id for run in workspace.runs.list()] == [stored.run_id]
    assert runs["a"].result.strategy.signal.fast == 20 and runs["b"].result.strategy.signal.fast == 80
    assert runs["a"].result.metrics["final_equity"] != runs["b"].result.metrics["final_equity"]
    again = run_backtest(load_strategy("mine", a), a)  # the same answer, whatever ran in between
    np.testing.assert_array_equal(again.execution.equity, runs["a"].result.execution.equity)
    with pytest.raises(StrategyError, match="unknown strategy 'mine'"):
        load_strategy("mine")  # no workspace: only the built-ins


def test_a_drop_in_plugin_is_seen_only_by_its_own_workspace(two):
    a, b = two
    write_plugin(a.plugins, "only_in_a")
    assert resolve_strategy(strategy_for("only_in_a"), workspace=a).model is not None
    with pytest.raises(StrategyError, match="no model plugin named 'only_in_a'"):
        resolve_strategy(strategy_for("only_in_a"), workspace=b)


def test_the_sentiment_feature_reads_the_news_of_the_workspace_it_was_resolved_in(two):
    a, b = two
    publish(a.root, [(1, "2021-03-02 15:00:00", "SYN00", 0.5)])
    settings = SentimentSettings()
    assert NewsSentiment(settings, FeatureContext(("SYN00",), "1h", a.news)).events()["SYN00"][0].size > 0
    with pytest.raises(SentimentInputError, match=re.escape(f"no news about SYN00 in {b.news.path}")):
        NewsSentiment(settings, FeatureContext(("SYN00",), "1h", b.news)).events()
