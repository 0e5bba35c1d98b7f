from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from engine.analytics.formatting import counted
from engine.cli.data import EndOption, StartOption, SymbolsArgument
from engine.cli.output import ALWAYS, Column, ListJson, print_json_line, print_line, print_table
from engine.cli.progress_display import StageDisplay
from engine.news.model_files import DEFAULT_MODEL, locate
from engine.progress import listening
from engine.workspace import Workspace

app = typer.Typer(no_args_is_help=True)


@app.command("fetch")
def fetch(symbols: SymbolsArgument, start: StartOption, end: EndOption = None) -> None:
    """Articles about SYMBOLS from Alpaca (or ENGINE_ALPACA_URL's server), every page, into the news
    store: each article once by id; a failed fetch stores nothing."""
    from engine.alpaca.connection import AlpacaConnection  # alpaca-py is slow to import; only here
    from engine.alpaca.news import fetch_news
    from engine.alpaca.span import Span

    workspace = Workspace.from_env()
    span, connection = Span.parse(start, end), AlpacaConnection.from_env()
    with StageDisplay() as display, listening(display):
        fetched = fetch_news(workspace.news, connection, symbols, span)
    server, path = connection.data_server, workspace.news.path
    print_line(f"fetched {counted(fetched.articles, 'article')} from {server}, {fetched.new} new, into {path}")


@app.command("import")
def import_(
    path: Annotated[
        Path, typer.Argument(help="CSV or JSONL file with id, created_at, updated_at, symbols, headline, summary, source, url")
    ],
) -> None:
    """Merge a file of articles into the news store: each version (id and updated_at) once, every
    version kept; on any error nothing is stored."""
    from engine.news.importer import import_news

    store = Workspace.from_env().news
    read, new = import_news(store, path)
    print_line(f"stored {counted(read, 'article')} from {path}, {new} new, into {store.path}")


class Device(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Text(StrEnum):
    both = "both"
    headline = "headline"
    summary = "summary"


@app.command("score")
def score(
    model: Annotated[
        str, typer.Option(help="Hugging Face repo id in the local cache, or a folder saved with save_pretrained")
    ] = DEFAULT_MODEL,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass")] = 32,
    device: Annotated[Device, typer.Option(help="auto: CUDA when torch sees a GPU, else the CPU")] = Device.auto,
    text: Annotated[Text, typer.Option(help="both: headline and summary scored apart and averaged; or one of them")] = Text.both,
) -> None:
    """FinBERT sentiment of every stored article version not yet scored with this model and text,
    into data/news/scores.parquet; never downloads (the model must be on this machine)."""
    from engine.news.finbert import Scorer  # transformers and torch are slow to import; only here
    from engine.news.scores import ScoreStore, score_articles

    news = Workspace.from_env().news
    finbert = locate(model)
    with StageDisplay() as display, listening(display):
        scorer = Scorer(finbert, device.value, batch_size)
        scored = score_articles(news, ScoreStore(news.root), scorer, text.value)
    rate = f", {scored.scored / scored.seconds:.1f} articles/s" if scored.scored else ""
    print_line(
        f"scored {counted(scored.scored, 'article')} with {finbert.id} (revision {finbert.revision}), "
        f"{scored.already} already scored{rate}"
    )


NEWS_COLUMNS = [
    Column("id", "right", identifier=True),
    Column("created (UTC)", keep=ALWAYS, short="created"),
    Column("symbols", keep=5),
    Column("source", keep=2),
    Column("headline", keep=ALWAYS),
]


@app.command("list")
def list_(
    symbol: Annotated[str | None, typer.Option(help="Only articles about this symbol")] = None,
    json: ListJson = False,
) -> None:
    """Stored articles, oldest first."""
    articles = Workspace.from_env().news.read([symbol] if symbol else None)
    if json:
        print_json_line([_article_json(article) for article in articles.to_dict("records")])
        return
    rows = [
        [str(row["id"]), f"{row['created_at']:%Y-%m-%d %H:%M}", ",".join(row["symbols"]), row["source"], row["headline"]]
        for row in articles.to_dict("records")
    ]
    print_table(NEWS_COLUMNS, rows, more="`engine news list --json` has every field")


def _article_json(article: dict) -> dict:
    return article | {"id": int(article["id"]), **{name: article[name].isoformat() for name in ("created_at", "updated_at")}}
