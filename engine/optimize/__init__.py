"""End-to-end tuning with Optuna: search spaces, trials, studies on one machine or many, holdout."""
