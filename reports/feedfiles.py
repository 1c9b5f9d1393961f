"""Writing the feed files: which changes each feed carries, their entries, and when a feed is rewritten."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Sequence

from sqlalchemy.orm import Session

from analysis.diff import Diff, diff_texts
from reports import feeds, urls
from reports.data import ChangeInfo, SourceInfo, load_texts
from reports.excerpt import Sentence, important_sentences
from reports.output import SiteWriter
from reports.render import render
from reports.titles import change_title
from storage.health import HealthEvent
from storage.vocabulary import HealthEventKind, HealthState


class Excerpts:
    """The changed sentences each feed entry quotes, computed once per build.

    Change pages hand over the diff they computed anyway; an entry whose
    change page was not rewritten in this build has its two texts read again.
    """

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[int, list[Sentence]] = {}

    def remember(self, change: ChangeInfo, diff: Diff) -> None:
        cited = [e["sentence"] for e in change.evidence() if isinstance(e.get("sentence"), str)]
        self.cache[change.id] = important_sentences(diff, cited)

    def get(self, change: ChangeInfo) -> list[Sentence]:
        if change.id not in self.cache:
            damaged: dict[int, str] = {}
            texts = load_texts(self.session, change.source_id, (change.from_number, change.to_number), damaged)
            if damaged:  # its version page names the damage; the entry quotes nothing
                return []
            self.remember(change, diff_texts(texts[change.from_number], texts[change.to_number]))
        return self.cache[change.id]


def _entry(change: ChangeInfo, source: SourceInfo, base_url: str, excerpts: Excerpts) -> feeds.Entry:
    change = change.as_announced()  # a re-analysis never changes what was announced
    link = base_url + urls.change_page(change.id)
    content = render("feed_entry.html", change=change, summary=change.summary, source_title=source.title,
                     sentences=excerpts.get(change), link=link)
    return feeds.Entry(urls.change_tag(source.id, change.to_number),
                       change_title(change, source.vendor, source.title), link,
                       change.detected_at, content, change.flags)


def write_feed(writer: SiteWriter, stem: str, page_path: str, base_url: str, tag: str, title: str,
               subtitle: str, entries: Sequence[tuple[ChangeInfo, SourceInfo]], excerpts: Excerpts,
               since: datetime | None) -> None:
    """Write `feeds/<stem>.atom` and `.rss` unless their inputs are unchanged (`since`: `feeds.FeedSpec`'s)."""
    chosen = sorted(entries, key=lambda e: (e[0].detected_at, e[0].id), reverse=True)[:feeds.MAX_ENTRIES]
    # The key names every input of the feed's bytes: the entries' metadata
    # (their texts are fixed by the sha256s in it) and the labels around them.
    key = writer.key("feed", stem, title, subtitle, since,
                     [(c, s.id, s.vendor, s.title) for c, s in chosen])
    paths = {fmt: f"feeds/{stem}.{fmt}" for fmt in ("atom", "rss")}
    if all(writer.fresh(p, key) for p in paths.values()):
        for p in paths.values():
            writer.keep(p, key)
        return
    spec = feeds.FeedSpec(tag, title, subtitle, base_url + page_path,
                          {fmt: base_url + p for fmt, p in paths.items()},
                          tuple(_entry(c, s, base_url, excerpts) for c, s in chosen), since)
    for fmt, path in paths.items():
        writer.write(path, feeds.render(spec, fmt))  # type: ignore[arg-type]
        writer.own(path, key)


def write_source_feed(writer: SiteWriter, source: SourceInfo, base_url: str, excerpts: Excerpts) -> None:
    stem = urls.source_feed(source.id, "atom")[len("feeds/"):-len(".atom")]
    write_feed(writer, stem, urls.source_page(source.id), base_url, urls.feed_tag(f"source/{source.id}"),
               f"policywatch: {source.vendor} — {source.title}",
               f"Changes in {source.vendor} — {source.title} ({source.id}).",
               [(c, source) for c in source.changes if c.announced], excerpts, source.began)


def write_site_feeds(writer: SiteWriter, sources: Sequence[SourceInfo], changes: Sequence[ChangeInfo],
                     base_url: str, excerpts: Excerpts, since: datetime | None) -> None:
    """The feed of all announced changes and the feed of flagged ones (`since`: when the record began)."""
    by_id = {s.id: s for s in sources}
    announced = [(c, by_id[c.source_id]) for c in changes if c.announced]
    write_feed(writer, "changes", urls.index_page(), base_url, urls.feed_tag("changes"),
               "policywatch: changes in what vendors say about user data",
               "Every change in wording of the tracked documents (formatting-only, reverts and technical "
               "re-extractions left out).", announced, excerpts, since)
    write_feed(writer, "flagged", urls.index_page(), base_url, urls.feed_tag("flagged"),
               "policywatch: flagged changes",
               "Changes whose wording touches retention, training, sharing, controls, sensitive data or legal "
               "terms.", [(c, s) for c, s in announced if c.announced_flagged], excerpts, since)


def _health_entry(event: HealthEvent, source: SourceInfo | None, base_url: str) -> feeds.Entry:
    event = replace(event, detail=urls.hide_local_paths(event.detail))
    name = f"{source.vendor} — {source.title}" if source else event.source_id
    since = event.since.strftime("%Y-%m-%d %H:%M UTC")
    if event.kind == HealthEventKind.FAILING:
        title = f"{name}: failing since {since} ({event.failure_kind})"
        content = render("health_entry.html", event=event, name=name, since=since,
                         what=f"{event.failed_runs} failed fetches in a row")
    else:
        title = f"{name}: recovered after {event.failed_runs} failed fetch{'es' if event.failed_runs != 1 else ''}"
        content = render("health_entry.html", event=event, name=name, since=since,
                         what=f"fetched again after failing since {since}")
    link = base_url + (urls.source_page(event.source_id) if source else urls.runs_page())
    entry_id = urls.health_tag(event.source_id, event.kind, event.since.strftime("%Y%m%dT%H%M%SZ"))
    return feeds.Entry(entry_id, title, link, event.at, content, (event.kind,))


def write_health_feed(writer: SiteWriter, sources: Sequence[SourceInfo], events: Sequence[HealthEvent],
                      base_url: str, since: datetime | None) -> None:
    """`feeds/health.atom` and `.rss`: one entry when a source starts failing, one when it recovers."""
    by_id = {s.id: s for s in sources}
    # A source known from imported files only has not been fetched: its files' failures are not its site's.
    events = [e for e in events if e.source_id not in by_id or by_id[e.source_id].health.state != HealthState.IMPORTED]
    chosen = sorted(events, key=lambda e: (e.at, e.source_id), reverse=True)[:feeds.MAX_ENTRIES]
    key = writer.key("health-feed", since,
                     [(e, by_id[e.source_id].title if e.source_id in by_id else "") for e in chosen])
    paths = {fmt: f"feeds/health.{fmt}" for fmt in ("atom", "rss")}
    if all(writer.fresh(p, key) for p in paths.values()):
        for p in paths.values():
            writer.keep(p, key)
        return
    spec = feeds.FeedSpec(urls.feed_tag("health"), "policywatch: fetch health",
                          "One entry when a source starts failing, and one when it recovers.",
                          base_url + urls.runs_page(), {fmt: base_url + p for fmt, p in paths.items()},
                          tuple(_health_entry(e, by_id.get(e.source_id), base_url) for e in chosen), since)
    for fmt, path in paths.items():
        writer.write(path, feeds.render(spec, fmt))  # type: ignore[arg-type]
        writer.own(path, key)
