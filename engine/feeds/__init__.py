"""Feeds: what pushes bars into a pipeline (engine.feeds.port), and the historical store's feed."""
