"""News articles: the news store, and reading a user's own news files into it."""
