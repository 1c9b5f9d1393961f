"""Pictures of the record: a timeline strip per source and a month grid of changes.

Pure functions from plain data to geometry. The templates draw what they
return as inline SVG at build time (no script, no style attribute: classes
in site.css), so tests feed these functions data directly.

A strip has two lanes: versions and changes above a baseline (a change's bar
is taller the more severe it is, a revert is drawn hollow), failed checks as
triangles below it. When a source has more events than the strip may draw,
events are bucketed by the finest calendar unit that fits (day, week, month,
quarter, year; failing that, equal spans of the strip): one mark per lane and
bucket, showing the most severe event in it and linking to it, its title
counting the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Iterable, NamedTuple, Sequence

from analysis.vocabulary import Severity


class EventKind(StrEnum):
    VERSION = "version"  # a version no change led to: a source's first
    CHANGE = "change"
    REVERT = "revert"  # a change back to an earlier version's text
    FAILURE = "failure"  # a check that failed, or an imported file


class Unit(StrEnum):
    """How events are grouped into marks, finest first."""

    EXACT = "event"  # one mark per event
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    SPAN = "span"  # equal spans of the strip: the last resort, which always fits


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: EventKind
    label: str  # what the event's title says about it alone
    href: str
    severity: str = Severity.NONE
    announced: bool = False
    failure_kind: str = ""
    imported: bool = False  # a failure of an imported file, which is no check

    @property
    def lane(self) -> str:
        return "failure" if self.kind == EventKind.FAILURE else "record"


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    width: float
    height: float
    kind: EventKind
    severity: str
    quiet: bool  # nothing in it was announced
    title: str
    href: str
    points: str = ""  # a failure's triangle (an SVG polygon); empty for a bar

    @property
    def css(self) -> str:
        classes = [f"tl-{self.kind}"]
        if self.kind in (EventKind.CHANGE, EventKind.REVERT):
            classes.append(f"tl-sev-{self.severity}")
        if self.quiet and self.kind != EventKind.FAILURE:
            classes.append("tl-quiet")
        return " ".join(classes)


@dataclass(frozen=True)
class StripSize:
    """A strip's box in SVG user units, and how many marks it may draw (at least 2) how wide at least."""

    width: int
    height: int
    limit: int
    min_width: float = 2.0


@dataclass(frozen=True)
class Strip:
    width: int
    height: int
    baseline: float
    marks: tuple[Mark, ...]
    unit: Unit
    start: datetime | None
    end: datetime | None
    summary: str  # the whole strip in words (its accessible name)


# The share of the upper lane a change's bar fills, by severity: taller is more severe, in any colour.
BAR_SHARE = {Severity.HIGH: 1.0, Severity.MEDIUM: 0.72, Severity.LOW: 0.48, Severity.NONE: 0.28}
VERSION_SHARE = 0.28
_SEVERITIES = frozenset(s.value for s in Severity)


def _utc(at: datetime) -> datetime:
    return at.astimezone(timezone.utc) if at.tzinfo else at.replace(tzinfo=timezone.utc)


_RANK = {s.value: s.rank for s in Severity}


def _rank(severity: str) -> int:
    return _RANK.get(severity, _RANK[Severity.NONE])


def _bounds(at: datetime, unit: Unit, start: datetime | None, end: datetime | None,
            spans: int) -> tuple[datetime, datetime]:
    at = _utc(at)
    if unit == Unit.EXACT:
        return at, at
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == Unit.DAY:
        return day, day + timedelta(days=1)
    if unit == Unit.WEEK:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=7)
    if unit == Unit.MONTH:
        first = day.replace(day=1)
        return first, first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(
            month=first.month + 1)
    if unit == Unit.QUARTER:
        quarter = (day.month - 1) // 3
        first = day.replace(month=quarter * 3 + 1, day=1)
        return first, first.replace(year=first.year + 1, month=1) if quarter == 3 else first.replace(
            month=quarter * 3 + 4)
    if unit == Unit.YEAR:
        first = day.replace(month=1, day=1)
        return first, first.replace(year=first.year + 1)
    lo, hi = _utc(start or at), _utc(end or at)
    total = (hi - lo).total_seconds()
    spans = max(1, spans)
    index = 0 if total <= 0 else min(spans - 1, max(0, int((at - lo).total_seconds() / total * spans)))
    return lo + timedelta(seconds=total * index / spans), lo + timedelta(seconds=total * (index + 1) / spans)


