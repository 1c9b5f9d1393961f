"""The stable machine-readable forms printed by `--json` (documented in README).

Each form is written once, from the attributes it reads: the ORM rows
(`storage.models`, `storage.queries`) and the plain records of
`storage.reader` have the same ones, so `history`, `show` and `changes`,
which read with plain SQL, print exactly what the ORM's readers would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from analysis.diff import count_words
from storage.times import utc_text
from storage.vocabulary import RunKind

if TYPE_CHECKING:
    from analysis.diff import Diff
    from storage import queries, reader
    from storage.health import CurrentHealth
    from storage.models import FetchOutcome, Snapshot
    from storage.queries import SourceSummary
    from storage.reader import Links

    AnyOutcome = FetchOutcome | reader.OutcomeRecord
    AnySnapshot = Snapshot | reader.SnapshotRecord
    AnyChangeRow = queries.ChangeRow | reader.ChangeRow


def when(value: datetime | None) -> str | None:
    return utc_text(value) if value else None


def source_json(source: Any, summary: SourceSummary | None, declared: bool,
                health: CurrentHealth | None = None) -> dict[str, Any]:
    """`source`: its declaration, or its recorded row once it is no longer declared."""
    if health is not None and summary is not None:
        from storage.health import unless_imported_only  # only `sources` needs it

        health = unless_imported_only(health, summary.origins.last_crawled, summary.origins.imported_until)
    return {
        "id": source.id, "vendor": source.vendor, "title": source.title, "document_type": source.document_type,
        "language": source.language, "urls": list(source.urls), "tags": list(source.tags), "declared": declared,
        "versions": summary.versions if summary else 0,
        # A crawl's check only: an imported file's date is when someone saved the page (imported_*).
        "last_checked": when(summary.origins.last_crawled) if summary else None,
        "last_changed": when(summary.last_changed) if summary else None,
        "last_outcome": summary.last_outcome if summary else None,
        "last_failure_kind": summary.last_failure_kind if summary else None,
        "health": str(health.state) if health is not None else "unchecked",
        "failing_since": when(health.since) if health is not None and health.state == "failing" else None,
        "imported_from": when(summary.origins.imported_from) if summary else None,
        "imported_until": when(summary.origins.imported_until) if summary else None,
    }


@dataclass(frozen=True)
class ReDerived:
    """Where a version `reextract` re-derived was read from: a stored page and when it was fetched, or an
    imported file and its date. Such a version is dated when it was re-derived, though nothing was fetched then."""

    read_at: datetime
    imported: bool  # an imported file (its snapshots have no HTTP status), not a fetched page

    def to_json(self) -> dict[str, Any]:
        return {"read_at": when(self.read_at), "from": "imported file" if self.imported else "fetched page"}


def re_derived_from(version: reader.VersionRecord) -> ReDerived | None:
    """None for a version a fetch or an imported file recorded, as almost every one is."""
    snapshots = version.outcome.snapshots
    if version.outcome.run_kind != RunKind.REEXTRACT or not snapshots:
        return None
    return ReDerived(max(s.fetched_at for s in snapshots), all(s.http_status is None for s in snapshots))


def version_json(version: reader.VersionRecord, text: str, ledger: Links | None,
                 with_text: bool = False) -> dict[str, Any]:
    """`ledger`: the version's entry in the tamper-evident log (None only for a record that predates it)."""
    derived = re_derived_from(version)
    data: dict[str, Any] = {
        "source": version.source_id, "number": version.number, "sha256": version.sha256,
        "first_seen": when(version.first_seen), "last_confirmed": when(version.last_confirmed),
        "re_derived_from": derived.to_json() if derived is not None else None,
        "words": count_words(text),
        "snapshots": [snapshot_json(s) for s in version.outcome.snapshots],
        "ledger": ledger.to_json() if ledger is not None else None,
    }
    if with_text:
        data["text"] = text
    return data


def snapshot_json(snapshot: AnySnapshot) -> dict[str, Any]:
    return {"url": snapshot.url, "final_url": snapshot.final_url, "http_status": snapshot.http_status,
            "content_type": snapshot.content_type, "fetched_at": when(snapshot.fetched_at),
            "sha256": snapshot.blob_sha256}


def outcome_json(outcome: AnyOutcome) -> dict[str, Any]:
    """`snapshots`: the pages kept with the outcome; for a failed one, the refused pages as received."""
    return {"at": when(outcome.at), "run": outcome.run_id, "outcome": outcome.outcome,
            "failure_kind": outcome.failure_kind, "detail": outcome.detail,
            "http_status": outcome.http_status, "version": outcome.version.number if outcome.version else None,
            "snapshots": [snapshot_json(s) for s in outcome.snapshots]}


def change_json(row: AnyChangeRow) -> dict[str, Any]:
    change = row.change
    return {
        "id": change.id, "source": row.source.id, "title": row.source.title, "vendor": row.source.vendor,
        "from_version": row.from_number, "to_version": row.to_number, "detected_at": when(change.detected_at),
        "kind": change.kind, "words_added": change.words_added, "words_removed": change.words_removed,
        "lines_added": change.lines_added, "lines_removed": change.lines_removed,
        "reverts_to_version": row.reverts_to_number,
        "flags": list(change.flags or []), "severity": change.severity, "summary": change.summary,
        "evidence": list(change.evidence or []), "analysed": change.analysed, "analysis_note": change.analysis_note,
        "announced": change.announced,
        "previous_analyses": [{"replaced_at": when(a.replaced_at), "kind": a.kind, "flags": list(a.flags or []),
                               "severity": a.severity, "summary": a.summary, "words_added": a.words_added,
                               "words_removed": a.words_removed} for a in change.previous_analyses],
    }


def diff_json(source_id: str, old: Version, new: Version, diff: Diff) -> dict[str, Any]:
    return {
        "source": source_id, "from_version": old.number, "to_version": new.number,
        "words_added": diff.words_added, "words_removed": diff.words_removed,
        "lines_added": diff.lines_added, "lines_removed": diff.lines_removed,
        "segments": [{"op": s.op, "text": s.text} for s in diff.segments],
    }
