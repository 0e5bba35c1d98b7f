"""One rule for the files a user names: as given from where they stand, then the workspace, then
the built-ins, whatever the current directory."""

from __future__ import annotations

import pytest
from test_cli import engine

from engine import resources
from engine.optimize.errors import SearchSpaceError
from engine.optimize.space import find_space_file
from engine.strategies.files import find_strategy, list_strategies, load_strategy
from engine.strategies.lookup import find_file
from engine.workspace import Workspace


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty workspace, with the user standing in another directory."""
    workspace, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    (workspace / "strategies").mkdir(parents=True)
    elsewhere.mkdir()
    monkeypatch.setenv("ENGINE_HOME", str(workspace))
    monkeypatch.chdir(elsewhere)
    return workspace


def test_a_workspace_strategy_comes_before_the_built_in_of_that_name(home):
    workspace = Workspace(home)
    assert find_strategy("sma_cross", workspace) == resources.ROOT / "strategies" / "sma_cross.toml"
    text = (resources.ROOT / "strategies" / "sma_cross.toml").read_text().replace("fast = 50", "fast = 20")
    (home / "strategies" / "sma_cross.toml").write_text(text)
    (home / "strategies" / "mine.toml").write_text(text.replace('name = "sma_cross"', 'name = "mine"'))
    assert load_strategy("sma_cross", workspace).signal.fast == 20
    assert {"mine", "sma_cross", "gru93"} <= set(list_strategies(workspace))
    assert load_strategy("sma_cross").signal.fast == 50 and "mine" not in list_strategies()  # no workspace: the built-ins


def test_a_path_is_taken_from_where_the_user_stands_then_from_the_workspace_and_the_built_ins(home):
    (home.parent / "elsewhere" / "here.toml").write_text("")
    workspace = Workspace(home)
    assert find_file("here.toml", resources.STRATEGIES, workspace).resolve() == home.parent / "elsewhere" / "here.toml"
    assert find_file("strategies/gru93.toml", resources.STRATEGIES, workspace) == resources.ROOT / "strategies" / "gru93.toml"
    assert find_file("nowhere.toml", resources.STRATEGIES, workspace) is None


def test_search_spaces_by_name_or_path(home):
    built_in = resources.ROOT / "configs" / "search" / "gru93-overlays.toml"
    workspace = Workspace(home)
    assert find_space_file("gru93-overlays", workspace) == built_in
    assert find_space_file("configs/search/gru93-overlays.toml", workspace) == built_in
    (home / "configs" / "search").mkdir(parents=True)
    (home / "configs" / "search" / "gru93-overlays.toml").write_text(built_in.read_text())
    assert find_space_file("gru93-overlays", workspace) == home / "configs" / "search" / "gru93-overlays.toml"
    with pytest.raises(SearchSpaceError, match="no-such.*known names: gru93-overlays"):
        find_space_file("no-such", workspace)


def test_an_unknown_space_is_one_line_and_exit_2(sample_home, tmp_path):
    arguments = ("optimize", "--strategy", "sma_cross", "--trials", "1", "--space", "nope")
    result = engine(sample_home, *arguments, check=False, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--space nope" in result.stderr


def test_version(sample_home):
    from engine import __version__

    assert engine(sample_home, "--version").stdout.strip() == f"engine {__version__}"
