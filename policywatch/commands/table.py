"""Every command: its name, help and options, and the function that carries it out, named as ``module:function``
under `policywatch.commands`.

`policywatch.cli` builds the command line from this table alone and imports a
command's module only when that command runs: `policywatch --help`, and a
command that reads the record, never load what the others need (SQLAlchemy,
Scrapy, the report templates…). Nothing here may import more than the
vocabularies and the argument types.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, time, timedelta, timezone
from typing import Callable

from analysis.claims.vocabulary import ClaimStatus, MentionReview, Stance
from analysis.vocabulary import FlagCategory, Severity
from policywatch.commands.context import AddCommand, now_argument, time_argument
from storage.times import parse_time

DEFAULT_OUT = "site"  # the report directory
DEFAULT_PORT = 8765  # `serve`
DEFAULT_DIR = "wayback"  # `backfill`'s downloaded captures
DEFAULT_DEADLINE = "12h"  # `run --distributed`
CLAIMS_ACTIONS = ("list", "show", "evaluate", "suggest")
MENTIONS_ACTIONS = ("list", "review")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smh])$")


def duration_argument(value: str) -> timedelta:
    match = _DURATION.match(value.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration such as 90m, 6h or 3600s")
    number, unit = float(match.group(1)), match.group(2)
    return timedelta(seconds=number * {"s": 1, "m": 60, "h": 3600}[unit])


def count_argument(least: int) -> Callable[[str], int]:
    """A whole number of at least `least` (`--context -3` would cut words out of the changed lines)."""
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if number < least:
            raise argparse.ArgumentTypeError(f"{value!r} is less than {least}")
        return number
    return parse


def day_argument(value: str, end: bool) -> datetime:
    """A date (`--to 2024-12-31` takes in that whole day) or a time."""
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").date()
            moment = datetime.combine(day, time.min, tzinfo=timezone.utc)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (2024-01-31) or an ISO-8601 time") from None


def add_worker_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--queues", nargs="+", metavar="QUEUE",
                   help="the queues to take jobs from: http, browser, and http.REGION / browser.REGION for sources "
                        "declared with a region (default: http, and browser when it is installed here)")
    p.add_argument("--concurrency", type=count_argument(1), default=2, metavar="N",
                   help="domain jobs at a time (default: 2)")
    p.add_argument("--name", metavar="NAME", help="this worker's name in the record (default: HOST-PID)")


def _crawl(add: AddCommand) -> None:
    p = add("crawl", "crawl:crawl", "fetch every declared source once and record what changed")
    p.add_argument("--only", nargs="+", metavar="ID", help="crawl only these source ids")
    p.add_argument("--now", type=now_argument, help="record this crawl as made at TIME (replays, demos)")


def _extract(add: AddCommand) -> None:
    p = add("extract", "extract:extract", "print what saved pages of a source extract to, without storing anything")
    p.add_argument("--source", required=True, metavar="ID")
    p.add_argument("files", nargs="+", metavar="FILE", help="the pages, in the order of the source's urls")


def _importing(add: AddCommand) -> None:
    p = add("import", "importing:import_command",
            "import saved snapshots listed in a JSON-lines manifest, or the history of "
            "an Open Terms Archive versions repository (one commit per version)")
    p.add_argument("--manifest", metavar="FILE", help="a JSON-lines manifest of saved pages")
    p.add_argument("--ota", metavar="DIR", help="a git checkout of an Open Terms Archive versions repository")
    p.add_argument("--source", metavar="ID", help="with --ota: the declared source the document is a history of")
    p.add_argument("--document", metavar="PATH", help="with --ota: the file in the repository, "
                   "e.g. 'ChatGPT/Privacy Policy.md'")
    p.add_argument("--allow-outside", action="store_true",
                   help="import files from outside the manifest's folder (absolute paths, '..', symlinks out of it)")


def _sources(add: AddCommand) -> None:
    p = add("sources", "sources:sources", "list declared sources and their state")
    p.add_argument("--json", action="store_true")


def _reading(add: AddCommand) -> None:
    p = add("history", "reading:history", "versions and fetch outcomes of one source")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")

    p = add("show", "reading:show", "print one version's text (default: the latest)")
    p.add_argument("id")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--version", type=int, metavar="N")
    group.add_argument("--at", type=time_argument, metavar="TIME", help="the version in force at TIME")
    p.add_argument("--json", action="store_true")

    p = add("raw", "reading:raw", "write the raw bytes of a stored page (a version's snapshot, a refused page or "
            "a news article's page), verified against their sha256")
    p.add_argument("sha256", metavar="SHA256", help="the page's sha256, or its first 8 or more characters")
    p.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output, when not a terminal)")

    p = add("diff", "reading:diff", "word diff between two versions (default: the last two)")
    p.add_argument("id")
    p.add_argument("a", nargs="?", type=int, help="older version number")
    p.add_argument("b", nargs="?", type=int, help="newer version number (default: the latest)")
    p.add_argument("--colour", "--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--context", type=count_argument(0), default=2, metavar="LINES",
                   help="unchanged lines shown around each change (default: 2)")
    p.add_argument("--json", action="store_true")

    categories = [str(c) for c in FlagCategory]
    p = add("changes", "reading:changes", "recorded changes, newest first")
    p.add_argument("--source", action="append", metavar="ID", help="only the changes of source ID; repeatable")
    p.add_argument("--since", type=time_argument, metavar="TIME")
    p.add_argument("--flag", action="append", choices=categories, metavar="CATEGORY",
                   help=f"only changes flagged with CATEGORY ({', '.join(categories)}); repeatable")
    p.add_argument("--severity", action="append", choices=[str(s) for s in Severity],
                   help="only changes of this severity; repeatable")
    p.add_argument("--json", action="store_true")


def _review(add: AddCommand) -> None:
    p = add("review", "review:review", "list the texts of a source's fetches that were refused (too_short) or held for "
            "confirmation, show one, or accept one as the next version with a note")
    p.add_argument("id")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--show", type=int, metavar="FETCH", help="print the text of this fetch")
    group.add_argument("--accept", type=int, metavar="FETCH", help="make the text of this fetch the next version")
    p.add_argument("--note", help="why the text is accepted (required with --accept; kept with the change)")


def _claims(add: AddCommand) -> None:
    p = add("claims", "claims:claims_command", "claims about vendors' data practices and where they stand against the "
            "vendors' own wording: list (default), show ID, evaluate, suggest ID")
    p.add_argument("action", nargs="?", choices=CLAIMS_ACTIONS, default="list",
                   help="list every claim (default); show one; evaluate (bring the record up to date and print the "
                        "statuses, now or --at TIME); suggest sentences for writing a claim's matchers")
    p.add_argument("id", nargs="?", metavar="ID", help="a claim id, for show and suggest")
    p.add_argument("--status", choices=[str(s) for s in ClaimStatus], help="list: only claims with this status")
    p.add_argument("--at", type=time_argument, metavar="TIME", help="show, evaluate: as of TIME")
    p.add_argument("--full", action="store_true", help="evaluate: evaluate every claim's whole history again "
                   "(recorded and shown, never announced)")
    p.add_argument("--source", metavar="ID", help="suggest: only this source's current version")
    p.add_argument("--top", type=count_argument(1), default=5, metavar="N",
                   help="suggest: suggestions per language (default 5)")
    p.add_argument("--json", action="store_true")


def _news(add: AddCommand) -> None:
    p = add("news", "news:news", "read the declared news sources and fetch the articles about a tracked vendor's data "
            "practices (and the known ones due again)")
    p.add_argument("--only", nargs="+", metavar="ID", help="read only these news source ids (enabled or not)")
    p.add_argument("--now", type=now_argument, help="record this run as made at TIME (replays, demos, tests)")


def _articles(add: AddCommand) -> None:
    categories = [str(c) for c in FlagCategory]
    p = add("articles", "articles:articles", "news articles found, newest first")
    p.add_argument("--since", type=time_argument, metavar="TIME", help="first seen or published since TIME")
    p.add_argument("--language", action="append", metavar="L",
                   help="only articles in language L (en, de, fr, …); repeatable")
    p.add_argument("--outlet", action="append", metavar="O",
                   help="only articles of outlet O (its name or news source id); repeatable")
    p.add_argument("--vendor", action="append", metavar="V", help="only articles about vendor V; repeatable")
    p.add_argument("--flag", action="append", choices=categories, metavar="CATEGORY",
                   help=f"only articles with sentences flagged CATEGORY ({', '.join(categories)}); repeatable")
    p.add_argument("--claim", metavar="ID", help="only articles with a sentence that mentions claim ID")
    p.add_argument("--json", action="store_true")

    p = add("article", "articles:article",
            "one news article: dates, versions and corrections, syndicated copies, flagged sentences")
    p.add_argument("id", help="the article id, or its first characters (at least 4)")
    p.add_argument("--json", action="store_true")


def _mentions(add: AddCommand) -> None:
    p = add("mentions", "mentions:mentions_command",
            "press sentences that mention a claim, stale repetitions marked: list "
            "(default), review ID confirm|reject")
    p.add_argument("action", nargs="?", choices=MENTIONS_ACTIONS, default="list")
    p.add_argument("id", nargs="?", metavar="ID", help="review: the mention id")
    p.add_argument("verdict", nargs="?", metavar="confirm|reject", help="review: confirm or reject the mention")
    p.add_argument("--claim", metavar="ID", help="list: only mentions of this claim")
    p.add_argument("--review", choices=[str(r) for r in MentionReview], help="list: only mentions in this review state")
    p.add_argument("--stance", choices=[str(s) for s in Stance], help="list: only mentions with this stance")
    p.add_argument("--stale", action="store_true", help="list: only stale repetitions")
    p.add_argument("--all-versions", action="store_true",
                   help="list: also the mentions of articles' earlier (superseded) versions")
    p.add_argument("--json", action="store_true")


def _classify(add: AddCommand) -> None:
    p = add("classify", "classify:classify", "flag JSON lines: read objects with a `text` field, write them back "
            "with `flags` and `evidence` (with --text: plain text, one statement a line)")
    p.add_argument("file", nargs="?", default="-", metavar="FILE", help="JSON lines (default: standard input)")
    p.add_argument("--language", choices=("en", "de", "fr"), help="default: detected per line")
    p.add_argument("--text", action="store_true", help="read plain text lines instead of JSON lines; each output "
                   "object carries the line's number and text")


def _check(add: AddCommand) -> None:
    p = add("check", "check:check", "verify the database: integrity, every version with its snapshots, every change "
            "with its versions, every raw snapshot against its sha256, the ledger's chain and every version "
            "against its entry, no record dated in the future; or, with --site, a published site against its "
            "ledger; exit 1 on any problem")
    p.add_argument("--site", metavar="DIR", help="verify this published site against its ledger.jsonl instead: "
                   "the chain, every raw snapshot it names, every version text the site publishes")
    p.add_argument("--allowed-signers", metavar="FILE", help="an ssh-keygen allowed-signers file: with --site, "
                   "verify ledger.jsonl.sig against it")


def _rederive(add: AddCommand) -> None:
    p = add("reextract", "rederive:reextract", "extract the newest stored pages of each source again with the current "
            "declarations (refused pages included); a different text becomes a `technical` change, never announced")
    p.add_argument("--only", nargs="+", metavar="ID", help="only these source ids")
    p.add_argument("--now", type=now_argument, metavar="TIME", help="record the re-extraction as made at TIME")

    p = add("reanalyse", "rederive:reanalyse",
            "analyse stored changes again with the current flagging rules (kind, flags, "
            "severity, summary, evidence); the previous analysis is kept, nothing is announced")
    p.add_argument("--only", nargs="+", metavar="ID", help="only the changes of these source ids")
    p.add_argument("--since", type=time_argument, metavar="TIME", help="only changes detected at or after TIME")
    p.add_argument("--now", type=now_argument, metavar="TIME", help="record the re-analysis as made at TIME")


def _report(add: AddCommand) -> None:
    p = add("report", "report:report", "render the static HTML report and the RSS/Atom feeds")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output directory (default: ./{DEFAULT_OUT})")
    p.add_argument("--base-url", metavar="URL", help="where the site will be published, for feed links "
                   "(default: a file:// URL of the output directory)")
    p.add_argument("--full", action="store_true", help="rebuild every page, not only what changed")

    p = add("serve", "report:serve", "serve the report on 127.0.0.1 for local browsing")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"the report directory (default: ./{DEFAULT_OUT})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)")


def _run(add: AddCommand) -> None:
    p = add("run", "run:run", "the nightly job: crawl every source, read the news, then render the report and feeds; "
            "exit 0 all fetched, 1 some failed, 2 configuration error or nothing fetched, 3 another run holds the lock")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"report directory (default: ./{DEFAULT_OUT})")
    p.add_argument("--base-url", metavar="URL", help="where the site is published, for feed links")
    p.add_argument("--log", metavar="FILE", help="append a timestamped log (and the crawler's log) to FILE")
    p.add_argument("--now", type=now_argument, metavar="TIME", help="record the crawl as made at TIME (replays, tests)")
    p.add_argument("--distributed", action="store_true",
                   help="PostgreSQL only: share the night's fetching, one job per domain, with every `policywatch "
                        "worker`; this process takes jobs too, waits for them all or for --deadline, then renders "
                        "the report once")
    p.add_argument("--deadline", type=duration_argument, default=duration_argument(DEFAULT_DEADLINE),
                   metavar="DURATION", help=f"with --distributed: when the night stops waiting for its jobs; what is "
                   f"left becomes not_fetched (e.g. 90m, 6h; default {DEFAULT_DEADLINE})")
    add_worker_options(p)


def _worker(add: AddCommand) -> None:
    p = add("worker", "worker:worker",
            "take domain jobs of distributed nights (`run --distributed`) from the queue on the "
            "PostgreSQL database, until stopped by SIGTERM or SIGINT")
    add_worker_options(p)
    p.add_argument("--log", metavar="FILE", help="append a timestamped log (and the crawler's log) to FILE")


def _demo(add: AddCommand) -> None:
    p = add("demo", "demo:demo", "run the offline demonstration against a local server")
    p.add_argument("--dir", default="demo", help="where to leave policywatch.db (default: ./demo)")


def _notify(add: AddCommand) -> None:
    p = add("notify", "notify:notify", "send the notifications of announced changes and health episodes not sent yet "
            "(`run` does it after each crawl); exit 1 when some could not be delivered")
    p.add_argument("--dry-run", action="store_true", help="print what would be sent; send and record nothing")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"the report directory links point into without --base-url (default: ./{DEFAULT_OUT})")
    p.add_argument("--base-url", metavar="URL", help="where the site is published, for links in messages")


def _export(add: AddCommand) -> None:
    p = add("export", "export:export",
            "export the whole record (sources, version texts, changes with flags and evidence, "
            "fetch outcomes, runs, claims and their events, news articles and their mentions of claims as the "
            "site quotes them) as a dated ZIP with a README describing every field")
    p.add_argument("--out", required=True, metavar="DIR", help="the directory the ZIP is written into")
    p.add_argument("--format", metavar="jsonl|csv", default="jsonl", help="JSON lines (default) or CSV")


def _backfill(add: AddCommand) -> None:
    p = add("backfill", "backfill:backfill",
            "import a source's history from the Wayback Machine (CDX index, raw captures), "
            "through the fetch guard; polite (one request a second), resumable")
    p.add_argument("--wayback", action="store_true", help="from the Internet Archive's Wayback Machine")
    p.add_argument("--only", nargs="+", metavar="ID", help="only these source ids (default: every declared source)")
    p.add_argument("--from", dest="since", type=lambda v: day_argument(v, False), metavar="DATE",
                   help="only captures from DATE on (2023-01-01 or an ISO-8601 time)")
    p.add_argument("--to", dest="until", type=lambda v: day_argument(v, True), metavar="DATE",
                   help="only captures up to DATE, that whole day included")
    p.add_argument("--dir", default=DEFAULT_DIR, metavar="DIR",
                   help=f"where downloaded captures are kept between runs (default: ./{DEFAULT_DIR})")


def _doctor(add: AddCommand) -> None:
    p = add("doctor", "doctor:doctor", "check the database, the browser, the settings, the declarations and the report "
            "directory, and say what to fix (no network request); exit 1 when something needs fixing")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"the report directory (default: ./{DEFAULT_OUT})")


# In the order `policywatch --help` lists them.
COMMANDS: tuple[Callable[[AddCommand], None], ...] = (
    _crawl,
    _extract,
    _importing,
    _sources,
    _reading,
    _review,
    _claims,
    _news,
    _articles,
    _mentions,
    _classify,
    _check,
    _rederive,
    _report,
    _run,
    _worker,
    _demo,
    _notify,
    _export,
    _backfill,
    _doctor,
)
