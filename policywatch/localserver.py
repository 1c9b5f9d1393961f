"""A small HTTP server on 127.0.0.1 serving pages from memory (demo and tests).

Each response is written in one piece with TCP_NODELAY, so timings measure the
crawler, not this server. Tests make it misbehave on purpose: a body cut
short, a Content-Length that lies, a chunked stream that stops early or never
ends, a body dripped out slowly.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable, Mapping


@dataclass
class Page:
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate_to: int | None = None  # send only this many body bytes, then close: a cut-short response
    content_length: int | None = None  # the Content-Length to announce (default: the body's length)
    # Chunked transfer instead of a Content-Length: the body in pieces, or what `stream` yields (endless or slow
    # streams); `finish=False` closes the connection without the final empty chunk.
    chunked: bool = False
    chunk_size: int = 16384
    stream: Callable[[], Iterable[bytes]] | None = None
    finish: bool = True


Route = Page | Callable[[], Page]


@dataclass(frozen=True)
class Served:
    """One request as the server saw it: from its arrival to the last byte written (wall-clock seconds)."""

    path: str
    user_agent: str
    start: float
    end: float


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        started = time.time()
        try:
            self._get()
        finally:
            self.server.served.append(Served(self.path, self.headers.get("User-Agent", ""), started, time.time()))

    def _get(self) -> None:
        path = self.path.split("?", 1)[0]
        self.server.hits.append(self.path)
        self.server.timed_hits.append((path, time.monotonic()))
        route = self.server.routes.get(path)
        page = route() if callable(route) else route
        if page is None:
            page = Page(b"<html><body><h1>Not found</h1></body></html>", status=404)
        if page.delay:
            time.sleep(page.delay)
        head = [f"HTTP/1.1 {page.status} {self.responses.get(page.status, ('',))[0]}",
                f"Content-Type: {page.content_type}"]
        if page.chunked or page.stream is not None:
            head.append("Transfer-Encoding: chunked")
        else:
            head.append(f"Content-Length: {len(page.body) if page.content_length is None else page.content_length}")
        head += [f"{k}: {v}" for k, v in page.headers.items()]
        start = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        try:
            if page.chunked or page.stream is not None:
                self._send_chunked(page, start)
                return
            body = page.body if page.truncate_to is None else page.body[:page.truncate_to]
            if page.truncate_to is not None or page.content_length is not None:
                self.close_connection = True
            self.wfile.write(start + body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send_chunked(self, page: Page, start: bytes) -> None:
        self.close_connection = True
        self.wfile.write(start)
        pieces = page.stream() if page.stream is not None else (
            page.body[i:i + page.chunk_size] for i in range(0, len(page.body), page.chunk_size))
        for piece in pieces:
            if piece:
                self.wfile.write(f"{len(piece):x}\r\n".encode("ascii") + piece + b"\r\n")
                self.wfile.flush()
        if page.finish:
            self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    hits: list[str]
    timed_hits: list[tuple[str, float]]
    served: list[Served]


class LocalServer:
    """`with LocalServer() as server: server.routes["/x"] = Page(b"...")`."""

    def __init__(self, routes: Mapping[str, Route] | None = None, host: str = "127.0.0.1", port: int = 0):
        self._server = _Server((host, port), _Handler)
        self._server.routes = dict(routes or {})
        self._server.hits = []
        self._server.timed_hits = []
        self._server.served = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def routes(self) -> dict[str, Route]:
        return self._server.routes

    @property
    def hits(self) -> list[str]:
        return self._server.hits

    @property
    def timed_hits(self) -> list[tuple[str, float]]:
        """(path, monotonic time) of every request, in order."""
        return self._server.timed_hits

    @property
    def served(self) -> list[Served]:
        """Every request with its user agent, arrival and end, in the order they ended."""
        return self._server.served

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "LocalServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
