"""Finding claim evidence in the sentences of one document, within a time limit per claim.

Every matcher with a condition in the document's language is tried on every
sentence that contains one of its necessary literals (``analysis.prefilter``:
one trie scan per sentence picks the candidates, as in the flagger). A hit
is a matcher's first match in a sentence, with the flagger's reading of that
sentence and whether the matcher's ``expect`` holds.

Bounded: each claim has a time budget per document (``time_limit`` seconds,
default ``DEFAULT_TIME_LIMIT``); every search runs under the ``regex``
module's timeout with what is left of it. A claim that runs out gets an
``EvaluationError`` and no hits for that document, so its evidence there
stays as it was, while the other claims carry on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.align import sentence_key
from analysis.claims.expect import Reading, read_sentence
from analysis.claims.limits import DEFAULT_TIME_LIMIT
from analysis.claims.model import Claim, Matcher, SourceInfo, base_language
from analysis.claims.vocabulary import Role
from analysis.prefilter import TriggerIndex
from analysis.rules import Condition

# Smallest timeout handed to one search: the regex module checks it while matching.
_MIN_TIMEOUT = 0.001
# Bound on the per-evaluation sentence cache (entries); cleared when full.
CACHE_LIMIT = 200_000


@dataclass(frozen=True)
class Hit:
    """A matcher's match in one sentence."""

    claim_id: str
    matcher_id: str
    role: Role
    sentence: str
    key: str
    span: tuple[int, int]
    reading: Reading
    failures: tuple[str, ...]  # why ``expect`` does not hold; empty when it does

    @property
    def expect_met(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class EvaluationError:
    """A claim whose matching could not finish on one document; its evidence there is left as it was."""

    claim_id: str
    source_id: str
    version: int | None
    matcher_id: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"claim": self.claim_id, "source": self.source_id, "version": self.version,
                "matcher": self.matcher_id, "message": self.message}


@dataclass(frozen=True)
class _Entry:
    claim_id: str
    matcher: Matcher
    condition: Condition


class _LanguageIndex:
    def __init__(self, entries: Sequence[_Entry]):
        self.entries = tuple(entries)
        self.trigger = TriggerIndex(enumerate(e.condition.literals for e in self.entries))


class ClaimSet:
    """The claims under evaluation, with one prefilter index per language.

    Build it once per set of declarations: the indexes and the sentence cache
    of ``match_sentences`` are keyed on it.
    """

    def __init__(self, claims: Iterable[Claim]):
        self.claims: dict[str, Claim] = {}
        for claim in claims:
            if claim.id in self.claims:
                raise ValueError(f"claim {claim.id!r} given twice")
            self.claims[claim.id] = claim
        self._indexes: dict[str, _LanguageIndex] = {}

    def __iter__(self) -> Any:
        return iter(self.claims.values())

    def __len__(self) -> int:
        return len(self.claims)

    def __getitem__(self, claim_id: str) -> Claim:
        return self.claims[claim_id]

    def __contains__(self, claim_id: object) -> bool:
        return claim_id in self.claims

    def for_source(self, source: SourceInfo) -> tuple[Claim, ...]:
        """Claims that ``source`` counts for: in scope, with matchers in its language."""
        language = source.base_language
        return tuple(c for c in self.claims.values() if c.in_scope(source) and language in c.languages())

    def in_scope(self, source: SourceInfo) -> tuple[Claim, ...]:
        """Claims whose scope covers ``source``, whatever its language."""
        return tuple(c for c in self.claims.values() if c.in_scope(source))

    def index(self, language: str) -> _LanguageIndex:
        language = base_language(language)
        if language not in self._indexes:
            entries = [_Entry(c.id, m, m.conditions[language]) for c in self.claims.values()
                       for m in c.matchers if language in m.conditions]
            self._indexes[language] = _LanguageIndex(entries)
        return self._indexes[language]


@dataclass
class MatchCache:
    """Hits per sentence text, shared by the versions of one evaluation (bounded by ``CACHE_LIMIT``).

    Each entry remembers which claims were tried on the sentence, so that a
    sentence seen first in a source that only some claims cover is matched
    again for the others.
    """

    entries: dict[tuple[str, str], tuple[frozenset[str], tuple[Hit, ...]]] = field(default_factory=dict)

    def get(self, language: str, sentence: str, wanted: frozenset[str]) -> tuple[Hit, ...] | None:
        entry = self.entries.get((language, sentence))
        if entry is None or not wanted <= entry[0]:
            return None
        return entry[1]

    def put(self, language: str, sentence: str, tried: frozenset[str], hits: tuple[Hit, ...]) -> None:
        if len(self.entries) >= CACHE_LIMIT:
            self.entries.clear()
        self.entries[(language, sentence)] = (tried, hits)


