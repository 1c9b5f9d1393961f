"""Evidence intervals: when a sentence bearing on a claim was said, version by version.

One interval per (claim, matcher, source, normalised sentence): the first
and last version it was found in, when it was first seen and last
confirmed, and, once it ends, the change that ended it and why. Sentences
are compared by ``analysis.align.sentence_key`` (words only), so a sentence
that moved, or whose link targets, quotes or case changed, keeps its
interval. The sentence and span shown are those of the latest version.

``step_source`` is the incremental step: the open intervals of one source
and one event in, the updated intervals out. A whole-history evaluation is
a fold of it over the recorded versions (``analysis.claims.engine``).

Why an interval ends:

- the version was recorded under a changed declaration, or re-derived by a
  ``technical`` change: ``tracking_changed``;
- the source is no longer declared: ``source_undeclared``;
- otherwise the vendor's wording changed: ``reworded``, naming the successor
  sentence, when the sentence alignment (``analysis.align``) pairs it with a
  modified one, when the same words are still there but no longer match, or
  when the claim's ``successors`` matchers found new wording in the same
  step; ``removed`` when it is simply gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from analysis.align import align_sentences, sentence_key
from analysis.claims.events import SourceConfirmed, SourceEvent, SourceFailed, SourceUndeclared, SourceVersion
from analysis.claims.expect import Reading
from analysis.claims.limits import DEFAULT_TIME_LIMIT
from analysis.claims.matching import ClaimSet, EvaluationError, Hit, MatchCache, match_sentences
from analysis.claims.model import SourceInfo
from analysis.claims.vocabulary import Cause, EndReason, Role
from analysis.sentences import split_sentences
from analysis.vocabulary import ChangeKind


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


class VersionOrderError(ValueError):
    """A source's versions are not in the order of their times: a record that cannot be read as a history (one a
    fetch dated before the record's latest time made, which `policywatch check` names). `engine.apply` leaves such
    a version out, as an error of each claim reading the source."""

    def __init__(self, message: str):
        super().__init__(f"{message}: the record's versions of this source are not in time order "
                         "(`policywatch check` names them)")


@dataclass(frozen=True)
class VersionRef:
    number: int
    at: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionRef:
        return cls(number=int(data["number"]), at=_time(data["at"]))

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "at": _iso(self.at)}


@dataclass(frozen=True)
class IntervalEnd:
    reason: EndReason
    at: datetime  # detected_at of the change (or time of the event) that ended the interval
    version: int | None  # the first version without the sentence; None when the source was undeclared
    successor: str | None = None  # the sentence that replaced it (reworded)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IntervalEnd:
        return cls(reason=EndReason(data["reason"]), at=_time(data["at"]), version=data["version"],
                   successor=data.get("successor"))

    def to_json(self) -> dict[str, Any]:
        return {"reason": str(self.reason), "at": _iso(self.at), "version": self.version,
                "successor": self.successor}


@dataclass(frozen=True)
class EvidenceInterval:
    claim_id: str
    matcher_id: str
    role: Role
    source_id: str
    language: str
    key: str
    sentence: str
    span: tuple[int, int]
    reading: Reading
    failures: tuple[str, ...]
    first: VersionRef
    last: VersionRef
    last_confirmed: datetime
    end: IntervalEnd | None = None

    @property
    def is_open(self) -> bool:
        return self.end is None

    @property
    def expect_met(self) -> bool:
        return not self.failures

    @property
    def match(self) -> str:
        return self.sentence[self.span[0]:self.span[1]]

    @property
    def identity(self) -> tuple[str, str, str, str, int]:
        """Stable id of the interval: (claim, matcher, source, normalised sentence, first version)."""
        return (self.claim_id, self.matcher_id, self.source_id, self.key, self.first.number)

    def held_at(self, at: datetime) -> bool:
        """Whether the sentence was in the source's version in force at ``at``."""
        return self.first.at <= at and (self.end is None or at < self.end.at)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvidenceInterval:
        """The interval from its ``to_json`` form (extra keys such as ``match`` are ignored)."""
        return cls(
            claim_id=data["claim"], matcher_id=data["matcher"], role=Role(data["role"]), source_id=data["source"],
            language=data["language"], key=sentence_key(data["sentence"]), sentence=data["sentence"],
            span=(int(data["start"]), int(data["end"])), reading=Reading.from_json(data["reading"]),
            failures=tuple(data["expect_failures"]), first=VersionRef.from_json(data["first_version"]),
            last=VersionRef.from_json(data["last_version"]), last_confirmed=_time(data["last_confirmed"]),
            end=None if data.get("ended") is None else IntervalEnd.from_json(data["ended"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": self.claim_id,
            "matcher": self.matcher_id,
            "role": str(self.role),
            "source": self.source_id,
            "language": self.language,
            "sentence": self.sentence,
            "start": self.span[0],
            "end": self.span[1],
            "match": self.match,
            "reading": self.reading.to_json(),
            "expect_met": self.expect_met,
            "expect_failures": list(self.failures),
            "first_version": self.first.to_json(),
            "last_version": self.last.to_json(),
            "first_seen": _iso(self.first.at),
            "last_confirmed": _iso(self.last_confirmed),
            "ended": None if self.end is None else self.end.to_json(),
        }


@dataclass(frozen=True)
class SourceState:
    """What the engine keeps of one source between events.

    ``sentences`` are those of ``version`` and are needed only to tell a
    reworded sentence from a removed one; ``resume`` builds the state from a
    stored version text.
    """

    source: SourceInfo
    version: VersionRef | None = None
    sentences: tuple[str, ...] | None = None
    intervals: tuple[EvidenceInterval, ...] = ()  # open ones
    failing_since: datetime | None = None
    declared: bool = True

    @classmethod
    def resume(cls, source: SourceInfo, version: VersionRef | None, text: str | None,
               intervals: Sequence[EvidenceInterval] = (), failing_since: datetime | None = None,
               declared: bool = True) -> SourceState:
        sentences = None if text is None else tuple(split_sentences(text, source.base_language))
        return cls(source=source, version=version, sentences=sentences, intervals=tuple(intervals),
                   failing_since=failing_since, declared=declared)


@dataclass(frozen=True)
class SourceStep:
    """What one event did to a source's evidence."""

    state: SourceState
    at: datetime
    cause: Cause | None  # None when no evidence could change (confirmed, failed)
    version: int | None = None
    change_kind: ChangeKind | None = None
    opened: tuple[EvidenceInterval, ...] = ()
    closed: tuple[EvidenceInterval, ...] = ()  # with ``end`` set
    updated: tuple[EvidenceInterval, ...] = ()  # still open, but expect now holds or fails where it did not
    evaluated: frozenset[str] = frozenset()  # claims matched on this version
    errors: tuple[EvaluationError, ...] = ()

    def touched(self) -> frozenset[str]:
        """Claims whose supporting or contradicting evidence changed in this step."""
        return frozenset(iv.claim_id for group in (self.opened, self.closed, self.updated) for iv in group
                         if iv.role is not Role.SUCCESSORS)


def _open(hit: Hit, source: SourceInfo, ref: VersionRef) -> EvidenceInterval:
    return EvidenceInterval(claim_id=hit.claim_id, matcher_id=hit.matcher_id, role=hit.role, source_id=source.id,
                            language=source.base_language, key=hit.key, sentence=hit.sentence, span=hit.span,
                            reading=hit.reading, failures=hit.failures, first=ref, last=ref,
                            last_confirmed=ref.at)


def _cause(state: SourceState, event: SourceVersion) -> Cause:
    if state.version is None and state.declared:
        return Cause.TRACKING_START
    if (not state.declared or event.declaration_changed or event.change_kind == ChangeKind.TECHNICAL
            or event.source != state.source):
        return Cause.TRACKING_CHANGE
    return Cause.VENDOR_CHANGE


class _Successors:
    """Where each sentence of the previous version went, computed only when an interval ends."""

    def __init__(self, old: Sequence[str] | None, new: Sequence[str], source_id: str):
        self._old, self._new, self._source_id = old, new, source_id
        self._new_by_key: dict[str, str] | None = None
        self._modified: dict[str, str] | None = None

    def end(self, key: str) -> tuple[EndReason, str | None]:
        if self._new_by_key is None:
            if self._old is None:
                raise ValueError(f"{self._source_id}: the previous version's text is needed to tell reworded "
                                 f"from removed evidence (SourceState.resume with its text)")
            self._new_by_key = {}
            for sentence in self._new:
                self._new_by_key.setdefault(sentence_key(sentence), sentence)
            self._modified = {}
            for change in align_sentences(self._old, self._new):
                if change.old is not None and change.new is not None:
                    self._modified.setdefault(sentence_key(change.old), change.new)
        assert self._modified is not None
        if key in self._new_by_key:
            return EndReason.REWORDED, self._new_by_key[key]
        if key in self._modified:
            return EndReason.REWORDED, self._modified[key]
        return EndReason.REMOVED, None


def _words(sentence: str) -> frozenset[str]:
    return frozenset(sentence_key(sentence).split())


def _declared_successor(iv: EvidenceInterval, opened: Sequence[EvidenceInterval]) -> EvidenceInterval:
    """A removed sentence whose claim gained successor wording in the same step was replaced by it.

    The claim's ``successors`` matchers say which wording replaces the claim's;
    that is firmer ground than word overlap, which a rewrite may not keep.
    Among several, the one sharing most words with the removed sentence.
    """
    if iv.end is None or iv.end.reason is not EndReason.REMOVED or iv.role is Role.SUCCESSORS:
        return iv
    candidates = [o for o in opened if o.claim_id == iv.claim_id and o.role is Role.SUCCESSORS]
    if not candidates:
        return iv
    words = _words(iv.sentence)
    best = max(candidates, key=lambda o: len(words & _words(o.sentence)))
    return replace(iv, end=replace(iv.end, reason=EndReason.REWORDED, successor=best.sentence))


def _step_version(claims: ClaimSet, state: SourceState, event: SourceVersion, time_limit: float,
                  cache: MatchCache | None) -> SourceStep:
    if state.version is not None and event.number <= state.version.number:
        raise VersionOrderError(f"{event.source.id}: v{event.number} (first seen {_iso(event.at)}) comes after "
                                f"v{state.version.number} (first seen {_iso(state.version.at)})")
    if state.version is not None and event.at < state.version.at:
        raise VersionOrderError(f"{event.source.id}: v{event.number} (first seen {_iso(event.at)}) comes before "
                                f"v{state.version.number} (first seen {_iso(state.version.at)})")
    cause = _cause(state, event)
    ref = VersionRef(event.number, event.at)
    sentences = tuple(split_sentences(event.text, event.source.base_language))
    matches = match_sentences(claims, event.source, sentences, version=event.number, time_limit=time_limit,
                              cache=cache)
    tracking = cause is Cause.TRACKING_CHANGE
    successors = _Successors(state.sentences, sentences, event.source.id)
    kept: list[EvidenceInterval] = []
    closed: list[EvidenceInterval] = []
    updated: list[EvidenceInterval] = []
    continued: set[tuple[str, str, str]] = set()
    for iv in state.intervals:
        if iv.claim_id in matches.errors or (iv.claim_id not in matches.hits and not tracking):
            kept.append(iv)
            continue
        hit = matches.hits.get(iv.claim_id, {}).get((iv.matcher_id, iv.key))
        if hit is not None:
            now = replace(iv, sentence=hit.sentence, span=hit.span, reading=hit.reading, failures=hit.failures,
                          last=ref, last_confirmed=event.at)
            kept.append(now)
            continued.add((iv.claim_id, iv.matcher_id, iv.key))
            if now.expect_met != iv.expect_met:
                updated.append(now)
            continue
        if tracking:
            end = IntervalEnd(EndReason.TRACKING_CHANGED, event.at, event.number)
        else:
            reason, successor = successors.end(iv.key)
            end = IntervalEnd(reason, event.at, event.number, successor)
        closed.append(replace(iv, end=end))
    opened = [_open(hit, event.source, ref)
              for claim_id, hits in sorted(matches.hits.items())
              for (matcher_id, key), hit in hits.items()
              if (claim_id, matcher_id, key) not in continued]
    closed = [_declared_successor(iv, opened) for iv in closed]
    new_state = SourceState(source=event.source, version=ref, sentences=sentences, intervals=tuple(kept + opened),
                            failing_since=None, declared=True)
    return SourceStep(state=new_state, at=event.at, cause=cause, version=event.number, change_kind=event.change_kind,
                      opened=tuple(opened), closed=tuple(closed), updated=tuple(updated),
                      evaluated=frozenset(matches.hits), errors=tuple(matches.errors.values()))


def step_source(claims: ClaimSet, state: SourceState | None, event: SourceEvent, *,
                time_limit: float = DEFAULT_TIME_LIMIT, cache: MatchCache | None = None) -> SourceStep:
    """The open intervals of one source after ``event``.

    ``state`` is the source's state before the event (None for a source the
    engine has not seen). Pure: nothing is modified in place.
    """
    if isinstance(event, SourceVersion):
        return _step_version(claims, state or SourceState(source=event.source), event, time_limit, cache)
    if state is None:
        raise ValueError(f"{event.source_id}: {type(event).__name__} for a source with no recorded version")
    if isinstance(event, SourceConfirmed):
        intervals = tuple(replace(iv, last_confirmed=max(iv.last_confirmed, event.at)) for iv in state.intervals)
        return SourceStep(state=replace(state, intervals=intervals, failing_since=None), at=event.at, cause=None)
    if isinstance(event, SourceFailed):
        return SourceStep(state=replace(state, failing_since=state.failing_since or event.at), at=event.at, cause=None)
    if isinstance(event, SourceUndeclared):
        end = IntervalEnd(EndReason.SOURCE_UNDECLARED, event.at, None)
        closed = tuple(replace(iv, end=end) for iv in state.intervals)
        return SourceStep(state=replace(state, intervals=(), sentences=None, declared=False), at=event.at,
                          cause=Cause.SOURCE_UNDECLARED, closed=closed)
    raise TypeError(f"not a source event: {event!r}")
