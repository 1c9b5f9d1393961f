"""Fetch failures in the crawler's log: one line each, at INFO, never a traceback.

Every failed fetch is recorded with its source (or news item) and printed by
the command that ran the crawl, one line per source. Scrapy would also log
it as an ERROR: the retry middleware when it gives up (lowered by
`RETRY_GIVE_UP_LOG_LEVEL`) and the robots.txt middleware with the whole
traceback of a robots.txt it could not download (lowered here, by a filter
on its logger, as Scrapy's logging documentation suggests). Without `-v`
the crawler logs at WARNING or above, so a cron job mails only the
command's own lines; with `-v` (INFO) the details are still there.

Scrapy builds every record it logs, a DEBUG line per page fetched
("Crawled (200) …") and per item among them, and only then lets its handler
drop those under `LOG_LEVEL`: it sets the root logger to let everything
through. `LogFormatter` does not build those two lines when `LOG_LEVEL` is
above DEBUG.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.logformatter import LogFormatter as ScrapyLogFormatter, LogFormatterResult

ROBOTSTXT_LOGGER = "scrapy.downloadermiddlewares.robotstxt"


class RobotsFetchErrorFilter(logging.Filter):
    """Lowers "Error downloading …" of the robots.txt middleware to INFO, without its traceback: the page's own
    request meets the same error and the source's failure says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO and str(record.msg).startswith("Error downloading"):
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
            record.exc_info, record.exc_text = None, None
        return True


class FetchLog:
    """A Scrapy extension (`EXTENSIONS`) putting `RobotsFetchErrorFilter` on the robots.txt middleware's logger,
    once per process."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> "FetchLog":
        logger = logging.getLogger(ROBOTSTXT_LOGGER)
        if not any(isinstance(f, RobotsFetchErrorFilter) for f in logger.filters):
            logger.addFilter(RobotsFetchErrorFilter())
        return cls()


def logs_at(settings: Any, level: int) -> bool:
    """Whether a crawl with these Scrapy settings keeps records of ``level`` (its `LOG_LEVEL` lets them through;
    one Scrapy does not know keeps everything)."""
    setting = settings.get("LOG_LEVEL")
    threshold = logging.getLevelName(setting.upper()) if isinstance(setting, str) else setting
    return not isinstance(threshold, int) or level >= threshold


class LogFormatter(ScrapyLogFormatter):
    """Scrapy's log formatter (`LOG_FORMATTER`), giving no DEBUG line for a page crawled or an item scraped
    when the crawl's `LOG_LEVEL` is above DEBUG: Scrapy's engine then logs nothing for them (what Scrapy's
    documentation says a formatter returning None does), instead of building a record its handler drops."""

    def __init__(self, debug: bool = True):
        self.debug = debug

    @classmethod
    def from_crawler(cls, crawler: Any) -> "LogFormatter":
        return cls(debug=logs_at(crawler.settings, logging.DEBUG))

    def crawled(self, request: Any, response: Any, spider: Any) -> LogFormatterResult | None:  # type: ignore[override]
        return super().crawled(request, response, spider) if self.debug else None

    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult | None:  # type: ignore[override]
        return super().scraped(item, response, spider) if self.debug else None
