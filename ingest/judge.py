"""Whether fetched pages can become a version, and with which text: the fetch guard, then extraction.

Live crawls, imports and re-extractions all judge pages here, so an imported
file is held to exactly the same rules as a fetched page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

from ingest.declarations import Source
from ingest.extraction import ExtractionError, ExtractionRules, combine, extract_html, extract_markdown, select_content
from ingest.guard import (IMPORTED_TEXT_TYPES, TOO_SHORT_FRACTION, check_complete, check_pages, check_text,
                          content_type_charset)
from ingest.results import FetchFailure
from storage.health import FAILING_AFTER_RUNS
from storage.record import RawPage
from storage.vocabulary import FailureKind


def extract_document(source: Source, pages: Sequence[RawPage]) -> str:
    """The normalised text of all pages of a source, combined in declaration order."""
    parts = []
    for page in pages:
        media, charset = content_type_charset(page.content_type)
        if media in IMPORTED_TEXT_TYPES:
            try:
                text = page.body.decode(charset or "utf-8")
            except (UnicodeDecodeError, LookupError) as exc:
                raise ExtractionError(FailureKind.DECODE_ERROR, f"{page.final_url}: {exc}") from None
            parts.append(extract_markdown(text, source.rules))
        else:
            try:
                parts.append(extract_html(page.body, source.rules, encoding=charset))
            except ExtractionError as exc:
                raise ExtractionError(exc.kind, f"{page.final_url}: {exc.detail}") from None
    return parts[0] if len(parts) == 1 else combine(parts)


@dataclass(frozen=True)
class GuardPolicy:
    """How strict the guard is: see `too_short_fraction` and `failing_after_runs` in the configuration."""

    min_fraction: float = TOO_SHORT_FRACTION
    # A page that really got shorter says so every time: the same refused text this many fetches in a row
    # is accepted as the new version, unless it is a shell of the old one (`breadth.Breadth.shell`).
    confirm_after: int = FAILING_AFTER_RUNS


def judge(source: Source, pages: Sequence[RawPage], current: str | None = None,
          min_fraction: float = TOO_SHORT_FRACTION, earlier_ended: Sequence[bool | None] = ()) -> str | FetchFailure:
    """The text to record, or why the fetch must not become a version.

    `earlier_ended`: for each page position, whether the source's latest
    accepted page there ended its document (see `guard.check_complete`).
    """
    return judge_pages(source, pages, current, min_fraction, earlier_ended=earlier_ended).verdict


@dataclass(frozen=True)
class PreparedPage:
    """A fetched page's extraction, worked out where the page was parsed first (the crawler's fetch ladder).

    ``key`` is the content key of the selected part (None when selecting
    failed); ``text`` is None when that key was the one expected (``known_key``),
    the page then having the text it had before, or when extraction failed
    (``error``). ``screened``: the body was searched for a bot challenge's
    markers already and held none (the fetch ladder's `blocked` sets it):
    the guard does not search the same bytes again.
    """

    body: bytes
    key: str | None = None
    text: str | None = None
    error: ExtractionError | None = None
    screened: bool = False


def prepare_page(body: bytes, rules: ExtractionRules, charset: str | None, known_key: str | None = None) -> PreparedPage:
    try:
        selection = select_content(body, rules, encoding=charset)
    except ExtractionError as exc:
        return PreparedPage(body, error=exc)
    key = selection.key
    if key == known_key:
        return PreparedPage(body, key)
    try:
        return PreparedPage(body, key, selection.text())
    except ExtractionError as exc:
        return PreparedPage(body, key, error=exc)


@dataclass(frozen=True)
class Accepted:
    """The content keys, by position, of the pages of a source's latest accepted fetch, and the text they gave."""

    keys: tuple[str | None, ...]
    text: str


@dataclass(frozen=True)
class Judgement:
    """The text to record or why not (``verdict``), and the pages with the content keys worked out for them."""

    verdict: str | FetchFailure
    pages: tuple[RawPage, ...]
    # True when every page's content was the latest accepted fetch's, so the text was not extracted again.
    reused: bool = False


class _Page:
    """One page on its way to text: its content key, and how to get its text."""

    def __init__(self, page: RawPage, key: str | None, text: Callable[[], str], name_page: bool = True):
        self.page, self.key, self._text, self._name_page = page, key, text, name_page

    def text(self) -> str:
        try:
            return self._text()
        except ExtractionError as exc:
            if not self._name_page:
                raise
            raise ExtractionError(exc.kind, f"{self.page.final_url}: {exc.detail}") from None


def _raise(error: ExtractionError) -> Callable[[], str]:
    def fail() -> str:
        raise error
    return fail


def _html_page(source: Source, page: RawPage, charset: str | None, prepared: PreparedPage | None) -> _Page:
    if prepared is not None:
        if prepared.error is not None and prepared.key is None:
            raise ExtractionError(prepared.error.kind, f"{page.final_url}: {prepared.error.detail}")
        if prepared.error is not None:
            return _Page(page, prepared.key, _raise(prepared.error))
        if prepared.text is not None:
            return _Page(page, prepared.key, lambda: prepared.text)  # type: ignore[return-value]
        # The crawler expected this page's text to be the one before; if that text is not at hand, extract it.
        return _Page(page, prepared.key, lambda: extract_html(page.body, source.rules, encoding=charset))
    try:
        selection = select_content(page.body, source.rules, encoding=charset)
    except ExtractionError as exc:
        raise ExtractionError(exc.kind, f"{page.final_url}: {exc.detail}") from None
    return _Page(page, selection.key, selection.text)


def _text_page(source: Source, page: RawPage, charset: str | None) -> _Page:
    try:
        text = page.body.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError) as exc:
        raise ExtractionError(FailureKind.DECODE_ERROR, f"{page.final_url}: {exc}") from None
    return _Page(page, None, lambda: extract_markdown(text, source.rules), name_page=False)


