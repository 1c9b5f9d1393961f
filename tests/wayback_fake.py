"""A stand-in for the Wayback Machine on 127.0.0.1: a CDX index (JSON rows, resume keys) and raw replays
(`/web/<timestamp>id_/<url>`), with a 429 on the first request, redirects, and a hook on each request."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

HEADER = ["timestamp", "original", "statuscode", "digest", "mimetype"]


@dataclass
class Capture:
    timestamp: str
    status: str
    digest: str
    body: bytes = b""
    mimetype: str = "text/html"
    redirect_to: str | None = None  # a replay path, for a redirect capture


@dataclass
class FakeWayback:
    url: str
    captures: list[Capture]
    page_size: int = 3  # captures per CDX answer before a resume key
    throttle_first: bool = True  # answer the very first request with 429 and Retry-After: 1
    extra: dict[str, bytes] = field(default_factory=dict)  # more replay paths (redirect targets)
    on_request: Callable[[str], None] | None = None
    hits: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake.hits.append((self.path, time.monotonic()))
                if fake.on_request is not None:
                    fake.on_request(self.path)
                if fake.throttle_first and len(fake.hits) == 1:
                    return self.answer(429, b"slow down", "text/plain", {"Retry-After": "1"})
                parts = urlsplit(self.path)
                if parts.path == "/cdx/search/cdx":
                    return self.cdx(parse_qs(parts.query))
                if self.path in fake.extra:
                    return self.answer(200, fake.extra[self.path], "text/html; charset=utf-8")
                for capture in fake.captures:
                    if self.path == f"/web/{capture.timestamp}id_/{fake.url}":
                        if capture.redirect_to:
                            return self.answer(int(capture.status), b"", "text/html", {"Location": capture.redirect_to})
                        return self.answer(int(capture.status), capture.body, capture.mimetype + "; charset=utf-8")
                return self.answer(404, b"not archived", "text/plain")

            def cdx(self, query: dict[str, list[str]]) -> None:
                assert query["url"] == [fake.url] and query["collapse"] == ["digest"] and query["output"] == ["json"]
                start = int(query.get("resumeKey", ["0"])[0])
                chosen = fake.captures[start:start + fake.page_size]
                rows: list[list[str]] = [HEADER] + [[c.timestamp, fake.url, c.status, c.digest, c.mimetype]
                                                    for c in chosen]
                if start + fake.page_size < len(fake.captures):
                    rows += [[], [str(start + fake.page_size)]]
                self.answer(200, json.dumps(rows).encode(), "application/json")

            def answer(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def env(self, interval: float) -> dict[str, str]:
        return {"POLICYWATCH_WAYBACK_CDX": f"{self.base}/cdx/search/cdx", "POLICYWATCH_WAYBACK_REPLAY": f"{self.base}/web/",
                "POLICYWATCH_WAYBACK_INTERVAL": str(interval)}

    def replays(self) -> list[str]:
        return [path for path, _ in self.hits if path.startswith("/web/")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
