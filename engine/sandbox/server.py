"""Serving the sandbox with uvicorn on 127.0.0.1: in the foreground (`engine sandbox`) or on a
background thread (the tests). The socket is bound first, so port 0 gets a free port that is known
before the first request, and a request sent before the server has started waits for it. No access
log: it has nothing to say that is worth a key's risk."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    # IPPROTO_TCP named: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP, and
    # with Nagle on, a kept-alive connection waits on the client's delayed ACK: 40 ms a reply.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(128)  # connections queue from here on, before uvicorn starts accepting them
    return listener


def base_url(listener: socket.socket) -> str:
    return f"http://{HOST}:{listener.getsockname()[1]}"


def _server(app: ASGIApp) -> uvicorn.Server:
    # log_config=None leaves the process's logging as it is; lifespan is unused.
    return uvicorn.Server(
        uvicorn.Config(app, access_log=False, log_config=None, log_level="warning", lifespan="off", ws="websockets-sansio")
    )


def serve(app: ASGIApp, listener: socket.socket) -> None:
    """Serve until interrupted (Ctrl-C)."""
    _server(app).run(sockets=[listener])


@contextmanager
def serving_in_thread(app: ASGIApp, port: int = 0, startup_timeout: float = 10.0) -> Iterator[str]:
    """Yields the base URL once the server accepts requests; stops it afterwards."""
    listener = bind(port)
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="engine-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    try:
        yield base_url(listener)
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout)
        listener.close()
