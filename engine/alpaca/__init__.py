"""Alpaca through the real alpaca-py clients: historical bars and news into the engine's stores.

`connection` builds the clients (keys, server, timeout, the SDK's own retries off), `retries`
waits out rate limits and retries server errors, `pages` walks a paged reply, and `bars` and
`news` turn the replies into stored series and articles.
"""
