"""Overlays: stages that turn a signal's output into positions a trader would accept."""
