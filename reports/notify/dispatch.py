"""A notification pass: send every target what it wants and has not received, and record each attempt.

Delivery records make a pass safe to repeat: an event sent to a target is
never sent to it again; one that failed is tried again on the next pass, up to
`MAX_ATTEMPTS` passes, then abandoned. A target sees only events from the
point it was first seen on (`storage.notify_record.new_target_since`), so
adding one never replays the whole history. Each target gets at most
`MAX_PER_TARGET` messages per pass, the oldest first; the rest wait for the
next pass. Nothing here raises for a delivery that fails: it is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from reports.notify import deliver
from reports.notify.events import Event, EventContext, collect
from reports.notify.targets import NotifyTarget
from storage.db import reading, transaction
from storage.notify_record import deliveries, record_attempt, register_target, target_since
from storage.vocabulary import DeliveryStatus

MAX_ATTEMPTS = 5
MAX_PER_TARGET = 50


@dataclass(frozen=True)
class Attempt:
    target: str  # the target's label
    event_key: str
    title: str
    error: str | None  # None: delivered (or, in a dry run, would be sent)
    status: str | None  # DeliveryStatus; None in a dry run


@dataclass
class NotifyReport:
    targets: int
    attempts: list[Attempt] = field(default_factory=list)
    deferred: int = 0  # over a target's per-pass limit: sent on a later pass

    def count(self, status: DeliveryStatus) -> int:
        return sum(1 for a in self.attempts if a.status == status)

    def line(self) -> str:
        sent, failed, dropped = (self.count(DeliveryStatus.SENT), self.count(DeliveryStatus.FAILED),
                                 self.count(DeliveryStatus.ABANDONED))
        text = (f"notifications: {sent} sent, {failed} not delivered (tried again next run)"
                + (f", {dropped} abandoned after {MAX_ATTEMPTS} attempts" if dropped else "")
                + (f", {self.deferred} left for the next run" if self.deferred else "")
                + f" ({self.targets} target{'s' if self.targets != 1 else ''})")
        return text


def _due(target: NotifyTarget, events: Sequence[Event], since: datetime | None,
         records: dict[str, str]) -> list[Event]:
    """The events the target wants and has not received, oldest first."""
    due = []
    for event in events:
        if since is not None and event.at < since:
            continue
        if records.get(event.key) in (DeliveryStatus.SENT, DeliveryStatus.ABANDONED):
            continue
        if event.wanted_by(target):
            due.append(event)
    return due


def notify_pass(factory: sessionmaker[Session], targets: Sequence[NotifyTarget], *, base_url: str,
                failing_after: int, dry_run: bool = False, timeout: float = 10.0,
                max_attempts: int = MAX_ATTEMPTS, max_per_target: int = MAX_PER_TARGET,
                send: deliver.Send = deliver.send,
                clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> NotifyReport:
    report = NotifyReport(len(targets))
    if not targets:
        return report
    if not dry_run:
        with transaction(factory) as session:
            for target in targets:
                register_target(session, target.key, target.label, clock())
    with reading(factory) as reader:
        starts = {t.key: target_since(reader, t.key) for t in targets}
        earliest = None if any(s is None for s in starts.values()) else min(starts.values())  # type: ignore[type-var]
        events = collect(reader, earliest, EventContext(base_url, failing_after))
        for target in targets:
            records = {key: row.status for key, row in deliveries(reader, target.key).items()}
            due = _due(target, events, starts[target.key], records)
            report.deferred += max(0, len(due) - max_per_target)
            for event in due[:max_per_target]:
                message = event.compose()
                if dry_run:
                    report.attempts.append(Attempt(target.label, event.key, message.title, None, None))
                    continue
                error = send(target, message.title, message.body, timeout)
                with transaction(factory) as session:
                    row = record_attempt(session, target_key=target.key, event_key=event.key,
                                         event_kind=event.kind, event_at=event.at, title=message.title,
                                         at=clock(), error=error, max_attempts=max_attempts)
                    status = row.status
                report.attempts.append(Attempt(target.label, event.key, message.title, error, status))
    return report
