"""What a new version's change amounts to: the word diff's size and the flagger's analysis.

Storage receives these facts and only stores them; `reanalyse` computes them
again for stored changes after the rules change.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.budget import Budget
from analysis.diff import diff_texts
from analysis.flags import ChangeAnalysis, analyse_change
from analysis.vocabulary import ChangeKind, Severity, is_announced
from storage.record import ChangeFacts, text_sha256

# A change whose analysis takes longer than this is recorded as "analysis incomplete": one page must not
# hold up the night.
ANALYSIS_SECONDS = 20.0


def rules_language(language: str) -> str:
    """The flagger's language for a declared language tag (`de-AT` → `de`)."""
    return language.split("-")[0]


@dataclass(frozen=True)
class Analysed:
    """The costly part of a change's facts, worked out for one pair of texts (named by their sha256)."""

    old_sha256: str
    new_sha256: str
    language: str
    words_added: int
    words_removed: int
    lines_added: int
    lines_removed: int
    meaning: ChangeAnalysis

    def is_for(self, old_text_sha256: str, new_text_sha256: str, language: str) -> bool:
        return (self.old_sha256, self.new_sha256, self.language) == (old_text_sha256, new_text_sha256, language)


def analyse_texts(old_text: str, new_text: str, language: str, budget: Budget | None = None) -> Analysed:
    """The word diff's size and the flagger's analysis of the change from `old_text` to `new_text`
    (within `budget`, by default `ANALYSIS_SECONDS`)."""
    diff = diff_texts(old_text, new_text)
    meaning = analyse_change(old_text, new_text, rules_language(language),
                             budget if budget is not None else Budget(seconds=ANALYSIS_SECONDS))
    return Analysed(text_sha256(old_text), text_sha256(new_text), language, diff.words_added, diff.words_removed,
                    diff.lines_added, diff.lines_removed, meaning)


def _diffed(old_text: str, new_text: str, language: str) -> Analysed:
    diff = diff_texts(old_text, new_text)
    return Analysed(text_sha256(old_text), text_sha256(new_text), language, diff.words_added, diff.words_removed,
                    diff.lines_added, diff.lines_removed, TECHNICAL)


# What a technical change says of itself: the text moved because the rules that read the pages did, not the
# vendor's wording, so the flagger's findings on the difference are no findings about the vendor's practices and
# give it no severity (it would count among the vendor's changes by severity, and read as their doing).
TECHNICAL = ChangeAnalysis(kind=ChangeKind.TECHNICAL, flags=(), evidence=(),
                           summary="re-derived with changed extraction rules, not a change by the vendor",
                           severity=Severity.NONE)


def change_facts(old_text: str, new_text: str, language: str, *, reverts_to_version_id: int | None = None,
                 technical: bool = False, analysed: Analysed | None = None, budget: Budget | None = None) -> ChangeFacts:
    """The change from `old_text` to `new_text`.

    `technical`: the new text was re-derived from stored snapshots with new
    rules, so the change is not the vendor's doing. `reverts_to_version_id`:
    the new text is one of the source's recent versions. `analysed`: the
    analysis already worked out for these texts (it is worked out here when
    it is not theirs).
    """
    if analysed is None or not analysed.is_for(text_sha256(old_text), text_sha256(new_text), language):
        # A technical change keeps none of the flagger's findings: only its diff is worked out.
        analysed = (_diffed(old_text, new_text, language) if technical
                    else analyse_texts(old_text, new_text, language, budget))
    meaning = TECHNICAL if technical else analysed.meaning
    kind = (ChangeKind.TECHNICAL if technical else ChangeKind.REVERT if reverts_to_version_id is not None
            else ChangeKind(meaning.kind))
    return ChangeFacts(
        kind=kind, words_added=analysed.words_added, words_removed=analysed.words_removed,
        lines_added=analysed.lines_added, lines_removed=analysed.lines_removed,
        flags=tuple(meaning.flags), severity=Severity(meaning.severity), summary=meaning.summary,
        evidence=tuple(e.to_json() for e in meaning.evidence), announced=is_announced(kind),
        reverts_to_version_id=reverts_to_version_id, analysed=meaning.analysed, analysis_note=meaning.note,
    )
