"""`engine news fetch`: articles through alpaca-py's NewsClient into the news store.

Every page is collected and checked before one merge into the store (NewsStore.add, written
whole), so a fetch that fails on a later page stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from alpaca.data.requests import NewsRequest

from engine import progress
from engine.alpaca.assets import check_known
from engine.alpaca.connection import AlpacaConnection
from engine.alpaca.pages import pages
from engine.alpaca.request import AlpacaRequest
from engine.alpaca.retries import RetryPolicy
from engine.alpaca.span import Span
from engine.analytics.formatting import counted
from engine.data.store import normalize_symbol
from engine.news.store import COLUMNS, NewsStore, check_articles

PAGE_LIMIT = 50  # Alpaca's most articles a page


@dataclass(frozen=True)
class FetchedNews:
    articles: int  # articles the server sent (each once)
    new: int  # of them, ids the store did not hold


def fetch_news(
    store: NewsStore, connection: AlpacaConnection, symbols: list[str], span: Span, policy: RetryPolicy | None = None
) -> FetchedNews:
    symbols = sorted({normalize_symbol(symbol) for symbol in symbols})
    policy = policy or RetryPolicy.of(connection)
    check_known(connection, symbols, policy)
    request = NewsRequest(
        symbols=",".join(symbols), start=span.start.to_pydatetime(), end=span.end.to_pydatetime(), limit=PAGE_LIMIT
    )
    client = connection.news_client()
    progress.stage(f"fetching news about {', '.join(symbols)} from {connection.data_server}", None, "page")
    articles = []
    first = AlpacaRequest("/news", "v1beta1", tuple(symbols))
    for page, reply in pages(client, first, request.to_request_fields(), policy):
        articles.append(_page_articles(page, reply))
        progress.advance()
    fetched = pd.concat(articles, ignore_index=True)
    # An article revised while the pages were read can come twice: the version updated last counts.
    fetched = fetched.sort_values("updated_at", kind="stable").drop_duplicates("id", keep="last").reset_index(drop=True)
    progress.stage(f"storing {counted(len(fetched), 'article')}")
    return FetchedNews(len(fetched), store.add(fetched, str(first)) if len(fetched) else 0)


def _page_articles(page: AlpacaRequest, reply: dict) -> pd.DataFrame:
    """A page's articles, checked: an error names the page and the article's place on it."""
    news = reply.get("news")
    if not isinstance(news, list) or not all(isinstance(article, dict) for article in news):
        raise page.fail("the reply's 'news' is not a list of articles")
    for position, article in enumerate(news, start=1):
        missing = [field for field in COLUMNS if field not in article]
        if missing:
            raise page.fail(f"article {position} has no {', '.join(missing)}")
    return check_articles(pd.DataFrame.from_records(news, columns=list(COLUMNS)), str(page))
