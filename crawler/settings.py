"""Scrapy settings for policywatch, built from the typed configuration.

`scrapy crawl policies` reads this module (see scrapy.cfg); `policywatch crawl`
uses `scrapy_settings()` with its own options applied on top.
"""

from __future__ import annotations

from typing import Any

from crawler.browser import browser_settings, configured_chromium
from policywatch.config import Settings, load_settings

BOT_NAME = "policywatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def scrapy_settings(settings: Settings) -> dict[str, Any]:
    return {
        "BOT_NAME": BOT_NAME,
        "SPIDER_MODULES": SPIDER_MODULES,
        "NEWSPIDER_MODULE": NEWSPIDER_MODULE,
        "USER_AGENT": settings.user_agent,
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_USER_AGENT": "policywatch",
        "CONCURRENT_REQUESTS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrency_per_domain,
        "DOWNLOAD_DELAY": 0.5 if settings.autothrottle else 0,
        "AUTOTHROTTLE_ENABLED": settings.autothrottle,
        "AUTOTHROTTLE_START_DELAY": 1.0,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": settings.retry_times,
        "RETRY_HTTP_CODES": [408, 429, 500, 502, 503, 504, 522, 524],
        "DOWNLOAD_TIMEOUT": settings.download_timeout,
        "DOWNLOAD_MAXSIZE": settings.download_maxsize,
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
        "POLICYWATCH_BACKOFF_BASE": settings.backoff_base,
        "POLICYWATCH_TOO_SHORT_FRACTION": settings.too_short_fraction,
        "POLICYWATCH_FAILING_AFTER_RUNS": settings.failing_after_runs,
        "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": settings.allow_private_addresses,
        "POLICYWATCH_DB": settings.db_url,
        "POLICYWATCH_SOURCES": str(settings.sources),
        "POLICYWATCH_NOW": None,
        "POLICYWATCH_ONLY": [],
        **browser_settings(configured_chromium(settings), settings.download_timeout,
                           settings.allow_private_addresses),
    }


globals().update(scrapy_settings(load_settings()))
