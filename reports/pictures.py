"""The record as the pictures' plain data: a source's events for its timeline strip, the month grids.

The geometry is in reports.timeline; this module only says what each event
is, what its title says and which page its mark links to (relative to the
page that shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from reports import urls
from reports.data import ChangeInfo, SourceInfo
from reports.render import human
from reports.timeline import (Event, EventKind, GridChange, GridRow, Strip, StripSize, grid_row, months_ending,
                              strip)

# The index draws one small strip per source on a time axis shared by every row; a source page one large one.
INDEX_STRIP = StripSize(width=160, height=22, limit=24, min_width=3.0)
SOURCE_STRIP = StripSize(width=960, height=64, limit=240, min_width=6.0)
GRID_MONTHS = 12


def change_label(change: ChangeInfo) -> str:
    words = f"v{change.from_number} → v{change.to_number}, {human(change.detected_at)}: "
    if change.reverts_to is not None:
        words += f"revert to v{change.reverts_to}"
    else:
        words += f"{change.kind}, +{change.words_added} / −{change.words_removed} words, severity {change.severity}"
        if change.flags:
            words += f" ({', '.join(change.flags)})"
    return words + ("" if change.announced else ", not in feeds")


def source_events(source: SourceInfo, page: str) -> list[Event]:
    """Every version, change and failed check of `source`, linked from `page`."""
    by_to = {c.to_number: c for c in source.changes}
    events = []
    for version in source.versions:
        change = by_to.get(version.number)
        if change is None:
            events.append(Event(version.first_seen, EventKind.VERSION,
                                f"v{version.number}, first seen {human(version.first_seen)}",
                                urls.relative(page, urls.version_page(source.id, version.number))))
            continue
        kind = EventKind.REVERT if change.reverts_to is not None else EventKind.CHANGE
        events.append(Event(change.detected_at, kind, change_label(change),
                            urls.relative(page, urls.change_page(change.id)), change.severity, change.announced))
    runs = urls.relative(page, urls.runs_page())
    for failure in source.failures:
        kind = failure.kind or "unknown"
        what = "imported file failed" if failure.imported else "check failed"
        events.append(Event(failure.at, EventKind.FAILURE, f"{human(failure.at)}: {what} ({kind})", runs,
                            failure_kind=kind, imported=failure.imported))
    return events


def source_strip(source: SourceInfo, page: str) -> Strip:
    """The source page's strip, over the source's own first and last event (nothing nightly)."""
    return strip(source_events(source, page), SOURCE_STRIP)


def index_strips(sources: Sequence[SourceInfo], page: str) -> dict[str, Strip]:
    """One small strip per source, all on the same axis: from the record's first event to its last check."""
    events = {s.id: source_events(s, page) for s in sources}
    times = [e.at for found in events.values() for e in found] + [s.last_checked for s in sources if s.last_checked]
    if not times:
        return {sid: strip((), INDEX_STRIP) for sid in events}
    start, end = min(times), max(times)
    return {sid: strip(found, INDEX_STRIP, start, end) for sid, found in events.items()}


def latest(sources: Sequence[SourceInfo]) -> datetime | None:
    """The record's latest check, change or failure: the month grids end in its month."""
    times = [t for s in sources for t in (s.last_checked, s.last_changed) if t is not None]
    times += [c.detected_at for s in sources for c in s.changes] + [f.at for s in sources for f in s.failures]
    return max(times, default=None)


def _changes(source: SourceInfo) -> list[tuple[datetime, str, bool]]:
    return [(c.detected_at, c.severity, c.announced) for c in source.changes]


def _listed_changes(source: SourceInfo, page: str) -> list[GridChange]:
    """The source's changes, each named and linked from `page`: the vendor page lists them under their month."""
    return [GridChange(c.detected_at, c.severity, c.announced, change_label(c),
                       urls.relative(page, urls.change_page(c.id))) for c in source.changes]


@dataclass(frozen=True)
class VendorGrid:
    vendor: str
    path: str  # of the vendor's page
    months: tuple[str, ...]
    rows: tuple[GridRow, ...]


def vendor_rows(sources: Sequence[SourceInfo], page: str, months: Sequence[str]) -> tuple[GridRow, ...]:
    """One row per vendor, every document of it together, linking to the vendor's page."""
    vendors: dict[str, list[SourceInfo]] = {}
    for source in sources:
        vendors.setdefault(source.vendor, []).append(source)
    return tuple(grid_row(vendor, urls.relative(page, urls.vendor_page(vendor)),
                          [c for s in items for c in _changes(s)], [(f.at, f.imported) for s in items for f in s.failures], months)
                 for vendor, items in sorted(vendors.items(), key=lambda kv: kv[0].lower()))


def vendor_grids(sources: Sequence[SourceInfo]) -> list[VendorGrid]:
    """Per vendor, one row per document over the last `GRID_MONTHS` months of the record."""
    last = latest(sources)
    months = months_ending(last, GRID_MONTHS) if last else ()
    vendors: dict[str, list[SourceInfo]] = {}
    for source in sources:
        vendors.setdefault(source.vendor, []).append(source)
    grids = []
    for vendor, items in sorted(vendors.items(), key=lambda kv: kv[0].lower()):
        page = urls.vendor_page(vendor)
        rows = tuple(grid_row(s.title, urls.relative(page, urls.source_page(s.id)), _listed_changes(s, page),
                              [(f.at, f.imported) for f in s.failures], months) for s in items)
        grids.append(VendorGrid(vendor, page, months, rows))
    return grids