def bucket(at: datetime, unit: Unit, start: datetime | None = None, end: datetime | None = None,
           spans: int = 1) -> tuple[datetime, datetime, str]:
    """The bucket `at` falls in: its first instant, the first instant after it, and its name.

    `start`, `end` and `spans` matter only for `Unit.SPAN`.
    """
    first, after = _bounds(at, unit, start, end, spans)
    if unit == Unit.EXACT:
        name = first.strftime("%Y-%m-%d %H:%M UTC")
    elif unit == Unit.DAY:
        name = first.strftime("%Y-%m-%d")
    elif unit == Unit.WEEK:
        name = "week of " + first.strftime("%Y-%m-%d")
    elif unit == Unit.MONTH:
        name = first.strftime("%Y-%m")
    elif unit == Unit.QUARTER:
        name = f"{first.year} Q{(first.month - 1) // 3 + 1}"
    elif unit == Unit.YEAR:
        name = str(first.year)
    else:
        name = f"{first:%Y-%m-%d} – {after:%Y-%m-%d}"
    return first, after, name


def _groups(events: Sequence[Event], unit: Unit, start: datetime, end: datetime, spans: int
            ) -> dict[tuple[str, datetime], list[Event]]:
    groups: dict[tuple[str, datetime], list[Event]] = {}
    for event in events:
        first = _bounds(event.at, unit, start, end, spans)[0]
        groups.setdefault((event.lane, first), []).append(event)
    return groups