@dataclass(frozen=True)
class DocumentMatches:
    """Hits of one document: per claim, the first hit per (matcher, normalised sentence)."""

    hits: dict[str, dict[tuple[str, str], Hit]]
    errors: dict[str, EvaluationError]


def _hit(entry: _Entry, sentence: str, span: tuple[int, int], language: str) -> Hit:
    reading = read_sentence(sentence, span, language)
    failures = entry.matcher.expect.failures(reading) if entry.matcher.expect is not None else ()
    return Hit(claim_id=entry.claim_id, matcher_id=entry.matcher.id, role=entry.matcher.role, sentence=sentence,
               key=sentence_key(sentence), span=span, reading=reading, failures=failures)


def match_sentences(
    claims: ClaimSet,
    source: SourceInfo,
    sentences: Sequence[str],
    *,
    version: int | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    cache: MatchCache | None = None,
) -> DocumentMatches:
    """Hits in ``sentences`` of the claims that ``source`` counts for."""
    language = source.base_language
    index = claims.index(language)
    wanted = frozenset(c.id for c in claims.for_source(source))
    spent: dict[str, float] = {}
    errors: dict[str, EvaluationError] = {}
    hits: dict[str, dict[tuple[str, str], Hit]] = {cid: {} for cid in wanted}
    for sentence in sentences:
        found = cache.get(language, sentence, wanted) if cache is not None else None
        if found is None:
            found, complete = _match_sentence(index, sentence, language, wanted, spent, errors, time_limit, source, version)
            if complete and cache is not None:
                cache.put(language, sentence, wanted, found)
        for hit in found:
            if hit.claim_id in wanted and hit.claim_id not in errors:
                hits[hit.claim_id].setdefault((hit.matcher_id, hit.key), hit)
    for claim_id in errors:
        hits.pop(claim_id, None)
    return DocumentMatches(hits=hits, errors=errors)


def _match_sentence(
    index: _LanguageIndex,
    sentence: str,
    language: str,
    wanted: frozenset[str],
    spent: dict[str, float],
    errors: dict[str, EvaluationError],
    time_limit: float,
    source: SourceInfo,
    version: int | None,
) -> tuple[tuple[Hit, ...], bool]:
    """Hits in one sentence, and whether every candidate could be tried (the result may be cached)."""
    lowered = sentence.lower()
    found: list[Hit] = []
    complete = True
    for i in sorted(index.trigger.candidates(lowered)):
        entry = index.entries[i]
        if entry.claim_id not in wanted:
            continue
        if entry.claim_id in errors:
            complete = False
            continue
        remaining = time_limit - spent.get(entry.claim_id, 0.0)
        start = time.perf_counter()
        try:
            span = entry.condition.find(sentence, lowered, timeout=max(remaining, _MIN_TIMEOUT))
        except TimeoutError:
            span = None
            remaining = 0.0
        spent[entry.claim_id] = spent.get(entry.claim_id, 0.0) + time.perf_counter() - start
        if remaining <= 0.0 or spent[entry.claim_id] > time_limit:
            errors[entry.claim_id] = EvaluationError(
                claim_id=entry.claim_id, source_id=source.id, version=version, matcher_id=entry.matcher.id,
                message=f"matching ran over its {time_limit:g} s limit on this document (matcher "
                        f"{entry.matcher.id!r}, at a sentence of {len(sentence)} characters); "
                        f"the claim's evidence here is left as it was")
            complete = False
            continue
        if span is not None:
            found.append(_hit(entry, sentence, span, language))
    return tuple(found), complete


def hits_in_text(claim: Claim, sentences: Sequence[str], language: str) -> list[Hit]:
    """Every hit of ``claim``'s matchers in ``sentences``: for tests, suggestions and pages.

    Each search is bounded by ``DEFAULT_TIME_LIMIT``; one that runs over raises ``TimeoutError``.
    """
    language = base_language(language)
    out = []
    for matcher in claim.matchers:
        condition = matcher.conditions.get(language)
        if condition is None:
            continue
        entry = _Entry(claim.id, matcher, condition)
        for sentence in sentences:
            span = condition.find(sentence, sentence.lower(), timeout=DEFAULT_TIME_LIMIT)
            if span is not None:
                out.append(_hit(entry, sentence, span, language))
    return out
