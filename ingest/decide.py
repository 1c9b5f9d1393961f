"""What one fetch (or imported entry) does to a source's record, decided from what the record already holds.

Pure apart from extraction and analysis, which are pure too: `ingest.record`
reads the `SourceState`, calls `decide`, and applies the `Decision` in one
write transaction. The rules, in order:

1. A failed fetch, a refused page, or a text that shrank below
   `too_short_fraction` of the current version is refused. A too-short text
   is accepted all the same when it says the page moved, when it is
   plausible against the version before the current one (the current version
   was the broken capture, and the episode ends here), or when the same text
   was refused `confirm_after` times in a row and is not a shell of the
   current version.
2. A capture held for confirmation (`pending`) is confirmed by a later text
   that is the same, or that follows on from it but not from the version
   before it; any other text drops it.
3. A text that replaces almost all of the current version (`breadth`) is held
   as `pending` rather than recorded: it is announced only once confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from ingest.breadth import breadth, plausible_after
from ingest.changes import change_facts
from ingest.declarations import Source
from ingest.guard import check_text
from ingest.judge import Accepted, GuardPolicy, PreparedPage, judge_pages
from ingest.results import FetchFailure
from storage.record import ChangeFacts, RawPage, text_sha256


@dataclass(frozen=True)
class Known:
    """A text already in the record: a version (id, number) or a held capture (its outcome's id and time)."""

    id: int
    sha256: str
    text: str
    number: int = 0
    at: datetime | None = None


@dataclass(frozen=True)
class SourceState:
    """What the decision needs to know of one source's record, read in one consistent snapshot."""

    current: Known | None = None
    earlier: tuple[Known, ...] = ()  # the versions before the current one, newest first (text of the first only)
    pending: Known | None = None
    # The text the latest too_short refusals refused, and how many of them in a row; not read (None and 0) for
    # a decision that compares only digests (`ingest.record.load_state(analyse=False)`), which never uses them.
    refused_sha256: str | None = None
    refused_count: int = 0
    earlier_ended: tuple[bool | None, ...] = ()  # per page position: the latest accepted page ended its document
    stamp: tuple[int | None, ...] = ()  # what must not have moved when the decision is applied
    accepted: Accepted | None = None  # the content keys of the latest accepted fetch, whose text is `current`


class NeedsAnalysis(Exception):
    """`decide(..., analyse=False)` met a text that is neither the current version's nor a first one: the change
    must be analysed, which is done outside the write transaction."""


@dataclass(frozen=True)
class Refuse:
    failure: FetchFailure
    text: str | None = None  # the refused text, kept for `review`


@dataclass(frozen=True)
class Hold:
    text: str
    detail: str


@dataclass(frozen=True)
class Accept:
    text: str
    change: ChangeFacts | None = None  # from the version it follows; None for a first or an unchanged text


@dataclass(frozen=True)
class Confirm:
    pending: Known
    change: ChangeFacts
    note: str


@dataclass(frozen=True)
class Decision:
    verdict: Refuse | Hold | Accept
    drop: tuple[Known, str] | None = None  # a held capture this fetch did not confirm, and why
    confirm: Confirm | None = None  # a held capture this fetch confirmed: it becomes a version first
    pages: tuple[RawPage, ...] = ()  # the fetch's pages with the content keys worked out for them, when judged


def _when(at: datetime | None) -> str:
    return at.isoformat().replace("+00:00", "Z") if at is not None else "?"


def _facts(old: Known, new_text: str, language: str, earlier: Sequence[Known]) -> ChangeFacts:
    sha = text_sha256(new_text)
    reverted = next((k for k in earlier if k.sha256 == sha), None)
    return change_facts(old.text, new_text, language, reverts_to_version_id=reverted.id if reverted else None)


def _against(current: Known, earlier: Sequence[Known], text: str, state: SourceState, policy: GuardPolicy,
             language: str, url: str | None, imported: bool = False) -> Refuse | Hold | Accept:
    """The verdict on `text` as the successor of `current`; `imported`: from an imported file, not a fetch."""
    if text_sha256(text) == current.sha256:
        return Accept(text)
    short = check_text(text, current.text, policy.min_fraction, url)
    if short is not None:
        if earlier and plausible_after(earlier[0].text, text, policy.min_fraction):
            return Accept(text, _facts(current, text, language, earlier))
        repeated = state.refused_sha256 == text_sha256(text) and state.refused_count + 1 >= policy.confirm_after
        if repeated and not breadth(current.text, text).shell:
            return Accept(text, _facts(current, text, language, earlier))
        return Refuse(short, text)
    width = breadth(current.text, text)
    reverts = any(e.sha256 == text_sha256(text) for e in earlier)
    if width.over_wide and not reverts:
        later = "a later import or fetch" if imported else "a later fetch"
        return Hold(text, f"held for confirmation: the text replaces almost all of v{current.number} "
                          f"({width.describe()}); it is announced once {later} confirms it")
    return Accept(text, _facts(current, text, language, earlier))


def decide(source: Source, pages: Sequence[RawPage], failure: FetchFailure | None, state: SourceState,
           policy: GuardPolicy, at: datetime, prepared: Sequence[PreparedPage | None] = (),
           imported: bool = False, analyse: bool = True) -> Decision:
    """`prepared`: what the crawler already extracted of each page; `imported`: the pages are an imported file's
    (the notes say so), not a fetch's. Without `analyse`, raises `NeedsAnalysis` rather than compare a text with
    the record beyond its digest."""
    if failure is not None:
        return Decision(Refuse(failure))
    judgement = judge_pages(source, pages, prepared=prepared, accepted=state.accepted,
                            earlier_ended=state.earlier_ended)
    verdict, judged = judgement.verdict, judgement.pages
    if isinstance(verdict, FetchFailure):
        return Decision(Refuse(verdict), pages=judged)
    text, url = verdict, pages[-1].final_url if pages else None
    current, pending = state.current, state.pending
    if current is None:
        return Decision(Accept(text), pages=judged)
    if not analyse and (pending is not None or text_sha256(text) != current.sha256):
        raise NeedsAnalysis(source.id)
    earlier = state.earlier
    drop = None
    # What the notes call the pages: an imported file's date is when someone saved it, no fetch of ours.
    this = f"the imported file dated {_when(at)}" if imported else f"the fetch of {_when(at)}"
    if pending is not None:
        same = text_sha256(text) == pending.sha256
        if same or (plausible_after(pending.text, text, policy.min_fraction)
                    and not plausible_after(current.text, text, policy.min_fraction)):
            confirm = Confirm(pending, _facts(current, pending.text, source.language, earlier),
                              f"held for confirmation on {_when(pending.at)}, confirmed by {this}")
            confirmed = Known(pending.id, pending.sha256, pending.text, current.number + 1, pending.at)
            return Decision(_against(confirmed, (current, *earlier), text, state, policy, source.language, url,
                                     imported), confirm=confirm, pages=judged)
        drop = (pending, f"{this} did not confirm it")
    return Decision(_against(current, earlier, text, state, policy, source.language, url, imported), drop=drop,
                    pages=judged)
