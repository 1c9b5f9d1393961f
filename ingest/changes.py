"""What a new version's change amounts to: the word diff's size and the flagger's analysis.

Storage receives these facts and only stores them; `reanalyse` computes them
again for stored changes after the rules change.
"""

from __future__ import annotations

from analysis.diff import diff_texts
from analysis.flags import analyse_change
from analysis.vocabulary import ChangeKind, Severity, is_announced
from storage.record import ChangeFacts


def rules_language(language: str) -> str:
    """The flagger's language for a declared language tag (`de-AT` → `de`)."""
    return language.split("-")[0]


def change_facts(old_text: str, new_text: str, language: str, *, reverts_to_version_id: int | None = None,
                 technical: bool = False) -> ChangeFacts:
    """The change from `old_text` to `new_text`.

    `technical`: the new text was re-derived from stored snapshots with new
    rules, so the change is not the vendor's doing. `reverts_to_version_id`:
    the new text is one of the source's recent versions.
    """
    diff = diff_texts(old_text, new_text)
    meaning = analyse_change(old_text, new_text, rules_language(language))
    kind = (ChangeKind.TECHNICAL if technical else ChangeKind.REVERT if reverts_to_version_id is not None
            else ChangeKind(meaning.kind))
    return ChangeFacts(
        kind=kind, words_added=diff.words_added, words_removed=diff.words_removed,
        lines_added=diff.lines_added, lines_removed=diff.lines_removed,
        flags=tuple(meaning.flags), severity=Severity(meaning.severity), summary=meaning.summary,
        evidence=tuple(e.to_json() for e in meaning.evidence), announced=is_announced(kind),
        reverts_to_version_id=reverts_to_version_id,
    )
