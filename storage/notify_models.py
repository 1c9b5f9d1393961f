"""The notification record: the targets notified, and one delivery record per target and event.

A target is known by the sha256 of its Apprise URL; the URL itself holds
tokens and passwords and is never stored. A delivery record is what makes a
notification go out once: a sent one is never sent again, a failed one is
tried again on the next pass until it is sent or abandoned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime

MAX_EVENT_KEY_CHARS = 300
MAX_LABEL_CHARS = 200
MAX_ERROR_CHARS = 1000


class NotifyTargetRow(Base):
    __tablename__ = "notify_targets"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the Apprise URL
    label: Mapped[str] = mapped_column(String(MAX_LABEL_CHARS))  # its name, or its URL with secrets masked
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    # Events before this time are history the target was added after: never sent to it. None: no crawl had
    # been recorded when the target was first seen, so everything is news to it.
    since: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class Delivery(Base):
    __tablename__ = "notify_deliveries"
    __table_args__ = (UniqueConstraint("target_key", "event_key", name="uq_notify_deliveries_target_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_key: Mapped[str] = mapped_column(ForeignKey("notify_targets.key"))
    event_key: Mapped[str] = mapped_column(String(MAX_EVENT_KEY_CHARS))  # reports.notify.events.Event.key
    event_kind: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.NotificationKind
    event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # storage.vocabulary.DeliveryStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    error: Mapped[Optional[str]] = mapped_column(Text)  # the last attempt's, when it failed
