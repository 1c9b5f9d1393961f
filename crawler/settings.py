"""Scrapy settings for policywatch, built from the crawl's options.

`policywatch crawl` and `run` build them with `scrapy_settings()` from the
typed configuration. `scrapy crawl policies` and `scrapy list` load
`policywatch.scrapy_settings` (named in scrapy.cfg), which applies the same
configuration here: the crawler owns its defaults, the configuration reads
them, never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.browser import DEFAULT_CHROMIUM, browser_settings
from ingest import BUNDLED_SOURCES
from ingest.guard import TOO_SHORT_FRACTION
from storage.db import DEFAULT_DB_URL
from storage.health import FAILING_AFTER_RUNS

BOT_NAME = "policywatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
CONTACT_URL = "https://github.com/policywatch/policywatch"


@dataclass(frozen=True)
class CrawlOptions:
    """What a crawl needs to know, with the crawler's defaults."""

    db_url: str = DEFAULT_DB_URL
    sources: Path = BUNDLED_SOURCES
    contact_url: str = CONTACT_URL
    allow_private_addresses: bool = False
    concurrency_per_domain: int = 1
    download_timeout: float = 30.0
    download_maxsize: int = 20 * 1024 * 1024
    retry_times: int = 3
    backoff_base: float = 2.0
    autothrottle: bool = True
    too_short_fraction: float = TOO_SHORT_FRACTION
    failing_after_runs: int = FAILING_AFTER_RUNS
    chromium: str = DEFAULT_CHROMIUM

    @property
    def user_agent(self) -> str:
        return f"policywatch/0.1 (+{self.contact_url})"


def scrapy_settings(options: CrawlOptions) -> dict[str, Any]:
    return {
        "BOT_NAME": BOT_NAME,
        "SPIDER_MODULES": SPIDER_MODULES,
        "NEWSPIDER_MODULE": NEWSPIDER_MODULE,
        "USER_AGENT": options.user_agent,
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_USER_AGENT": "policywatch",
        "CONCURRENT_REQUESTS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": options.concurrency_per_domain,
        "DOWNLOAD_DELAY": 0.5 if options.autothrottle else 0,
        "AUTOTHROTTLE_ENABLED": options.autothrottle,
        "AUTOTHROTTLE_START_DELAY": 1.0,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": options.retry_times,
        "RETRY_HTTP_CODES": [408, 429, 500, 502, 503, 504, 522, 524],
        "DOWNLOAD_TIMEOUT": options.download_timeout,
        "DOWNLOAD_MAXSIZE": options.download_maxsize,
        "DOWNLOAD_WARNSIZE": 0,
        "COOKIES_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "REDIRECT_MAX_TIMES": 10,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "TWISTED_REACTOR": REACTOR,
        "ITEM_PIPELINES": {"crawler.pipelines.StoragePipeline": 300},
        # The ladder at 580 sees responses after decompression (590) and redirects (600), and before
        # the retries (550), which would otherwise retry 429/503 challenge pages in vain.
        "DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.PrivateAddressMiddleware": 50,
                                   "crawler.middlewares.BackoffRetryMiddleware": 550,
                                   "crawler.ladder.BrowserLadderMiddleware": 580,
                                   "scrapy.downloadermiddlewares.retry.RetryMiddleware": None},
        "POLICYWATCH_BACKOFF_BASE": options.backoff_base,
        "POLICYWATCH_TOO_SHORT_FRACTION": options.too_short_fraction,
        "POLICYWATCH_FAILING_AFTER_RUNS": options.failing_after_runs,
        "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": options.allow_private_addresses,
        "POLICYWATCH_DB": options.db_url,
        "POLICYWATCH_SOURCES": str(options.sources),
        "POLICYWATCH_NOW": None,
        "POLICYWATCH_ONLY": [],
        **browser_settings(options.chromium or DEFAULT_CHROMIUM, options.download_timeout,
                           options.allow_private_addresses),
    }