def _own_preparations(pages: Sequence[RawPage], prepared: Sequence[PreparedPage | None]) -> list[PreparedPage | None]:
    """For each page, what the crawler prepared of it: an entry at its position made from these very bytes."""
    own: list[PreparedPage | None] = []
    for index, page in enumerate(pages):
        known = prepared[index] if index < len(prepared) else None
        own.append(known if known is not None and known.body is page.body else None)
    return own


def _pages(source: Source, pages: Sequence[RawPage], own: Sequence[PreparedPage | None]) -> list[_Page]:
    """Each page selected, in order (`own`: `_own_preparations`); a page that fails fails the document, but an
    earlier page's failure (an empty text) is reported first, as extracting them one after the other would."""
    ready: list[_Page] = []
    for page, known in zip(pages, own):
        media, charset = content_type_charset(page.content_type)
        try:
            if media in IMPORTED_TEXT_TYPES:
                ready.append(_text_page(source, page, charset))
                continue
            ready.append(_html_page(source, page, charset, known))
        except ExtractionError:
            for earlier in ready:
                earlier.text()
            raise
    return ready


def _screened(page: RawPage, own: PreparedPage | None) -> bool:
    """Whether the page's bytes were searched for a challenge's markers already: prepared by the fetch ladder,
    which prepares only a page answered with a success status (another status changes what the guard
    searches)."""
    return own is not None and own.screened and page.status is not None and 200 <= page.status < 300


def judge_pages(source: Source, pages: Sequence[RawPage], current: str | None = None,
                min_fraction: float = TOO_SHORT_FRACTION, prepared: Sequence[PreparedPage | None] = (),
                accepted: Accepted | None = None, earlier_ended: Sequence[bool | None] = ()) -> Judgement:
    """The text to record, or why the fetch must not become a version, with each page's content key.

    ``current``: the text a too-short text is measured against (none: the
    caller measures it). ``prepared``: what the crawler already extracted of
    each page. ``accepted``: the latest accepted fetch's content keys and
    text; when every page has the same key again, its text is that text,
    without extracting it. ``earlier_ended``: for each page position, whether
    the source's latest accepted page there ended its document (see
    ``guard.check_complete``).
    """
    own = _own_preparations(pages, prepared)
    failure = _screen(pages, own, earlier_ended)
    if failure is not None:
        return Judgement(failure, tuple(pages))
    last = pages[-1]
    try:
        ready = _pages(source, pages, own)
        keyed = _keyed(ready)
        if accepted is not None and _same_keys(ready, accepted.keys):
            return Judgement(accepted.text, keyed, reused=True)
        parts = [p.text() for p in ready]
    except ExtractionError as exc:
        return Judgement(FetchFailure(exc.kind, exc.detail, last.status, last.final_url), tuple(pages))
    text = parts[0] if len(parts) == 1 else combine(parts)
    return Judgement(check_text(text, current, min_fraction, last.final_url) or text, keyed)


def as_expected(pages: Sequence[RawPage], prepared: Sequence[PreparedPage | None]) -> bool:
    """Whether the crawler prepared every page from these very bytes and found the content key it expected
    (`prepare_page`'s ``known_key``), leaving the text unconverted: only then may the pages be the latest
    accepted fetch's again without a text to compare (`reuses_accepted`)."""
    return bool(pages) and all(known is not None and known.key is not None and known.text is None
                               and known.error is None for known in _own_preparations(pages, prepared))


def reuses_accepted(source: Source, pages: Sequence[RawPage], prepared: Sequence[PreparedPage | None],
                    keys: Sequence[str | None], earlier_ended: Sequence[bool | None] = ()
                    ) -> tuple[RawPage, ...] | None:
    """The pages with their content keys, when `judge_pages` would take them for the latest accepted fetch
    again (``keys``: its content keys) and reuse its text; None when they must be judged.

    For pages `as_expected`, whose keys the crawler's preparations hold: any
    other page would be parsed here to know its key.
    """
    own = _own_preparations(pages, prepared)
    if _screen(pages, own, earlier_ended) is not None:
        return None
    try:
        ready = _pages(source, pages, own)
    except ExtractionError:
        return None
    return _keyed(ready) if _same_keys(ready, keys) else None


def _screen(pages: Sequence[RawPage], own: Sequence[PreparedPage | None],
            earlier_ended: Sequence[bool | None]) -> FetchFailure | None:
    """What the fetch guard refuses the pages for before any extraction, or None."""
    return check_pages(pages, [_screened(page, known) for page, known in zip(pages, own)]) \
        or check_complete(pages, earlier_ended)


def _keyed(ready: Sequence[_Page]) -> tuple[RawPage, ...]:
    return tuple(replace(p.page, content_key=p.key) if p.key != p.page.content_key else p.page for p in ready)


def _same_keys(ready: Sequence[_Page], keys: Sequence[str | None]) -> bool:
    found = [p.key for p in ready]
    return None not in found and list(keys) == found
