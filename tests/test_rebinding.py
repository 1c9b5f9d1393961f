"""DNS rebinding: the private-address check applies to the address actually connected to, redirects included.

The crawl runs with a test-only resolver (tests/rebinding.py, installed through
Scrapy's TWISTED_DNS_RESOLVER setting) that answers a public address to the
first lookup of a name and 127.0.0.1 to the next ones.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import REPO, version_texts, write_declarations
from policywatch.localserver import LocalServer, Page

SECRET = b"<html><body><main><p>Internal admin page: every user's chats.</p></main></body></html>"


def test_a_name_rebound_to_loopback_after_the_check_is_refused(tmp_path: Path) -> None:
    with LocalServer() as server:
        port = server.base_url.rsplit(":", 1)[1]
        server.routes["/policy"] = Page(SECRET)
        server.routes["/secret"] = Page(SECRET)
        server.routes["/start"] = Page(b"", 302, headers={"Location": f"http://internal.rebind.test:{port}/secret"})
        server.routes["/open"] = Page(b"<html><body><main><p>A public policy.</p></main></body></html>")
        decl = write_declarations(tmp_path / "sources.yaml", "", [
            {"id": "t/rebound", "urls": [f"http://policy.rebind.test:{port}/policy"], "select": "main"},
            {"id": "t/redirected", "urls": [f"http://public.rebind.test:{port}/start"], "select": "main"},
            {"id": "t/public", "urls": [f"http://public.rebind.test:{port}/open"], "select": "main"},
        ])
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "tests"), str(REPO)])
        done = subprocess.run([sys.executable, str(REPO / "tests" / "rebinding.py"), str(tmp_path / "r.db"),
                               str(decl)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        hits = list(server.hits)
    with sqlite3.connect(tmp_path / "r.db") as conn:
        rows = dict(conn.execute("select source_id, coalesce(failure_kind, outcome) from fetch_outcomes"))
        details = dict(conn.execute("select source_id, detail from fetch_outcomes"))
    texts = list(version_texts(tmp_path / "r.db").values())
    assert rows == {"t/rebound": "private_address", "t/redirected": "private_address", "t/public": "first"}
    assert "127.0.0.1" in details["t/rebound"] and "policy.rebind.test" in details["t/rebound"]
    assert "internal.rebind.test" in details["t/redirected"]
    assert "/policy" not in hits and "/secret" not in hits, hits
    assert "/start" in hits and "/open" in hits
    assert not any("Internal admin" in t for t in texts)
