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
from urllib.parse import urlsplit

from crawler.browser import DEFAULT_CHROMIUM, browser_settings
from analysis.claims.limits import DEFAULT_TIME_LIMIT
from ingest import BUNDLED_CLAIMS, BUNDLED_NEWS, BUNDLED_SOURCES
from ingest.guard import TOO_SHORT_FRACTION
from ingest.news.limits import GDELT_API, GDELT_MIN_INTERVAL_SECONDS, NightLimits
from storage.db import DEFAULT_DB_URL, LOCK_TIMEOUT, database_url
from storage.health import FAILING_AFTER_RUNS

BOT_NAME = "policywatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
CONTACT_URL = "https://github.com/policywatch/policywatch"
NIGHT_TIME_LIMIT = 3 * 3600.0
MIN_DOWNLOAD_DELAY = 0.01


# The ladder at 580 sees responses after decompression (590) and redirects (600), and before the retries
# (550), which would otherwise retry 429/503 challenge pages in vain. Decompression is crawler.completeness's,
# which notices streams cut short; redirects out of http(s) are refused at 610, before the redirect middleware
# would hand them back as a bare 3xx. Spaced hosts at 650 see each request after robots.txt (100) is settled,
# and each response before a redirect (600) or a retry (550) replaces it. Meta refreshes at 579 see each
# response after the ladder, as Scrapy's own middleware did at 580, where it sorted before the ladder's same
# priority.
DOWNLOADER_MIDDLEWARES = {"crawler.middlewares.PrivateAddressMiddleware": 50,
                          "crawler.middlewares.DeadlineMiddleware": 340,
                          "crawler.middlewares.BackoffRetryMiddleware": 550,
                          "crawler.ladder.BrowserLadderMiddleware": 580,
                          "crawler.completeness.CompleteCompressionMiddleware": 590,
                          "crawler.middlewares.RedirectSchemeMiddleware": 610,
                          "crawler.middlewares.SpacedHostsMiddleware": 650,
                          "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
                          "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
                          "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
                          "crawler.middlewares.TextlessMetaRefreshMiddleware": 579}

# What the `news` spider adds (its `custom_settings`): the frontier that turns feeds into article requests,
# the TDMRep reading of each site, and the pipeline that records the night.
NEWS_COMPONENTS: dict[str, Any] = {
    "ITEM_PIPELINES": {"crawler.news_pipeline.NewsPipeline": 300},
    "SPIDER_MIDDLEWARES": {"crawler.news_frontier.NewsFrontierMiddleware": 950},
    "DOWNLOADER_MIDDLEWARES": {**DOWNLOADER_MIDDLEWARES, "crawler.news_frontier.TdmRepMiddleware": 560},
}


@dataclass(frozen=True)
class CrawlOptions:
    """What a crawl needs to know, with the crawler's defaults."""

    db: str = DEFAULT_DB_URL  # an SQLAlchemy URL, or a bare path for an SQLite file
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
    news: Path = BUNDLED_NEWS
    news_max_candidates: int = NightLimits.max_candidates
    news_max_refetches: int = NightLimits.max_refetches
    gdelt_interval: float = GDELT_MIN_INTERVAL_SECONDS
    gdelt_api: str = GDELT_API
    lock_timeout: float = LOCK_TIMEOUT
    # Distributed nights: how often a worker beats, and how long without a beat before its jobs go to others.
    worker_heartbeat: float = 10.0
    worker_stalled_after: float = 60.0
    claims: Path = BUNDLED_CLAIMS
    claim_time_limit: float = DEFAULT_TIME_LIMIT
    night_time_limit: float = NIGHT_TIME_LIMIT  # seconds for one command's crawls together (run: policies and news)

    @property
    def db_url(self) -> str:
        return database_url(self.db)

    @property
    def user_agent(self) -> str:
        return f"policywatch/0.1 (+{self.contact_url})"


def gdelt_interval(options: CrawlOptions) -> float:
    """Seconds between requests to GDELT's host, robots.txt included. GDELT asks for five: a shorter interval
    is only ever used for a stand-in (a mirror, a test server)."""
    if options.gdelt_api == GDELT_API:
        return max(options.gdelt_interval, GDELT_MIN_INTERVAL_SECONDS)
    return options.gdelt_interval


# Components the crawl never uses (cookies and the consoles are off), taken out of Scrapy's own lists: left in
# them, each is imported to find it disabled, and set to None in EXTENSIONS or DOWNLOADER_MIDDLEWARES it is
# imported to match it with its base's entry; the remote control's module brings aiohttp and the cookies
# middleware's tldextract, 0.3 s of CPU at every start.
UNUSED_COMPONENTS = frozenset({"scrapy.extensions.telnet.TelnetConsole",
                               "scrapy.extensions.remote_control.RemoteControl",
                               "scrapy.downloadermiddlewares.cookies.CookiesMiddleware"})


