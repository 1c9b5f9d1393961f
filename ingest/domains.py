"""How a night's crawl is shared out: one job per registrable domain, so that a site is only ever fetched by one
worker at a time, whichever machine that worker runs on.

Pure functions: the registrable domain of a URL (the public suffix list that ships with `tldextract`, never
fetched), and the grouping of declared sources into jobs. A source whose URLs span several domains joins
them into one job, so no two jobs ever touch the same domain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable, Sequence
from urllib.parse import urlsplit

import tldextract

from ingest.declarations import Source

# Queue names: the fetch a job needs, then the region it must be fetched from (`browser`, `http.eu`).
HTTP_QUEUE = "http"
BROWSER_QUEUE = "browser"


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # The snapshot bundled with tldextract: no download of the list, ever.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registrable_domain(url: str) -> str:
    """`help.openai.com` → `openai.com`; an address, `localhost` or a name without a public suffix stays whole."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host:
        return url
    parts = _extractor().extract_str(host)
    if not parts.suffix or not parts.domain:
        return host
    return f"{parts.domain}.{parts.suffix}"


def queue_name(browser: bool, region: str = "") -> str:
    base = BROWSER_QUEUE if browser else HTTP_QUEUE
    return f"{base}.{region}" if region else base


@dataclass(frozen=True)
class DomainJob:
    """The sources of one domain (or of several, when a source joins them) that one region fetches."""

    domain: str  # the job's lock: no two jobs of one domain run at once
    region: str
    browser: bool  # some source needs the headless browser
    source_ids: tuple[str, ...]

    @property
    def queue(self) -> str:
        return queue_name(self.browser, self.region)


def _find(parent: dict[str, str], key: str) -> str:
    while parent[key] != key:
        parent[key] = parent[parent[key]]
        key = parent[key]
    return key


def plan_jobs(sources: Iterable[Source]) -> list[DomainJob]:
    """One job per group of domains and region, in the order the sources are declared."""
    chosen = list(sources)
    parent: dict[str, str] = {}
    domains_of: dict[str, list[str]] = {}
    for source in chosen:
        domains = sorted({registrable_domain(u) for u in source.urls})
        domains_of[source.id] = domains
        for domain in domains:
            parent.setdefault(domain, domain)
        for other in domains[1:]:
            a, b = _find(parent, domains[0]), _find(parent, other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    grouped: dict[tuple[str, str], list[Source]] = {}
    for source in chosen:
        root = _find(parent, domains_of[source.id][0])
        grouped.setdefault((root, source.region), []).append(source)
    return [DomainJob(domain, region, any(s.fetch == "browser" for s in members), tuple(s.id for s in members))
            for (domain, region), members in grouped.items()]


def declarations_digest(sources: Sequence[Source]) -> str:
    """What identifies these declarations whatever file they were read from: a worker whose declarations of a
    job's sources differ from the coordinator's must not fetch them."""
    text = "\n".join(repr(replace(s, declared_in="")) for s in sorted(sources, key=lambda s: s.id))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
