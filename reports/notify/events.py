"""What notifications announce, read from the record.

An event has a key that names it for ever (`change:42`,
`health:openai/privacy-policy-eu:failing:20260102T060000Z`, `claim:17`), the facts a
target's filter looks at, a title, and a body composed only when the event is
actually sent. Each kind of event comes from one function in `EVENT_SOURCES`.

Never announced: formatting changes, reverts, technical re-extractions (a
change's `announced` flag, decided when it was detected), re-analyses (an
announced change keeps the analysis it was detected with:
`ChangeInfo.as_announced`), and the fetches of re-extractions and
re-analyses (health comes from the runs that looked at pages).

Claim status changes are those the claims feed announces, caused by a new
version of a vendor's own document, never by an edited claim declaration or
a changed tracking rule, and not found by a re-evaluation of the history:
the feed also announces what a re-evaluation found in a vendor's history
recorded late (an earlier document imported after a later one), but that is
no news of the night to send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.claims import Claim, ClaimStatus
from analysis.diff import diff_texts
from reports import urls
from reports.data import SourceInfo, load_record, load_texts
from reports.excerpt import important_sentences
from reports.notify import messages
from reports.notify.messages import Message
from reports.notify.targets import NotifyTarget
from reports.render import human
from storage import claims_queries
from storage.health import health_events
from storage.models import SourceRow
from storage.vocabulary import HealthEventKind, NotificationKind


@dataclass(frozen=True)
class Event:
    key: str
    kind: NotificationKind
    at: datetime
    title: str
    compose: Callable[[], Message] = field(compare=False, repr=False)
    vendor: str = ""
    source_id: str = ""
    flags: tuple[str, ...] = ()
    severity: str = ""
    claim_id: str = ""

    def wanted_by(self, target: NotifyTarget) -> bool:
        return target.wants(self.kind, vendor=self.vendor, source_id=self.source_id, flags=self.flags,
                            severity=self.severity, claim_id=self.claim_id)


@dataclass(frozen=True)
class EventContext:
    base_url: str  # where the site is published: links in messages point there
    failing_after: int


EventSource = Callable[[Session, "datetime | None", EventContext], Iterable[Event]]


def _sources(session: Session, context: EventContext) -> dict[str, SourceInfo]:
    return {s.id: s for s in load_record(session, recent_runs=0, failing_after=context.failing_after).sources}


def change_events(session: Session, since: datetime | None, context: EventContext) -> Iterator[Event]:
    """Every announced change detected at or after `since`, as it was announced."""
    for source in _sources(session, context).values():
        for info in source.changes:
            if not info.announced or (since is not None and info.detected_at < since):
                continue
            change = info.as_announced()
            link = context.base_url + urls.change_page(change.id)

            def compose(change=change, source=source, link=link) -> Message:  # type: ignore[no-untyped-def]
                texts = load_texts(session, source.id, (change.from_number, change.to_number))
                cited = [e["sentence"] for e in change.evidence() if isinstance(e.get("sentence"), str)]
                sentences = important_sentences(diff_texts(texts[change.from_number], texts[change.to_number]),
                                                cited)
                return Message(
                    messages.change_title(change.severity, source.vendor, source.title, change.summary,
                                          change.words_added, change.words_removed),
                    messages.change_body(vendor=source.vendor, document=source.title, source_id=source.id,
                                         from_number=change.from_number, to_number=change.to_number,
                                         detected=human(change.detected_at), flags=change.flags,
                                         severity=change.severity, summary=change.summary,
                                         words_added=change.words_added, words_removed=change.words_removed,
                                         sentences=sentences, link=link))

            yield Event(f"change:{change.id}", NotificationKind.CHANGE, change.detected_at,
                        messages.change_title(change.severity, source.vendor, source.title, change.summary,
                                              change.words_added, change.words_removed),
                        compose, vendor=source.vendor, source_id=source.id, flags=change.flags,
                        severity=change.severity)


def source_health_events(session: Session, since: datetime | None, context: EventContext) -> Iterator[Event]:
    """A source starting to fail (after `failing_after` failed fetches in a row), and recovering."""
    sources = _sources(session, context)
    for event in health_events(session, context.failing_after):
        if since is not None and event.at < since:
            continue
        source = sources.get(event.source_id)
        name = f"{source.vendor} — {source.title}" if source else event.source_id
        failing = event.kind == HealthEventKind.FAILING
        link = context.base_url + urls.source_page(event.source_id)
        title = messages.health_title(name, failing, human(event.since), event.failure_kind, event.failed_runs)

        def compose(event=event, name=name, failing=failing, link=link, title=title) -> Message:  # type: ignore[no-untyped-def]
            return Message(title, messages.health_body(
                name=name, source_id=event.source_id, failing=failing, since=human(event.since), at=human(event.at),
                failure_kind=event.failure_kind, detail=event.detail, failed_runs=event.failed_runs, link=link))

        key = f"health:{event.source_id}:{event.kind}:{event.since.strftime('%Y%m%dT%H%M%SZ')}"
        yield Event(key, NotificationKind.HEALTH, event.at, title, compose,
                    vendor=source.vendor if source else "", source_id=event.source_id)


def claim_events(session: Session, since: datetime | None, context: EventContext) -> Iterator[Event]:
    """Every announced change of a claim's status at or after `since` (withdrawn ones left out)."""
    recorded = [r for r in claims_queries.events(session) if r.event.announce and r.revision_id is None
                and (since is None or r.event.since >= since)]
    if not recorded:
        return
    declared = claims_queries.declarations(session, current_only=False)
    titles = {row.id: f"{row.vendor} — {row.title}" for row in session.scalars(select(SourceRow))}
    for item in recorded:
        event = item.event
        row = declared.get(event.claim_id)
        if row is None:
            continue
        claim = Claim.from_json(row.spec, declared_in=row.declared_in)
        statement = claim.statement.get("en") or next(iter(claim.statement.values()), claim.id)
        previous = "not tracked" if event.previous is None else ClaimStatus(event.previous).label
        status = ClaimStatus(event.status).label
        title = messages.claim_title(claim.vendor, statement, previous, status)
        claim_link = context.base_url + urls.claim_page(claim.id)
        change_link = context.base_url + urls.change_page(item.change_id) if item.change_id is not None else None
        document = titles.get(event.source_id or "", event.source_id or "a document")

        def compose(event=event, claim=claim, statement=statement, previous=previous, status=status,  # type: ignore[no-untyped-def]
                    title=title, document=document, claim_link=claim_link, change_link=change_link) -> Message:
            return Message(title, messages.claim_body(
                vendor=claim.vendor, statement=statement, claim_id=claim.id, previous=previous, status=status,
                since=human(event.since), document=document, version=event.version, removed=event.removed,
                added=event.added, claim_link=claim_link, change_link=change_link))

        yield Event(f"claim:{item.id}", NotificationKind.CLAIM, event.since, title, compose, vendor=claim.vendor,
                    source_id=event.source_id or "", claim_id=claim.id)


EVENT_SOURCES: tuple[EventSource, ...] = (change_events, source_health_events, claim_events)


def collect(session: Session, since: datetime | None, context: EventContext,
            sources: Iterable[EventSource] = EVENT_SOURCES) -> list[Event]:
    """Every event at or after `since` (everything when None), oldest first."""
    events = [event for source in sources for event in source(session, since, context)]
    return sorted(events, key=lambda e: (e.at, e.key))
