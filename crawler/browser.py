"""The headless-browser fetch: Debian's Chromium driven through scrapy-playwright, an optional extra.

Nothing here imports playwright or scrapy-playwright at module level: a crawl
without the extra must work, and a crawl that never needs the browser must not
start it. The download handler lives in `crawler.browser_handler`, which Scrapy
imports only when the browser is available.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping


if TYPE_CHECKING:
    from ingest.declarations import Source

log = logging.getLogger(__name__)

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run")
INSTALL_HINT = "pip install '.[browser]' and apt-get install chromium"
HANDLER = "crawler.browser_handler.BrowserDownloadHandler"

# Request meta keys shared with the spider and the ladder middleware.
LADDER = "policywatch_ladder"  # "browser" once a request has been sent to the browser
DOCUMENT = "policywatch_document"  # (status, url, headers) of the page's latest main-frame document

# The text must stay the same this long before the page is captured: content
# that arrives in steps (a loading line, then the policy) is not taken half-way.
QUIET_MS = 750
NETWORK_IDLE_MS = 5_000
# How long the text may take to appear and settle once the page has loaded. Not the download
# timeout: that bounds a server's answer, this a page's scripts.
RENDER_TIMEOUT = 20.0
# Media never changes the text; skipping it saves most of a page's bandwidth and CPU.
SKIPPED_RESOURCES = frozenset({"image", "media", "font"})


def browser_available(chromium: str = DEFAULT_CHROMIUM) -> str | None:
    """None when browser fetches can run here, else why not."""
    for module in ("playwright", "scrapy_playwright"):
        if importlib.util.find_spec(module) is None:
            return f"the Python package {module} is not installed"
    import scrapy  # here, not at the top: the configuration reads this module's defaults without Scrapy

    # BrowserDownloadHandler overrides the coroutine API scrapy-playwright uses from Scrapy 2.14 on.
    if scrapy.version_info < (2, 14):
        return f"the browser fetch needs Scrapy 2.14 or later, not {scrapy.__version__}"
    path = Path(chromium)
    if not path.is_file() or not os.access(path, os.X_OK):
        return f"no Chromium executable at {chromium}"
    return None


def browser_settings(chromium: str, navigation_timeout: float, allow_private_addresses: bool) -> dict[str, Any]:
    """Scrapy settings for browser fetches; without the browser, only the path that was looked for."""
    values: dict[str, Any] = {"POLICYWATCH_CHROMIUM": chromium}
    if browser_available(chromium) is not None:
        return values
    values.update({
        # The handler passes requests without `playwright` meta to Scrapy's own HTTP handler.
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": chromium, "args": list(CHROMIUM_ARGS), "headless": True},
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": navigation_timeout * 1000,
        # One context per language (see browser_meta); no cap on contexts: scrapy-playwright frees
        # a context slot only when a context closes, so a cap below the number of languages would
        # leave requests waiting forever. Pages per context are capped instead, for memory.
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 2,
        # The browser's own headers (its cookies included, which challenge pages set) rather
        # than Scrapy's; the context supplies the user agent and the language.
        "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": None,
        "PLAYWRIGHT_ABORT_REQUEST": "crawler.browser.skip_media" if allow_private_addresses
        else "crawler.browser.skip_media_and_private",
    })
    return values


def context_name(source: Source) -> str:
    return f"lang-{source.language}"


def browser_meta(source: Source, settings: Any) -> dict[str, Any]:
    """Request meta that sends a request to the browser and captures the page once its text is stable.

    `settings` are the crawl's Scrapy settings: the browser announces the same
    user agent as the plain fetch, and POLICYWATCH_RENDER_TIMEOUT may shorten
    or lengthen the wait for the text.
    """
    from scrapy_playwright.page import PageMethod

    return {
        "playwright": True,
        "playwright_context": context_name(source),
        "playwright_context_kwargs": {"locale": source.language, "user_agent": settings.get("USER_AGENT"),
                                      "service_workers": "block"},
        "playwright_page_init_callback": "crawler.browser.track_document",
        "playwright_page_methods": [PageMethod(settle, list(source.rules.select), list(source.rules.removals),
                                               settings.getfloat("POLICYWATCH_RENDER_TIMEOUT", RENDER_TIMEOUT))],
        LADDER: "browser",
    }


async def track_document(page: Any, request: Any) -> None:
    """Remember the page's latest main-frame document: after a challenge script reloads the page, the
    status and headers that count are those of the reloaded document, not of the first response."""

    def seen(response: Any) -> None:
        if response.request.is_navigation_request() and response.frame == page.main_frame:
            request.meta[DOCUMENT] = (response.status, response.url, dict(response.headers))

    page.on("response", seen)


# True once the selected elements hold text that has not changed for quietMs;
# what the declaration removes (a clock, a rotating banner) does not count.
# The state lives on `window`, so a reload (a challenge script) starts over.
_SETTLED_JS = """([selectors, removed, quietMs]) => {
  let nodes = [];
  try {
    nodes = selectors.flatMap((css) => Array.from(document.querySelectorAll(css)));
  } catch (e) {
    selectors = [];  // a selector only lxml's cssselect understands: judge by the whole body
  }
  if (!selectors.length) nodes = document.body ? [document.body] : [];
  const textOf = (el) => {
    if (!removed.length) return el.innerText || el.textContent || "";
    const copy = el.cloneNode(true);
    try {
      removed.forEach((css) => copy.querySelectorAll(css).forEach((r) => r.remove()));
    } catch (e) {}
    return copy.textContent || "";
  };
  const text = nodes.map((el) => textOf(el).trim()).join("\\n");
  const now = performance.now();
  const seen = window.__policywatchSettle;
  if (!seen || seen.text !== text) {
    window.__policywatchSettle = {text, since: now};
    return false;
  }
  return text.length > 0 && now - seen.since >= quietMs;
}"""
_STATE_JS = "() => (window.__policywatchSettle || {text: ''}).text.length"


async def _stable(page: Any, selectors: list[str], removed: list[str], deadline: float) -> bool:
    """Wait until the selected text has been present and unchanged for QUIET_MS; False at the deadline.
    Playwright re-evaluates the condition after a navigation, so a reload made by a challenge
    script restarts the wait on the new document."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    left = deadline - asyncio.get_running_loop().time()
    if left <= 0:  # Playwright reads a timeout of 0 as "wait forever"
        return False
    try:
        await page.wait_for_function(_SETTLED_JS, arg=[selectors, removed, QUIET_MS], polling=100,
                                     timeout=left * 1000)
    except PlaywrightTimeout:
        return False
    return True


