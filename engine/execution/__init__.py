"""Execution: turning target weights into fills, vectorized (vectorbt) or event by event (sim broker)."""
