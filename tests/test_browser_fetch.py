"""The fetch ladder and `fetch: browser`, with real crawls, a real local server and Debian's Chromium.

One crawl with the browser covers the ladder's rungs (challenge pages that
their script clears, pages that scripts fill in, a connection reset) and
`fetch: browser` sources (text inserted late, the declared language, the size
limit); one crawl without the browser checks that browser sources fail with an
install hint while everything else is recorded; one checks that pages whose
text never settles are not captured.
"""

from __future__ import annotations

import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import pytest

from conftest import CLI, REPO, write_declarations
from crawler.browser import browser_available
from policywatch.localserver import LocalServer, Page

CHROMIUM = os.environ.get("POLICYWATCH_TEST_CHROMIUM", "/usr/bin/chromium")
UNAVAILABLE = browser_available(CHROMIUM)
needs_browser = pytest.mark.skipif(UNAVAILABLE is not None,
                                   reason=f"the headless browser is not available: {UNAVAILABLE}")

POLICY = "<h1>Privacy policy</h1><p>We keep your chats for thirty days.</p><p>We never train on business data.</p>"
POLICY_TEXT = "# Privacy policy\n\nWe keep your chats for thirty days.\n\nWe never train on business data.\n"

# The text arrives in two steps, 700 ms and 1100 ms after the page loads: a
# capture at load time finds nothing, one after the first step finds half.
RENDERED_LATER = b"""<!DOCTYPE html><html><head><title>Policy</title></head><body><main></main><script>
setTimeout(() => { document.querySelector('main').innerHTML =
  '<h1>Privacy policy</h1><p>We keep your chats for thirty days.</p>'; }, 700);
setTimeout(() => { document.querySelector('main').insertAdjacentHTML('beforeend',
  '<p>We never train on business data.</p>'); }, 1100);
</script></body></html>"""

# Cloudflare's "Just a moment..." interstitial (as in test_faults), whose script
# sets the clearance cookie and reloads the page after a short delay.
CF_CLEARING = (b"<!DOCTYPE html><html lang='en-US'><head><title>Just a moment...</title></head><body>"
               b"<div class='main-wrapper'><main><h1>openai.com</h1>"
               b"<p>Verifying you are human. This may take a few seconds.</p></main>"
               b"<script>(function(){window._cf_chl_opt={cvId: '3',cZone: 'openai.com',cType: 'managed'};"
               b"setTimeout(function(){document.cookie='cf_clearance=ok; path=/'; location.reload();}, 300);"
               b"}());</script></div></body></html>")

# A client-side application: nothing in the HTML but a shell and a script.
APP_SHELL = b"""<!DOCTYPE html><html><head><title>Policy</title></head><body>
<noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div><script>
setTimeout(() => { document.getElementById('root').innerHTML = '<main>""" + POLICY.encode() + b"""</main>'; }, 300);
</script></body></html>"""


# The page says which language the browser asked for.
LANGUAGE_ECHO = b"""<!DOCTYPE html><html><head><title>Datenschutz</title></head><body><main></main><script>
document.querySelector('main').innerHTML = '<p>Sprache: ' + navigator.language + '</p>';
</script></body></html>"""

# Small as sent, large once its script has run.
SWELLING = b"""<!DOCTYPE html><html><head><title>Policy</title></head><body><main></main><script>
document.querySelector('main').textContent = 'We keep your chats. '.repeat(20000);
</script></body></html>"""

# A policy with a clock in it: its text never stays the same for long.
TICKING = b"""<!DOCTYPE html><html><head><title>Policy</title></head><body><main><p>We keep chats for 30 days.</p>
<p id="clock"></p></main><script>
setInterval(() => { document.getElementById('clock').textContent = 'Now: ' + Date.now(); }, 200);
</script></body></html>"""


