"""Fetch failures in the crawler's log: one line each, at INFO, never a traceback.

Every failed fetch is recorded with its source (or news item) and printed by
the command that ran the crawl, one line per source. Scrapy would also log
it as an ERROR: the retry middleware when it gives up (lowered by
`RETRY_GIVE_UP_LOG_LEVEL`) and the robots.txt middleware with the whole
traceback of a robots.txt it could not download (lowered here, by a filter
on its logger, as Scrapy's logging documentation suggests). Without `-v`
the crawler logs at WARNING or above, so a cron job mails only the
command's own lines; with `-v` (INFO) the details are still there.
"""

from __future__ import annotations

import logging
from typing import Any

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
