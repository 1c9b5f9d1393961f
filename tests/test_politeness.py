"""One request at a time to a host (`concurrency_per_domain = 1`), even with autothrottle off."""

from __future__ import annotations

from pathlib import Path

from conftest import write_declarations
from policywatch.localserver import LocalServer, Page


def test_requests_to_one_host_never_overlap(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with LocalServer() as server:
        server.routes["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", content_type="text/plain")
        for i in range(5):
            server.routes[f"/doc{i}"] = Page(f"<main><p>Document {i} says what it says.</p></main>".encode() * 20,
                                             delay=0.2)
        sources = write_declarations(tmp_path / "s.yaml", server.base_url,
                                     [{"id": f"t/doc{i}", "urls": [f"/doc{i}"], "select": "main"} for i in range(5)])
        make_cli(sources)("crawl")  # the CLI's test environment turns autothrottle off
        served = sorted(server.served, key=lambda r: r.start)
    assert len([r for r in served if r.path.startswith("/doc")]) == 5
    for before, after in zip(served, served[1:]):
        assert after.start >= before.end, (before, after)
