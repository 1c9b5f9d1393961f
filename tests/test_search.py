"""Search on the site: Pagefind's index of version, change and claim pages, queried in a real Chromium from a real
HTTP server, with its filters; and a site built without Pagefind says so and is otherwise whole."""

from __future__ import annotations

import os
import threading
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import yaml

import reports.search
from conftest import write_declarations
from policywatch.commands.report import _SiteHandler
from policywatch.localserver import Page
from reports.search import pagefind_problem
from reports.site import build_site
from storage.db import make_engine, session_factory

CHROMIUM = Path(os.environ.get("POLICYWATCH_TEST_CHROMIUM", "/usr/bin/chromium"))


def policy(days: int, extra: str = "") -> bytes:
    return (f"<html><body><main><h1>Chats</h1><p>We keep temporary chats for {days} days, then delete them.</p>"
            f"<p>{extra}</p></main></body></html>").encode()


GERMAN = ("<html><body><main><h1>Datenschutz</h1><p>Wir speichern Ihre Chats dreißig Tage lang.</p>"
          "<p>Zebrafink &lt;img src=x onerror=alert(1)&gt; bleibt Text.</p></main></body></html>").encode()


CLAIM = {"id": "testco/temporary-chats-kept-30-days", "vendor": "Testco", "topics": ["retention"],
         "statement": {"en": "Testco keeps temporary chats for 30 days at most."}, "scope": ["t/chats"],
         "evidence": {"supports": [{"id": "kept-days", "expect": {"max_days": 30},
                                    "en": {"patterns": [r"\btemporary chats for \d+ days\b"]}}]}}


@pytest.fixture
def site(server, make_cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    server.routes.update({"/chats": Page(policy(30)), "/de": Page(GERMAN)})
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/chats", "title": "Chat retention", "urls": ["/chats"], "select": "main",
         "document_type": "Help article"},
        {"id": "o/datenschutz", "vendor": "Otherco", "title": "Datenschutz", "urls": ["/de"], "select": "main",
         "language": "de"},
    ])
    claims = tmp_path / "claims.yaml"
    claims.write_text(yaml.safe_dump({"claims": [CLAIM]}), encoding="utf-8")
    cli = make_cli(decl)
    cli("--claims", str(claims), "crawl", "--now", "2026-06-01T03:00:00Z")
    server.routes["/chats"] = Page(policy(90, "Contact us."))
    cli("--claims", str(claims), "crawl", "--now", "2026-06-02T03:00:00Z")
    out = tmp_path / "site"
    cli("--claims", str(claims), "report", "--out", str(out))
    return out


@pytest.fixture
def served(site: Path) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_SiteHandler, directory=str(site)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.browser
def test_search_finds_versions_and_changes_with_filters_in_chromium(site: Path, served: str) -> None:
    if pagefind_problem() is not None:
        pytest.skip(f"no search index can be built here: {pagefind_problem()}")
    sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set POLICYWATCH_TEST_CHROMIUM)")
    assert (site / "pagefind" / "pagefind.js").is_file()
    with sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        errors: list[str] = []
        dialogs: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error"
                and not m.location.get("url", "").endswith("/favicon.ico") else None)

        def results(query: str, **filters: str) -> list[str]:
            page.goto(served + "search.html?" + "&".join([f"q={query}"] + [f"{k}={v}" for k, v in filters.items()]))
            page.locator(".search-status").filter(has_text="found").wait_for(timeout=20000)
            return sorted(link.get_attribute("href") or "" for link in page.locator(".search-results a").all())

        claim = served + "claims/testco/temporary-chats-kept-30-days.html"
        hits = results("temporary")
        assert hits == [served + "changes/1.html", claim, served + "versions/t/chats/1.html",
                        served + "versions/t/chats/2.html"], hits
        assert page.locator(".search-results mark").count() >= 1, "matched words are marked"
        assert results("temporary", page="change") == [served + "changes/1.html"]
        assert results("temporary", page="claim") == [claim]
        assert results("temporary", flag="retention") == [served + "changes/1.html", claim]
        assert results("chats", language="de") == [served + "versions/o/datenschutz/1.html"]
        assert results("chats", vendor="Otherco", document="Privacy Policy") == [served + "versions/o/datenschutz/1.html"]
        options = page.locator("select[name=document] option").all_inner_texts()
        assert options == ["any", "Help article (3)", "Privacy Policy (1)"], options

        assert results("zebrafink") == [served + "versions/o/datenschutz/1.html"]
        assert "<img src=x onerror=alert(1)>" in page.inner_text(".search-results"), "shown as text"
        assert page.locator(".search-results img").count() == 0 and dialogs == []
        assert errors == [], errors

        page.goto((site / "search.html").resolve().as_uri() + "?q=chats")
        assert "served over HTTP" in page.locator(".search-status").inner_text(timeout=10000)
        browser.close()


def test_without_pagefind_the_site_is_whole_and_the_search_page_says_why(
        site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reports.search, "pagefind_binary", lambda: None)
    out = tmp_path / "no-search"
    engine = make_engine(f"sqlite:///{tmp_path / 'policywatch.db'}")
    try:
        stats = build_site(session_factory(engine), out)
    finally:
        engine.dispose()
    assert not (out / "pagefind").exists()
    assert stats.notes[0].startswith("search index: not built: Pagefind is not installed: pip install -e '.[search]'")
    page = (out / "search.html").read_text(encoding="utf-8")
    assert "This site was built without a search index: Pagefind is not installed" in page
    assert (out / "changes/1.html").is_file() and (out / "index.html").is_file()
    assert len(list((out / "data").glob("policywatch-dataset-*.zip"))) == 1
