"""What the engine keeps on disk beside the bar, news and model stores (engine.data, engine.news,
engine.models): runs and their files, paper sessions' order journals, and whole-or-nothing writes."""