def _grouped(events: Sequence[Event], limit: int, lo: datetime, hi: datetime
             ) -> tuple[Unit, dict[tuple[str, datetime], list[Event]]]:
    if len(events) <= limit:
        return Unit.EXACT, _groups(events, Unit.EXACT, lo, hi, 1)
    for unit in (Unit.DAY, Unit.WEEK, Unit.MONTH, Unit.QUARTER, Unit.YEAR):
        groups = _groups(events, unit, lo, hi, 1)
        if len(groups) <= limit:
            return unit, groups
    return Unit.SPAN, _groups(events, Unit.SPAN, lo, hi, limit // 2)


def choose_unit(events: Sequence[Event], limit: int, start: datetime | None = None,
                end: datetime | None = None) -> Unit:
    """The finest unit whose marks number at most `limit` (two lanes: events and failures)."""
    if len(events) <= limit:
        return Unit.EXACT
    return _grouped(events, limit, start or min(e.at for e in events), end or max(e.at for e in events))[0]


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _failures(failures: Sequence[Event]) -> str:
    """"2 failed checks", "1 failed imported file", or both: an imported file is no check."""
    imported = sum(1 for e in failures if e.imported)
    return _failed_words(len(failures) - imported, imported)


def _failed_words(checks: int, imported: int) -> str:
    parts = [_plural(checks, "failed check")] if checks or not imported else []
    if imported:
        parts.append(_plural(imported, "failed imported file"))
    return " and ".join(parts)


def _group_title(name: str, group: Sequence[Event], chosen: Event) -> str:
    if len(group) == 1:
        return chosen.label
    counts = {kind: sum(1 for e in group if e.kind == kind) for kind in EventKind}
    parts = []
    if counts[EventKind.CHANGE]:
        worst = min((e.severity for e in group if e.kind == EventKind.CHANGE), key=_rank)
        parts.append(f"{_plural(counts[EventKind.CHANGE], 'change')} (highest severity {worst})")
    if counts[EventKind.REVERT]:
        parts.append(_plural(counts[EventKind.REVERT], "revert"))
    if counts[EventKind.VERSION]:
        parts.append(_plural(counts[EventKind.VERSION], "first version"))
    if counts[EventKind.FAILURE]:
        kinds = sorted({e.failure_kind for e in group if e.failure_kind})
        parts.append(_failures([e for e in group if e.kind == EventKind.FAILURE])
                     + (f" ({', '.join(kinds)})" if kinds else ""))
    return f"{name}: {', '.join(parts)}; the link opens {chosen.label}"


def _chosen(group: Sequence[Event]) -> Event:
    """The event a group's mark shows and links to: its most severe change, else its latest revert or event."""
    order = {EventKind.CHANGE: 0, EventKind.REVERT: 1, EventKind.VERSION: 2, EventKind.FAILURE: 3}
    return min(group, key=lambda e: (order[e.kind], _rank(e.severity), -_utc(e.at).timestamp()))


def summary(events: Iterable[Event], unit: Unit) -> str:
    events = list(events)
    changes = [e for e in events if e.kind == EventKind.CHANGE]
    by_severity = [f"{sum(1 for e in changes if e.severity == s)} {s.value}" for s in Severity
                   if s != Severity.NONE and any(e.severity == s for e in changes)]
    parts = [_plural(sum(1 for e in events if e.kind != EventKind.FAILURE), "version"),
             _plural(len(changes), "change") + (f" ({', '.join(by_severity)})" if by_severity else ""),
             _plural(sum(1 for e in events if e.kind == EventKind.REVERT), "revert"),
             _failures([e for e in events if e.kind == EventKind.FAILURE])]
    per = "one mark per event" if unit == Unit.EXACT else (
        "one mark per equal span of time" if unit == Unit.SPAN else f"one mark per {unit.value}")
    return f"Timeline: {', '.join(parts)}; {per}"


def strip(events: Sequence[Event], size: StripSize, start: datetime | None = None,
          end: datetime | None = None) -> Strip:
    """The marks of a timeline strip of `size` over [start, end] (by default the events' own first and
    last), at most `size.limit` of them."""
    width, height, min_width = size.width, size.height, size.min_width
    limit = max(2, size.limit)
    baseline = round(height * 0.68, 2)
    if not events:
        return Strip(width, height, baseline, (), Unit.EXACT, start, end, summary((), Unit.EXACT))
    lo = _utc(start or min(e.at for e in events))
    hi = _utc(end or max(e.at for e in events))
    if hi < lo:
        lo, hi = hi, lo
    unit, groups = _grouped(events, limit, lo, hi)
    spans = limit // 2
    pad = 1.0
    usable = width - 2 * pad
    total = (hi - lo).total_seconds()

    def x_of(at: datetime) -> float:
        if total <= 0:
            return pad + usable / 2
        share = min(1.0, max(0.0, (_utc(at) - lo).total_seconds() / total))
        return pad + share * usable

    marks: list[Mark] = []
    for (lane, _), group in groups.items():
        chosen = _chosen(group)
        first, after, name = bucket(chosen.at, unit, lo, hi, spans)
        if unit == Unit.EXACT:
            w = min_width
            x = x_of(chosen.at) - w / 2
        else:
            left, right = x_of(max(first, lo)), x_of(min(after, hi))
            w = max(min_width, right - left - 0.5)
            x = left
        x = round(min(max(0.0, x), width - w), 2)
        w = round(w, 2)
        title = _group_title(name, group, chosen)
        if lane == "failure":
            top, bottom = baseline + 2, height - 0.5
            points = f"{x},{round(top, 2)} {round(x + w, 2)},{round(top, 2)} {round(x + w / 2, 2)},{round(bottom, 2)}"
            marks.append(Mark(x, round(top, 2), w, round(bottom - top, 2), EventKind.FAILURE, Severity.NONE, False,
                              title, chosen.href, points))
            continue
        kinds = {e.kind for e in group}
        kind = (EventKind.CHANGE if EventKind.CHANGE in kinds else
                EventKind.REVERT if EventKind.REVERT in kinds else EventKind.VERSION)
        severity = chosen.severity if kind != EventKind.VERSION and chosen.severity in _SEVERITIES else Severity.NONE
        share = VERSION_SHARE if kind == EventKind.VERSION else BAR_SHARE[Severity(severity)]
        bar = round((baseline - 1) * share, 2)
        quiet = not any(e.announced for e in group) and kind != EventKind.VERSION
        marks.append(Mark(x, round(baseline - bar, 2), w, bar, kind, str(severity), quiet, title, chosen.href))
    # Failures first, then the least severe: the most severe mark is drawn last, on top of any it overlaps.
    marks.sort(key=lambda m: (m.kind != EventKind.FAILURE, -_rank(m.severity), m.x))
    return Strip(width, height, baseline, tuple(marks), unit, lo, hi, summary(events, unit))


@dataclass(frozen=True)
class GridItem:
    """A change listed under its month, below the grid: what it was, and its page."""

    label: str
    href: str


class GridChange(NamedTuple):
    """A change as a month grid counts it; `label` and `href` list it under its month when given."""

    at: datetime
    severity: str
    announced: bool
    label: str = ""
    href: str = ""


@dataclass(frozen=True)
class GridCell:
    month: str  # YYYY-MM
    changes: int
    announced: int
    failures: int
    severity: str  # the highest severity of the month's changes; "" when none changed
    title: str  # the row's label, the month and `summary`
    summary: str = ""  # the month in words: its changes, how many announced, the highest severity, failures
    items: tuple[GridItem, ...] = ()  # its changes, oldest first, when the grid lists them

    @property
    def level(self) -> str:
        return self.severity or "empty"

    @property
    def active(self) -> bool:
        """Whether anything happened that month: such a cell links to its month in words."""
        return bool(self.changes or self.failures)

    @property
    def letter(self) -> str:
        """The severity as a letter, so the cell reads without its shade."""
        return {"high": "H", "medium": "M", "low": "L", "none": "·"}.get(self.severity, "")


@dataclass(frozen=True)
class GridRow:
    label: str
    href: str
    cells: tuple[GridCell, ...]
    changes: int  # in the whole grid


def months_ending(last: datetime, count: int = 12) -> tuple[str, ...]:
    """`count` months up to and including the month of `last`, oldest first, as YYYY-MM."""
    last = _utc(last)
    year, month = last.year, last.month
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return tuple(reversed(found))


def grid_row(label: str, href: str, changes: Iterable[tuple[datetime, str, bool] | GridChange],
             failures: Iterable[tuple[datetime, bool]], months: Sequence[str]) -> GridRow:
    """One row of the month grid: `changes` as (detected, severity, announced[, label, href]), `failures` as
    (time, whether an imported file rather than a check); events outside `months` are left out."""
    wanted = set(months)
    per: dict[str, list[GridChange]] = {m: [] for m in months}
    failed: dict[str, int] = {m: 0 for m in months}
    failed_imports: dict[str, int] = {m: 0 for m in months}
    for change in (GridChange(*c) for c in changes):
        key = f"{_utc(change.at):%Y-%m}"
        if key in wanted:
            per[key].append(change)
    for at, imported in failures:
        key = f"{_utc(at):%Y-%m}"
        if key in wanted:
            failed[key] += 1
            failed_imports[key] += imported
    cells = []
    for month in months:
        items = sorted(per[month], key=lambda c: _utc(c.at))
        worst = min((c.severity for c in items), key=_rank) if items else ""
        announced = sum(1 for c in items if c.announced)
        words = [_plural(len(items), "change")]
        if items:
            words.append(f"{announced} announced, highest severity {worst}")
        if failed[month]:
            words.append(_failed_words(failed[month] - failed_imports[month], failed_imports[month]))
        summary = "; ".join(words)
        cells.append(GridCell(month, len(items), announced, failed[month], worst, f"{label}, {month}: {summary}",
                              summary, tuple(GridItem(c.label, c.href) for c in items if c.href)))
    return GridRow(label, href, tuple(cells), sum(c.changes for c in cells))
