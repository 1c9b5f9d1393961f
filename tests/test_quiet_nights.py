"""Quiet, bounded nights: one line per failed source, refused connections and failed lookups retried once, the
night's time bounded and printed. Hosts are served on 127.0.0.1; a refused connection is a port bound by the
test but not listening, a failed lookup a name under `.invalid`, which the crawler's resolver answers itself."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from policywatch.localserver import Page
from conftest import write_declarations

GOOD = b"<html><body><main>" + b"<p>We keep your chats for thirty days, then delete them.</p>" * 20 + \
    b"</main></body></html>"
NOWHERE = "http://policies.nowhere.invalid"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound on 127.0.0.1 that nothing listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def news_declarations(path: Path, port: int) -> Path:
    entries = [{"id": f"t/{name}", "kind": "feed", "url": url, "language": "en", "outlet": name.title(),
                "type": "press"} for name, url in (("refusing", f"http://127.0.0.1:{port}/feed.rss"),
                                                   ("unnamed", f"{NOWHERE}/feed.rss"))]
    path.write_text(yaml.safe_dump({"news": entries}), encoding="utf-8")
    return path


def stderr_lines(text: str) -> list[str]:
    """stderr without the one-off notice of a new database."""
    return [line for line in text.splitlines() if not line.startswith("policywatch: creating database schema")]


def test_run_quiet_prints_one_line_per_failed_source_and_gives_up_on_unreachable_hosts_after_one_retry(
        server, make_cli, tmp_path: Path, closed_port: int) -> None:  # type: ignore[no-untyped-def]
    server.routes.update({"/policy": Page(GOOD), "/busy": Page(b"busy", status=503)})
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/policy", "urls": ["/policy"], "select": "main"},
        {"id": "t/busy", "urls": ["/busy"], "select": "main"},
        {"id": "t/refused", "urls": [f"http://127.0.0.1:{closed_port}/privacy"], "select": "main"},
        {"id": "t/nowhere", "urls": [f"{NOWHERE}/privacy"], "select": "main"},
    ])
    cli = make_cli(decl, news=news_declarations(tmp_path / "news.yaml", closed_port))
    log = tmp_path / "run.log"
    quiet = cli("run", "--quiet", "--out", str(tmp_path / "site"), "--log", str(log), check=False,
                env={"POLICYWATCH_RETRY_TIMES": "2"})

    assert quiet.returncode == 2, quiet.stdout + quiet.stderr  # no news source could be read
    assert stderr_lines(quiet.stderr) == [], quiet.stderr
    lines = quiet.stdout.splitlines()
    assert sorted(line.split(":")[0] for line in lines) == [
        "failed news source t/refusing", "failed news source t/unnamed",
        "failed t/busy", "failed t/nowhere", "failed t/refused"], lines
    assert all(len(line) < 400 for line in lines)
    assert any(line.startswith("failed t/refused: connection: ") and "refused" in line.lower() for line in lines)
    assert any(line.startswith("failed t/nowhere: connection: ") and "DNS lookup failed" in line for line in lines)

    # A server that answers is retried as often as configured (robots.txt is a 404 here, fetched once) …
    assert server.hits.count("/busy") == 3
    # … a host that refuses or has no address once, robots.txt and page alike, for policies and news; the details
    # are in the log, on one line each, with no traceback.
    logged = log.read_text(encoding="utf-8")
    for url in (f"http://127.0.0.1:{closed_port}/robots.txt", f"http://127.0.0.1:{closed_port}/privacy",
                f"{NOWHERE}/robots.txt", f"{NOWHERE}/privacy",
                f"http://127.0.0.1:{closed_port}/feed.rss", f"{NOWHERE}/feed.rss"):
        assert re.search(rf"INFO: Gave up retrying <GET {re.escape(url)}> \(failed 2 times\)", logged), url
    assert "Traceback" not in logged and "] ERROR:" not in logged
    # The log keeps a line per source at INFO, and none of Scrapy's DEBUG lines for each page and item.
    assert re.search(r"INFO: t/policy: first \(version 1\)", logged), logged
    assert "Crawled (" not in logged and "Scraped from" not in logged and "DEBUG" not in logged
    assert re.search(r"policywatch run 1: 4 sources checked, 1 new version, 0 changes, 3 failures in \d+ s; ",
                     logged)


def test_without_verbose_each_failure_is_printed_once_and_quiet_only_the_failures(
        make_cli, tmp_path: Path, closed_port: int) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", "", [
        {"id": "t/refused", "urls": [f"http://127.0.0.1:{closed_port}/privacy"], "select": "main"}])
    cli = make_cli(decl, news=news_declarations(tmp_path / "news.yaml", closed_port))

    crawled = cli("crawl", check=False)
    assert crawled.returncode == 2
    assert stderr_lines(crawled.stderr) == [], crawled.stderr
    assert crawled.stdout.count(f"127.0.0.1:{closed_port}") == 1, crawled.stdout
    assert crawled.stdout.splitlines()[1].startswith("  failed t/refused: connection: ")

    quiet = cli("crawl", "-q", check=False)
    assert (quiet.returncode, quiet.stderr) == (2, "")
    assert [line.split(":")[0] for line in quiet.stdout.splitlines()] == ["failed t/refused"], quiet.stdout

    read = cli("news", "-q", check=False)
    assert read.returncode == 2
    assert stderr_lines(read.stderr) == [], read.stderr
    assert sorted(line.split(":")[0] for line in read.stdout.splitlines()) == [
        "failed news source t/refusing", "failed news source t/unnamed"], read.stdout


def test_the_night_is_bounded_a_slow_source_is_cut_off_and_the_others_are_recorded(
        server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Without the bound the slow page would hold the night for the whole download timeout (60 s here).
    server.routes.update({"/policy": Page(GOOD), "/slow": Page(GOOD, delay=90)})
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/policy", "urls": ["/policy"], "select": "main"},
        {"id": "t/slow", "urls": ["/slow"], "select": "main"},
    ])
    cli = make_cli(decl)
    night = cli("run", "--out", str(tmp_path / "site"), check=False,
                env={"POLICYWATCH_NIGHT_TIME_LIMIT": "4", "POLICYWATCH_DOWNLOAD_TIMEOUT": "60"})
    assert night.returncode == 1, night.stdout + night.stderr
    summary, *failures = night.stdout.splitlines()
    seconds = int(re.search(r"1 failure in (\d+) s; report: ", summary).group(1))  # type: ignore[union-attr]
    assert 4 <= seconds < 30, summary
    assert failures == ["  failed t/slow: not_fetched: the crawl ended (night_time_limit: the 4 s left for this "
                        "command's crawls ran out) before t/slow was fetched"]
    assert "1 new version" in summary


@pytest.mark.parametrize("level, debug, info", [
    ("DEBUG", True, True), ("INFO", False, True), ("info", False, True), ("WARNING", False, False),
    (logging.ERROR, False, False), (logging.DEBUG, True, True), (None, True, True),
])
def test_a_crawl_builds_no_log_line_its_log_level_drops(level, debug, info) -> None:  # type: ignore[no-untyped-def]
    from scrapy.http import HtmlResponse, Request
    from scrapy.settings import Settings

    from crawler.fetchlog import LogFormatter, logs_at

    settings = Settings({"LOG_LEVEL": level})
    assert (logs_at(settings, logging.DEBUG), logs_at(settings, logging.INFO)) == (debug, info)
    formatter = LogFormatter(debug=logs_at(settings, logging.DEBUG))
    request = Request("http://127.0.0.1/policy")
    response = HtmlResponse(request.url, body=b"<html></html>", request=request)
    crawled, scraped = formatter.crawled(request, response, None), formatter.scraped({"a": 1}, response, None)
    assert (crawled is not None, scraped is not None) == (debug, debug)
    if debug:
        assert crawled["level"] == scraped["level"] == logging.DEBUG and "Crawled (200)" in crawled["msg"] % crawled["args"]


@pytest.mark.parametrize("level, debug, info", [("WARNING", False, False), ("INFO", False, True), ("DEBUG", True, True)])
def test_the_crawl_settings_wire_the_quiet_log_in(level, debug, info) -> None:  # type: ignore[no-untyped-def]
    from scrapy.utils.test import get_crawler

    from crawler.fetchlog import LogFormatter
    from crawler.pipelines import StoragePipeline
    from crawler.settings import CrawlOptions, scrapy_settings
    from crawler.spiders.policies import PoliciesSpider

    crawler = get_crawler(PoliciesSpider, {**scrapy_settings(CrawlOptions()), "LOG_LEVEL": level})
    crawler._apply_settings()  # what Crawler.crawl does first: builds the log formatter from the settings
    assert isinstance(crawler.logformatter, LogFormatter) and crawler.logformatter.debug is debug
    assert StoragePipeline(crawler).log_results is info


@pytest.mark.parametrize("quiet, level", [(False, "WARNING"), (True, "INFO")])
def test_a_quiet_crawl_logs_its_wait_for_another_writer_below_warning(quiet, level, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    # `crawl -q` prints only failures: a wait the crawl's own recording meets mid-crawl is none.
    import threading

    from scrapy.utils.test import get_crawler
    from sqlalchemy import text

    from conftest import hold_write_lock
    from crawler.pipelines import StoragePipeline
    from crawler.settings import CrawlOptions, scrapy_settings
    from crawler.spiders.policies import PoliciesSpider
    from storage.db import transaction

    db = tmp_path / "pw.db"
    crawler = get_crawler(PoliciesSpider, {**scrapy_settings(CrawlOptions(db=f"sqlite:///{db}")),
                                           "POLICYWATCH_QUIET": quiet})
    pipeline = StoragePipeline(crawler)
    pipeline.open_spider()
    try:
        started = threading.Event()
        holder = threading.Thread(target=hold_write_lock, args=(db, 2.5, started))
        holder.start()
        started.wait()
        with caplog.at_level("INFO", logger="storage.db"), transaction(pipeline.factory) as session:
            session.execute(text("SELECT 1"))
        holder.join()
    finally:
        pipeline.worker.shutdown()
        pipeline._dispose()
    assert [r.levelname for r in caplog.records if "another writer" in r.getMessage()] == [level]
