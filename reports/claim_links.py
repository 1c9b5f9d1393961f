"""Which claims a source's versions and changes bear on, for the links on version and change pages.

A source carries its marks (``reports.data.SourceInfo.claims``), so that a
source whose marks moved is rebuilt like one whose versions moved, and the
others are left alone. Marks hold no status: a claim changing status must
not rewrite every version page that ever quoted it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reports import urls


@dataclass(frozen=True)
class ClaimMark:
    claim_id: str
    statement: str
    kind: str  # "evidence" (a sentence of the source bears on the claim) or "event" (a change moved its status)
    role: str  # supports | contradicts | successors for evidence; the new status for an event
    first: int  # evidence: first version holding the sentence; event: the version that caused it
    last: int | None = None  # evidence: last version holding it, None while current
    ended_at_version: int | None = None  # evidence: the version without it
    end_reason: str | None = None
    previous: str | None = None  # event: the status before


@dataclass(frozen=True)
class ClaimLink:
    href: str
    claim_id: str
    statement: str
    what: str


_ROLE = {"supports": "a supporting sentence", "contradicts": "a contradicting sentence",
         "successors": "wording that replaced it"}


def _label(status: str | None) -> str:
    if status is None:
        return "not tracked"
    return "tracking changed" if status == "tracking_changed" else status.replace("_", " ")


def version_links(marks: Sequence[ClaimMark], page: str, number: int) -> list[ClaimLink]:
    """Claims a sentence of version ``number`` bears on."""
    out = []
    for mark in marks:
        if mark.kind == "evidence" and mark.first <= number and (mark.last is None or number <= mark.last):
            out.append(ClaimLink(urls.relative(page, urls.claim_page(mark.claim_id)), mark.claim_id, mark.statement,
                                 f"{_ROLE.get(mark.role, mark.role)} is here"))
    return _unique(out)


def change_links(marks: Sequence[ClaimMark], page: str, to_number: int) -> list[ClaimLink]:
    """Claims whose evidence began or ended with this change, or whose status it moved."""
    out = []
    for mark in marks:
        href = urls.relative(page, urls.claim_page(mark.claim_id))
        if mark.kind == "event" and mark.first == to_number:
            out.append(ClaimLink(href, mark.claim_id, mark.statement,
                                 f"status {_label(mark.previous)} → {_label(mark.role)}"))
        elif mark.kind == "evidence" and mark.first == to_number:
            out.append(ClaimLink(href, mark.claim_id, mark.statement,
                                 f"{_ROLE.get(mark.role, mark.role)} appeared"))
        elif mark.kind == "evidence" and mark.ended_at_version == to_number:
            reason = (mark.end_reason or "ended").replace("_", " ")
            out.append(ClaimLink(href, mark.claim_id, mark.statement,
                                 f"{_ROLE.get(mark.role, mark.role)} ended ({reason})"))
    return _unique(out)


def _unique(links: Iterable[ClaimLink]) -> list[ClaimLink]:
    seen: dict[tuple[str, str], ClaimLink] = {}
    for link in links:
        seen.setdefault((link.claim_id, link.what), link)
    return sorted(seen.values(), key=lambda link: (link.claim_id, link.what))
