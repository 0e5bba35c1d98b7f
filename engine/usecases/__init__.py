"""The use cases the CLI, the TUI and the Python API (engine.api) are faces of: a backtest (and a
backtest as a stored run), the lookahead check, the overlay ablation, a paper session. Tuning is
engine.optimize."""
