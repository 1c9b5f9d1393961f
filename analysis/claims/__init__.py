"""Claims about a vendor's data practices, followed against the vendor's own wording.

Pure functions and immutable values: nothing here reads files or databases.
``ingest.claims_declarations.load_claims`` turns ``claims/*.yaml`` into
``Claim`` values; storage feeds the engine the versions it records.

Why matchers and not similarity: a claim's status must follow its truth
conditions (polarity, durations, opt-in/out, whose data), and the deciding
evidence is often a contradiction rather than a paraphrase. So status comes
from declared matchers (the rule format of ``analysis/rules/*.yaml``: patterns
/ requires / unless per language, plus ``expect:`` checked with the flagger's
reading of the sentence); BM25 only suggests sentences to whoever writes them.

Values
------
``Claim``, ``Matcher``, ``Expect``, ``SourceInfo`` (model); ``Role``,
``ClaimStatus``, ``EndReason``, ``Cause`` (vocabulary); ``EvidenceInterval``
with ``VersionRef`` and ``IntervalEnd``; ``ClaimState`` and ``StatusEvent``;
the source events ``SourceVersion``, ``SourceConfirmed``, ``SourceFailed``,
``SourceUndeclared``. Every value has ``to_json()``; times are aware UTC
``datetime``s, written ``…Z``.

API for storage and commands
----------------------------
Build once per declarations load::

    claims = ClaimSet(load_claims(path))

(a) Incremental, per recorded version of a source (and per fetch outcome)::

    state = EngineState(
        sources={sid: SourceState.resume(info, VersionRef(n, first_seen), text_or_None, open_intervals,
                                         failing_since, declared) ...},
        statuses={claim_id: ClaimState(...) ...})
    state, update = apply(claims, state, SourceVersion(info, number, detected_at, text, change_kind,
                                                       declaration_changed))

   What to store: ``update.step.state.intervals`` are the source's open
   intervals after the step (upsert them by ``EvidenceInterval.identity``:
   ``last`` and ``last_confirmed`` move on every version),
   ``update.step.closed`` the ones that ended (with ``end``: reason, time,
   version, successor); ``update.step.opened`` / ``updated`` say which are new
   or now meet or fail their ``expect``. ``update.statuses`` are the states of
   the claims re-read; ``update.events`` the status events to append
   (``announce`` says whether feeds may carry them); ``update.errors`` the
   claims whose matching ran out of time on this document (their evidence
   there is left as it was). Every value round-trips through ``to_json`` /
   ``from_json``, which is how rows come back into ``SourceState.resume``.
   The text of the source's previous version is needed only when evidence
   ends, to tell *reworded* (with its successor) from *removed*.
   ``SourceConfirmed`` advances ``last_confirmed``; ``SourceFailed`` changes
   no status; ``SourceUndeclared`` ends the source's evidence as
   ``source_undeclared``. Only claims whose evidence changed, or that have no
   state yet, are re-read; ``ClaimSet.for_source`` says which claims a source
   counts for.

(b) After a claims file changed (``Claim.fingerprint`` differs from the
   stored one), re-evaluate the history of the changed claims::

    evaluation = evaluate(ClaimSet(changed), history_events({sid: [events…]}))
    timeline, revision = reconcile(claim_id, recorded_events, evaluation.timeline(claim_id), now)

   and replace the claim's intervals with ``evaluation.intervals_of(id)``.
   Events that were not recorded before come back with ``announce=False``
   and ``reevaluated_at`` set: a declaration edit is shown, never announced.

(c) Status at a past time: ``status_at(timeline, at)``; evidence held then:
   ``evidence_at(intervals, at)``.

(d) Pages: ``describe(claim, timeline, intervals, at=None, failing={sid: since}, state=…)``
   gives statement, status (``ClaimStatus.label``), since, timeline, evidence
   (sentence, matched span, reading, version range, end and successor),
   successors ("replaced by") and unconfirmed sources; ``to_json()`` is the
   ``claims show --json`` / ``claims/<id>.json`` form.

Suggestions: ``suggest(claim, {source_id: text}, language)`` returns
``Suggestion`` values (BM25 with Snowball stemming), labelled as such and
never evidence.

(e) Press: ``find_mentions(claims, sentences, language)`` (``analysis.claims.mentions``)
   gives the sentences of an article that mention a claim (its ``mentions``
   condition), each with a ``Stance`` (reports, disputes, repeats) and the
   matched span; ``is_stale(stance, status_when_published)`` says whether a
   mention is a stale repetition; ``mention_fingerprint(claim)`` changes when
   what finding a claim's mentions depends on changes.

Statuses (``analysis.claims.status`` has the rules): supported,
contradicted, conflicting, weakened, no longer stated, unverified, and
tracking changed (what we watch changed, so the difference needs review).
Every claim starts unverified (a state without an event); a failing source
never changes a status; the ``since`` of a status is the time of the change
that caused it.

Bounded: matching a document stops a claim after ``DEFAULT_TIME_LIMIT``
seconds (the ``regex`` module's timeout, checked inside its matching loop; the
standard ``re`` cannot be interrupted, a thread cannot be killed and a process
per claim would cost more than the matching) and reports it as an
``EvaluationError`` while the other claims carry on.
"""

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis.claims.compile import SpecError, compile_matcher, reuse_matcher
    from analysis.claims.engine import (
        EngineState,
        Evaluation,
        Revision,
        Update,
        apply,
        evaluate,
        history_events,
        reconcile,
    )
    from analysis.claims.events import SourceConfirmed, SourceEvent, SourceFailed, SourceUndeclared, SourceVersion
    from analysis.claims.expect import Expect, Reading, parse_expect
    from analysis.claims.intervals import EvidenceInterval, IntervalEnd, SourceState, SourceStep, VersionRef, step_source
    from analysis.claims.limits import DEFAULT_TIME_LIMIT
    from analysis.claims.matching import ClaimSet, EvaluationError, Hit, hits_in_text, match_sentences
    from analysis.claims.model import Claim, FirstAppearance, Matcher, SourceInfo
    from analysis.claims.status import ClaimState, StatusEvent, evidence_status, next_status
    from analysis.claims.suggest import Suggestion, suggest
    from analysis.claims.views import ClaimView, Successor, describe, evidence_at, status_at
    from analysis.claims.vocabulary import Cause, ClaimStatus, EndReason, Role

