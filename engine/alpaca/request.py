"""A request to Alpaca as messages name it, and the error that names it.

Every failure (the server's refusal, a reply that cannot be used) names the request by its path,
symbols and page, never by its headers: they carry the keys.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.errors import UserError


class AlpacaRequestError(UserError):
    """A request to Alpaca failed, or its reply is unusable; the message names the request, `status`
    the HTTP status of a refusal (None when there was no reply, or it was unusable)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class AlpacaRequest:
    path: str  # as the SDK's client takes it: /stocks/bars
    version: str  # the client's API version: v2, v1beta1
    symbols: tuple[str, ...]
    page: int = 1
    method: str = "GET"

    def next_page(self) -> AlpacaRequest:
        return replace(self, page=self.page + 1)

    def fail(self, problem: str, status: int | None = None) -> AlpacaRequestError:
        return AlpacaRequestError(f"{self}: {problem}", status)

    def __str__(self) -> str:
        about = f" ({','.join(self.symbols)}, page {self.page})" if self.symbols else ""
        return f"{self.method} /{self.version}{self.path}{about}"
