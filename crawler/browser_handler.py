"""The download handler for http(s): Scrapy's own for plain requests, scrapy-playwright's for browser requests.

Scrapy loads this module only when the browser extra is installed (see
`crawler.browser.browser_settings`). Playwright is imported, and the browser
started, by the first browser request: most crawls never make one, and
importing and starting Playwright costs most of a second.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

log = logging.getLogger(__name__)


def _playwright_handler(crawler: Any) -> Any:
    from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

    class Started(ScrapyPlaywrightDownloadHandler):
        async def _maybe_launch_in_thread(self) -> None:  # started by the first browser request, not the engine
            return None

    return Started(crawler)


class BrowserDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._for_browser = crawler
        self._browser: Any = None
        self._start_lock = asyncio.Lock()

    @classmethod
    def from_crawler(cls, crawler: Any) -> "BrowserDownloadHandler":
        return cls(crawler)

    async def download_request(self, request: Any) -> Any:
        if not request.meta.get("playwright"):
            return await super().download_request(request)
        async with self._start_lock:
            if self._browser is None:
                log.info("starting the headless browser for %s", request.url)
                browser = _playwright_handler(self._for_browser)
                try:
                    await browser._launch()
                except BaseException:
                    with suppress(Exception):  # what did start is stopped; the launch's own error is the one told
                        await browser.close()
                    raise
                self._browser = browser
        return await self._browser.download_request(request)

    async def close(self) -> None:
        await super().close()
        if self._browser is not None:
            await self._browser.close()