# Each name is imported from its module when first asked for (PEP 562): a command that needs only the
# vocabulary, or nothing of the claims at all, does not pay for the matcher compiler, the `regex` module and
# the classifier's rules at start-up.
_HOMES = {
    **dict.fromkeys(('SpecError', 'compile_matcher', 'reuse_matcher',), "compile"),
    **dict.fromkeys(('EngineState', 'Evaluation', 'Revision', 'Update', 'apply', 'evaluate', 'history_events', 'reconcile',), "engine"),
    **dict.fromkeys(('SourceConfirmed', 'SourceEvent', 'SourceFailed', 'SourceUndeclared', 'SourceVersion',), "events"),
    **dict.fromkeys(('Expect', 'Reading', 'parse_expect',), "expect"),
    **dict.fromkeys(('EvidenceInterval', 'IntervalEnd', 'SourceState', 'SourceStep', 'VersionRef', 'step_source',), "intervals"),
    "DEFAULT_TIME_LIMIT": "limits",
    **dict.fromkeys(('ClaimSet', 'EvaluationError', 'Hit', 'hits_in_text', 'match_sentences',), "matching"),
    **dict.fromkeys(('Claim', 'FirstAppearance', 'Matcher', 'SourceInfo',), "model"),
    **dict.fromkeys(('ClaimState', 'StatusEvent', 'evidence_status', 'next_status',), "status"),
    **dict.fromkeys(('Suggestion', 'suggest',), "suggest"),
    **dict.fromkeys(('ClaimView', 'Successor', 'describe', 'evidence_at', 'status_at',), "views"),
    **dict.fromkeys(('Cause', 'ClaimStatus', 'EndReason', 'Role',), "vocabulary"),
}


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Importing a submodule binds it on its package; where a name of the API is also a submodule's
        # (``suggest``), the name keeps meaning what the API says, as an eager import of it would.
        if isinstance(value, types.ModuleType) and _HOMES.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DEFAULT_TIME_LIMIT",
    "Cause",
    "Claim",
    "ClaimSet",
    "ClaimState",
    "ClaimStatus",
    "ClaimView",
    "EndReason",
    "EngineState",
    "Evaluation",
    "EvaluationError",
    "EvidenceInterval",
    "Expect",
    "FirstAppearance",
    "Hit",
    "IntervalEnd",
    "Matcher",
    "Reading",
    "Revision",
    "Role",
    "SourceConfirmed",
    "SourceEvent",
    "SourceFailed",
    "SourceInfo",
    "SourceState",
    "SourceStep",
    "SourceUndeclared",
    "SourceVersion",
    "SpecError",
    "StatusEvent",
    "Successor",
    "Suggestion",
    "Update",
    "VersionRef",
    "apply",
    "compile_matcher",
    "describe",
    "evaluate",
    "evidence_at",
    "evidence_status",
    "hits_in_text",
    "history_events",
    "match_sentences",
    "next_status",
    "parse_expect",
    "reconcile",
    "reuse_matcher",
    "status_at",
    "step_source",
    "suggest",
]