def html(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>Policy</title></head><body><main>{body}</main></body></html>".encode()


def cleared_after(passes: int, blocked: Page, content: Page) -> Callable[[], Page]:
    """A route that serves the challenge `passes` times (the plain fetch, the browser's first load), then
    the content (the reload the challenge script makes)."""
    served = {"count": 0}

    def route() -> Page:
        served["count"] += 1
        return blocked if served["count"] <= passes else content

    return route


class ResettingServer(socketserver.ThreadingTCPServer):
    """Resets the first connection that asks for /policy, as some bot protection does; serves it afterwards."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ResettingHandler)
        self.resets = 0
        self.served: list[str] = []  # who was served /policy: "browser" or "plain"
        self.requests: list[bytes] = []  # the head of each request for /policy

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _ResettingHandler(socketserver.BaseRequestHandler):
    server: ResettingServer

    def handle(self) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 2)[1].split(b"?")[0]
        if path == b"/policy" and self.server.resets == 0:
            self.server.resets += 1
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.request.close()
            return
        if path == b"/policy":
            self.server.requests.append(data)
            # Chromium announces itself with client hints; Scrapy sends none.
            self.server.served.append("browser" if b"\r\nsec-ch-ua:" in data.lower() else "plain")
            status, body = b"200 OK", html(POLICY)
        else:
            status, body = b"404 Not Found", b"not here"
        self.request.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html; charset=utf-8\r\n"
                             b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def outcomes(cli: CLI, source: str) -> list[dict[str, Any]]:
    return cli.json("history", source)["outcomes"]


class Crawled(NamedTuple):
    cli: CLI
    server: LocalServer
    resetting: ResettingServer
    log: str  # the crawl's log (stderr with -v)
    seconds: float


@pytest.fixture(scope="module")
def laddered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    tmp = tmp_path_factory.mktemp("ladder")
    resetting = ResettingServer()
    threading.Thread(target=resetting.serve_forever, daemon=True).start()
    with LocalServer() as server:
        server.routes.update({
            "/rendered": Page(RENDERED_LATER),
            "/cf403": cleared_after(2, Page(CF_CLEARING, 403, headers={"cf-mitigated": "challenge"}), Page(html(POLICY))),
            "/cf503": cleared_after(2, Page(CF_CLEARING, 503), Page(html(POLICY))),
            "/shell": Page(APP_SHELL),
            "/late": Page(RENDERED_LATER),
            "/plain": Page(html(POLICY)),
            "/sprache": Page(LANGUAGE_ECHO),
            "/swelling": Page(SWELLING),
        })
        decl = write_declarations(tmp / "sources.yaml", server.base_url, [
            {"id": "t/de", "urls": ["/sprache"], "select": "main", "fetch": "browser", "language": "de"},
            {"id": "t/rendered", "urls": ["/rendered"], "select": "main", "fetch": "browser"},
            {"id": "t/cf403", "urls": ["/cf403"], "select": "main"},
            {"id": "t/cf503", "urls": ["/cf503"], "select": "main"},
            {"id": "t/shell", "urls": ["/shell"], "select": "main"},
            {"id": "t/late", "urls": ["/late"], "select": "main"},
            {"id": "t/reset", "urls": [resetting.base_url + "/policy"], "select": "main"},
            {"id": "t/plain", "urls": ["/plain"], "select": "main"},
            {"id": "t/swelling", "urls": ["/swelling"], "select": "main", "fetch": "browser"},
        ])
        cli = CLI(tmp / "ladder.db", decl, tmp)
        start = time.monotonic()
        crawl = cli("-v", "crawl", check=False,
                    env={"POLICYWATCH_CHROMIUM": CHROMIUM, "POLICYWATCH_DOWNLOAD_MAXSIZE": "200000"})
        seconds = time.monotonic() - start
        assert crawl.returncode == 1, crawl.stderr  # t/swelling fails, by design
        yield Crawled(cli, server, resetting, crawl.stderr, seconds)
    resetting.shutdown()
    resetting.server_close()


@pytest.mark.browser
@needs_browser
def test_text_inserted_by_scripts_is_captured_complete(laddered: Crawled) -> None:
    assert laddered.cli("show", "t/rendered").stdout == POLICY_TEXT
    assert laddered.server.hits.count("/rendered") == 1, "fetch: browser goes straight to the browser"


@pytest.mark.browser
@needs_browser
@pytest.mark.parametrize("source", ["t/cf403", "t/cf503"])
def test_challenge_cleared_by_its_script_is_fetched_through_the_browser(laddered: Crawled, source: str) -> None:
    cli, server = laddered.cli, laddered.server
    history = cli.json("history", source)
    assert [v["number"] for v in history["versions"]] == [1]
    assert [(o["outcome"], o["failure_kind"], o["http_status"]) for o in history["outcomes"]] == [("first", None, 200)]
    assert cli("show", source).stdout == POLICY_TEXT
    # The plain fetch, the browser's first load, the reload made by the challenge's script; the 503 is not
    # retried by the plain fetch before the ladder climbs.
    assert server.hits.count("/" + source.split("/")[1]) == 3
    assert f"{source}: HTTP {source[-3:]} Cloudflare challenge page" in laddered.log


@pytest.mark.browser
@needs_browser
@pytest.mark.parametrize("source", ["t/shell", "t/late"])
def test_pages_that_scripts_fill_in_are_rendered_by_the_browser(laddered: Crawled, source: str) -> None:
    assert laddered.cli("show", source).stdout == POLICY_TEXT
    assert laddered.server.hits.count("/" + source.split("/")[1]) == 2
    assert [line for line in laddered.log.splitlines() if f"{source}: " in line
            and "in a page that needs JavaScript; fetching it again with the headless browser" in line]


@pytest.mark.browser
@needs_browser
def test_the_download_limit_applies_to_the_rendered_page(laddered: Crawled) -> None:
    [swelling] = outcomes(laddered.cli, "t/swelling")
    assert swelling["failure_kind"] == "oversize"
    assert "over the download limit of 200000" in swelling["detail"]


@pytest.mark.browser
@needs_browser
def test_connection_reset_is_retried_in_the_browser(laddered: Crawled) -> None:
    resetting = laddered.resetting
    assert laddered.cli("show", "t/reset").stdout == POLICY_TEXT
    assert (resetting.resets, resetting.served) == (1, ["browser"])
    head = resetting.requests[-1].decode("latin-1").lower()
    assert "\r\nuser-agent: policywatch/" in head, "the browser announces the crawler's user agent"
    assert "\r\naccept-language: en\r\n" in head


@pytest.mark.browser
@needs_browser
def test_the_browser_uses_the_declared_language(laddered: Crawled) -> None:
    assert laddered.cli("show", "t/de").stdout == "Sprache: de\n"


@pytest.mark.browser
@needs_browser
def test_pages_that_need_no_browser_are_fetched_once_over_http(laddered: Crawled) -> None:
    assert laddered.cli("show", "t/plain").stdout == POLICY_TEXT
    assert laddered.server.hits.count("/plain") == 1
    assert not [line for line in laddered.log.splitlines() if "t/plain" in line and "headless browser" in line]
    assert laddered.seconds < 60, f"the crawl took {laddered.seconds:.1f} s"


@pytest.mark.browser
@needs_browser
def test_a_crawl_without_browser_needs_does_not_start_the_browser(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server.routes["/plain"] = Page(html(POLICY))
    cli = make_cli(write_declarations(tmp_path / "sources.yaml", server.base_url,
                                      [{"id": "t/plain", "urls": ["/plain"], "select": "main"}]))
    crawl = cli("-v", "crawl", env={"POLICYWATCH_CHROMIUM": CHROMIUM})
    assert cli("show", "t/plain").stdout == POLICY_TEXT
    assert "Starting download handler" not in crawl.stderr, "Playwright was started"
    assert "Launching browser" not in crawl.stderr and "headless browser" not in crawl.stderr, crawl.stderr


def test_without_the_browser_browser_sources_fail_with_an_install_hint(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server.routes.update({"/rendered": Page(RENDERED_LATER), "/plain": Page(html(POLICY)),
                          "/cf403": Page(CF_CLEARING, 403)})
    cli = make_cli(write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/rendered", "urls": ["/rendered"], "select": "main", "fetch": "browser"},
        {"id": "t/plain", "urls": ["/plain"], "select": "main"},
        {"id": "t/cf403", "urls": ["/cf403"], "select": "main"},
    ]))
    crawl = cli("crawl", check=False, env={"POLICYWATCH_CHROMIUM": "/nonexistent/chromium"})
    assert crawl.returncode == 1, crawl.stderr
    [rendered] = outcomes(cli, "t/rendered")
    assert rendered["failure_kind"] == "unsupported_fetch"
    assert "no Chromium executable at /nonexistent/chromium" in rendered["detail"]
    assert "pip install '.[browser]'" in rendered["detail"] and "apt-get install chromium" in rendered["detail"]
    assert "/rendered" not in server.hits
    [challenged] = outcomes(cli, "t/cf403")
    assert challenged["failure_kind"] == "bot_challenge"
    assert "the headless browser would be tried next" in challenged["detail"]
    assert "pip install '.[browser]'" in challenged["detail"]
    assert server.hits.count("/cf403") == 1
    assert [o["outcome"] for o in outcomes(cli, "t/plain")] == ["first"]
    assert cli("show", "t/plain").stdout == POLICY_TEXT


@pytest.mark.browser
@needs_browser
def test_pages_whose_text_never_settles_are_not_captured(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server.routes.update({"/ticking": Page(TICKING), "/plain": Page(html(POLICY))})
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/ticking", "urls": ["/ticking"], "select": "main", "fetch": "browser"},
        {"id": "t/clock-removed", "urls": ["/ticking"], "select": "main", "remove": "#clock", "fetch": "browser"},
        {"id": "t/elsewhere", "urls": ["/plain"], "select": "article", "fetch": "browser"},
    ])
    db = tmp_path / "settle.db"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")},
           "POLICYWATCH_DB": str(db), "POLICYWATCH_SOURCES": str(decl), "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "1",
           "POLICYWATCH_CHROMIUM": CHROMIUM}
    subprocess.run([sys.executable, "-m", "scrapy", "crawl", "policies", "-s", "POLICYWATCH_RENDER_TIMEOUT=2"],
                   cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=120)
    cli = CLI(db, decl, tmp_path)
    [ticking] = outcomes(cli, "t/ticking")
    assert ticking["failure_kind"] == "timeout"
    assert "still changing" in ticking["detail"]
    [elsewhere] = outcomes(cli, "t/elsewhere")
    assert elsewhere["failure_kind"] == "selector_miss"
    assert cli.json("history", "t/ticking")["versions"] == []
    assert cli("show", "t/clock-removed").stdout == "We keep chats for 30 days.\n", "what is removed may change"
