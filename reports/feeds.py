"""Atom and RSS 2.0 feeds of announced changes, written with feedgen.

Entry ids are tag URIs built from the source id and version number, and every
date comes from the record, never from the clock: rebuilding a feed yields the
same bytes, so readers never see an item twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from feedgen.feed import FeedGenerator

from reports.render import visible_bidi

MAX_ENTRIES = 50
# The `updated` of an empty feed drawn from a record that holds nothing at all (no run has recorded anything).
NOTHING_RECORDED = datetime(1970, 1, 1, tzinfo=timezone.utc)

# Characters XML 1.0 forbids even when escaped; web text can carry them, and
# lxml refuses to serialise them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Format = Literal["atom", "rss"]


def xml_safe(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def _plain(text: str) -> str:
    """A title or term: plain text, so its bidi controls are written out as markers (its HTML content is
    rendered by the templates, which do so already)."""
    return xml_safe(visible_bidi(text))


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    updated: datetime
    content_html: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedSpec:
    tag: str
    title: str
    subtitle: str
    html_url: str  # the site page the feed mirrors (absolute)
    self_url: dict[str, str]  # absolute URL of this feed in each format
    entries: tuple[Entry, ...]
    # When the record the feed draws on began: its `updated` while it has no entry, which is how long it has
    # had none (a fixed date would say it changed before there was anything to change).
    since: datetime | None


def render(spec: FeedSpec, fmt: Format) -> bytes:
    fg = FeedGenerator()
    fg.id(spec.tag)
    fg.title(_plain(spec.title))
    fg.subtitle(_plain(spec.subtitle))
    fg.author({"name": "policywatch"})
    fg.generator("policywatch")
    fg.language("en")
    fg.link(href=spec.self_url[fmt], rel="self",
            type="application/atom+xml" if fmt == "atom" else "application/rss+xml")
    # Last: feedgen makes the last link the RSS channel's <link>, which must be the HTML page.
    fg.link(href=spec.html_url, rel="alternate", type="text/html")
    fg.updated(max((e.updated for e in spec.entries), default=spec.since or NOTHING_RECORDED))
    for entry in spec.entries:
        fe = fg.add_entry(order="append")
        fe.id(entry.id)
        fe.title(_plain(entry.title))
        fe.link(href=entry.link, rel="alternate", type="text/html")
        fe.updated(entry.updated)
        fe.published(entry.updated)
        # type="html": the serialiser escapes the markup once, so a reader
        # renders our summary, and text from the page stays text.
        fe.content(xml_safe(entry.content_html), type="html")
        for category in entry.categories:
            fe.category(term=_plain(category))
    return fg.atom_str(pretty=True) if fmt == "atom" else fg.rss_str(pretty=True)
