"""Strategies: the schema of a strategy file, how a named file is found, and its resolution against
the plugins it names."""