def _without_unused_components() -> dict[str, dict[str, int]]:
    # Scrapy's lists as this Scrapy has them (imported only when a crawl is set up), less the unused components.
    from scrapy.settings import default_settings

    return {name: {path: order for path, order in getattr(default_settings, name).items()
                   if path not in UNUSED_COMPONENTS}
            for name in ("EXTENSIONS_BASE", "DOWNLOADER_MIDDLEWARES_BASE")}


def scrapy_settings(options: CrawlOptions) -> dict[str, Any]:
    browser = browser_settings(options.chromium or DEFAULT_CHROMIUM, options.download_timeout,
                               options.allow_private_addresses)
    return {
        "BOT_NAME": BOT_NAME,
        "SPIDER_MODULES": SPIDER_MODULES,
        "NEWSPIDER_MODULE": NEWSPIDER_MODULE,
        "USER_AGENT": options.user_agent,
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_USER_AGENT": "policywatch",
        "CONCURRENT_REQUESTS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": options.concurrency_per_domain,
        # A response's output is one item or request (a news feed's: its item and the requests it plans, which
        # are only queued), worked through in order; Scrapy starts this many tasks per response to do it (100 by
        # default: about 0.7 ms of CPU a page for nothing).
        "CONCURRENT_ITEMS": 1,
        # Never 0: with no delay, Scrapy 2.19's downloader starts every request queued for a host at once,
        # whatever CONCURRENT_REQUESTS_PER_DOMAIN says (the slot counts a request only once its download began).
        "DOWNLOAD_DELAY": 0.5 if options.autothrottle else MIN_DOWNLOAD_DELAY,
        "AUTOTHROTTLE_ENABLED": options.autothrottle,
        "AUTOTHROTTLE_START_DELAY": 1.0,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": options.retry_times,
        "RETRY_HTTP_CODES": [408, 429, 500, 502, 503, 504, 522, 524],
        # Giving up is a fetch failure, which the source records and the command prints: once, not also as an error.
        "RETRY_GIVE_UP_LOG_LEVEL": "INFO",
        # The night's crawls stop here (`run_crawls` gives each the time left); sources not reached by then are
        # recorded as not fetched.
        "CLOSESPIDER_TIMEOUT": options.night_time_limit,
        "DOWNLOAD_TIMEOUT": options.download_timeout,
        "DOWNLOAD_MAXSIZE": options.download_maxsize,
        "DOWNLOAD_WARNSIZE": 0,
        # A body shorter than its Content-Length reaches crawler.completeness, which records it as `truncated`
        # (and keeps what arrived as evidence) instead of a bare connection error.
        "DOWNLOAD_FAIL_ON_DATALOSS": False,
        # Every name is resolved through the private-address guard: the address connected to is the one checked.
        "TWISTED_DNS_RESOLVER": "crawler.resolver.GuardedResolver",
        "COOKIES_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "REDIRECT_MAX_TIMES": 10,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        # Scrapy checks a generator callback for a `return` with a value by reading and parsing its source again
        # for every response (its cache is keyed weakly by the callable, and a bound method is a new object each
        # time): about 1 ms of CPU a page, for a warning meant for whoever writes the spider.
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "LOG_LEVEL": "INFO",
        "LOG_FORMATTER": "crawler.fetchlog.LogFormatter",
        "EXTENSIONS": {"crawler.fetchlog.FetchLog": 0},
        **_without_unused_components(),
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "TWISTED_REACTOR": REACTOR,
        "ITEM_PIPELINES": {"crawler.pipelines.StoragePipeline": 300},
        "DOWNLOADER_MIDDLEWARES": DOWNLOADER_MIDDLEWARES,
        "POLICYWATCH_BACKOFF_BASE": options.backoff_base,
        "POLICYWATCH_TOO_SHORT_FRACTION": options.too_short_fraction,
        "POLICYWATCH_FAILING_AFTER_RUNS": options.failing_after_runs,
        "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": options.allow_private_addresses,
        "POLICYWATCH_DB": options.db_url,
        "POLICYWATCH_LOCK_TIMEOUT": options.lock_timeout,
        "POLICYWATCH_SOURCES": str(options.sources),
        "POLICYWATCH_CLAIMS": str(options.claims),
        "POLICYWATCH_CLAIM_TIME_LIMIT": options.claim_time_limit,
        "POLICYWATCH_NOW": None,
        "POLICYWATCH_ONLY": [],
        # The command's -q: what is not a failure (a wait for another writer) is logged at INFO, not WARNING.
        "POLICYWATCH_QUIET": False,
        "POLICYWATCH_NEWS": str(options.news),
        "POLICYWATCH_NEWS_MAX_CANDIDATES": options.news_max_candidates,
        "POLICYWATCH_NEWS_MAX_REFETCHES": options.news_max_refetches,
        "POLICYWATCH_GDELT_API": options.gdelt_api,
        "POLICYWATCH_SPACED_HOSTS": {urlsplit(options.gdelt_api).netloc: gdelt_interval(options)},
        **browser,
        # Only http(s) is fetched: nothing may reach a local file, inline data or an FTP server.
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "ftp": None, "s3": None,
                              **browser.get("DOWNLOAD_HANDLERS", {})},
    }
