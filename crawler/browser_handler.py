"""scrapy-playwright's download handler, started by the first browser request.

Scrapy imports this module only when the browser extra is installed (see
`crawler.browser.browser_settings`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

log = logging.getLogger(__name__)


class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """Playwright and Chromium start with the first browser request, not at engine start:
    most crawls never need them, and starting Playwright alone costs most of a second."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._started = False
        self._start_lock = asyncio.Lock()

    async def _maybe_launch_in_thread(self) -> None:
        return None

    async def download_request(self, request: Any) -> Any:
        if request.meta.get("playwright"):
            async with self._start_lock:
                if not self._started:
                    log.info("starting the headless browser for %s", request.url)
                    await self._launch()
                    self._started = True
        return await super().download_request(request)
