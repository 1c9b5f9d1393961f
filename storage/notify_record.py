"""Reading and writing the notification record: targets and their delivery records (it only stores)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import FetchOutcome, Run
from storage.notify_models import MAX_ERROR_CHARS, MAX_LABEL_CHARS, Delivery, NotifyTargetRow
from storage.vocabulary import DeliveryStatus, RunKind


def new_target_since(session: Session) -> datetime | None:
    """Where a target added now starts: the newest crawl (a target added for tonight hears of tonight's run);
    with no crawl yet, after everything recorded so far (imported history is not news); None on an empty record."""
    crawl = session.scalar(select(func.max(Run.started_at)).where(Run.kind == RunKind.CRAWL))
    if crawl is not None:
        return crawl
    latest = session.scalar(select(func.max(FetchOutcome.at)))
    return latest + timedelta(microseconds=1) if latest is not None else None


def target_since(session: Session, key: str) -> datetime | None:
    """Where a target starts, whether or not it is recorded yet."""
    row = session.get(NotifyTargetRow, key)
    return row.since if row is not None else new_target_since(session)


def register_target(session: Session, key: str, label: str, at: datetime) -> NotifyTargetRow:
    """The target's row, created on first sight with the newest crawl as the start of what it is told."""
    row = session.get(NotifyTargetRow, key)
    if row is None:
        row = NotifyTargetRow(key=key, label=label[:MAX_LABEL_CHARS], first_seen=at, since=new_target_since(session))
        session.add(row)
    elif row.label != label[:MAX_LABEL_CHARS]:
        row.label = label[:MAX_LABEL_CHARS]
    session.flush()
    return row


def deliveries(session: Session, target_key: str) -> dict[str, Delivery]:
    """A target's delivery records by event key."""
    return {d.event_key: d for d in session.scalars(select(Delivery).where(Delivery.target_key == target_key))}


def record_attempt(session: Session, *, target_key: str, event_key: str, event_kind: str, event_at: datetime,
                   title: str, at: datetime, error: str | None, max_attempts: int) -> Delivery:
    """One attempt to deliver an event to a target: sent when `error` is None, else failed (or abandoned once
    `max_attempts` attempts have failed)."""
    row = session.scalar(select(Delivery).where(Delivery.target_key == target_key, Delivery.event_key == event_key))
    if row is None:
        row = Delivery(target_key=target_key, event_key=event_key, event_kind=event_kind, event_at=event_at,
                       title=title, attempts=0, first_attempt_at=at, status=DeliveryStatus.FAILED)
        session.add(row)
    row.attempts += 1
    row.last_attempt_at = at
    if error is None:
        row.status, row.sent_at, row.error = DeliveryStatus.SENT, at, None
    else:
        row.error = error[:MAX_ERROR_CHARS]
        row.status = DeliveryStatus.ABANDONED if row.attempts >= max_attempts else DeliveryStatus.FAILED
    session.flush()
    return row


@dataclass(frozen=True)
class UndeliveredInfo:
    target: str  # the target's label
    event_kind: str
    event_at: datetime
    title: str
    status: str  # failed (tried again on the next pass) or abandoned
    attempts: int
    last_attempt_at: datetime
    error: str


def undelivered(session: Session, limit: int = 100, statuses: Iterable[str] = (DeliveryStatus.FAILED,
                                                                            DeliveryStatus.ABANDONED)
                ) -> tuple[UndeliveredInfo, ...]:
    """Notifications not delivered, the most recently tried first."""
    rows = session.execute(
        select(NotifyTargetRow.label, Delivery.event_kind, Delivery.event_at, Delivery.title, Delivery.status,
               Delivery.attempts, Delivery.last_attempt_at, Delivery.error)
        .join(NotifyTargetRow, NotifyTargetRow.key == Delivery.target_key)
        .where(Delivery.status.in_(list(statuses)))
        .order_by(Delivery.last_attempt_at.desc(), Delivery.id.desc()).limit(limit))
    return tuple(UndeliveredInfo(label, kind, at, title, status, attempts, last, error or "")
                 for label, kind, at, title, status, attempts, last, error in rows)