async def _network_idle(page: Any, timeout: float) -> None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.wait_for_load_state("networkidle", timeout=timeout * 1000)
    except PlaywrightTimeout:
        pass  # pages that poll forever never go idle; the text's stability still decides


async def settle(page: Any, selectors: list[str], removed: list[str], timeout: float) -> str:
    """Wait until the selected text is present and stable; returns settled, missing or changing.

    The text must also outlast the network's activity, so that content still
    being fetched by scripts is not missed; the two waits run together, and the
    text is checked once more after the network went idle.
    """
    from playwright.async_api import Error as PlaywrightError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    idle = asyncio.ensure_future(_network_idle(page, min(NETWORK_IDLE_MS / 1000, timeout / 4)))
    try:
        settled = await _stable(page, selectors, removed, deadline)
    finally:
        await idle
    if settled and await _stable(page, selectors, removed, deadline):
        return "settled"
    try:
        length = await page.evaluate(_STATE_JS)
    except PlaywrightError:
        return "changing"
    return "changing" if length else "missing"


async def skip_media(request: Any) -> bool:
    return request.resource_type in SKIPPED_RESOURCES


async def skip_media_and_private(request: Any) -> bool:
    """Also refuse what the page asks for inside private networks, as the crawler does for its own requests."""
    if request.resource_type in SKIPPED_RESOURCES:
        return True
    from crawler.resolver import private_address

    address = await asyncio.to_thread(private_address, request.url)
    if address is not None:
        log.warning("browser: refused %s (private or loopback address %s)", request.url, address)
        return True
    return False


def settle_outcome(meta: Mapping[str, Any]) -> str | None:
    """What `settle` returned for this request: settled, missing, changing, or None if it did not run."""
    for method in meta.get("playwright_page_methods") or ():
        if getattr(method, "method", None) is settle:
            return method.result
    return None


def document_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # The body is the serialized DOM, re-encoded: the transfer headers of the original no longer apply.
    return {k: v for k, v in headers.items() if k.lower() not in ("content-encoding", "content-length",
                                                                   "transfer-encoding")}
