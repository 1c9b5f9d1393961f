"""The record read with plain SQL: sources, versions and their texts, fetch outcomes, changes, ledger links.

`history`, `show` and `changes` answer from here, without SQLAlchemy (whose
import alone takes longer than they may: bench/startup_speed.py). The SQL is
the same on SQLite and PostgreSQL; the values come back as SQLAlchemy's
column types in `storage.models` give them: times aware and in UTC (SQLite
keeps them as naive ISO text), JSON columns decoded (SQLite keeps text),
booleans as `bool`, vocabularies as their plain strings. The questions and
their answers are those of `storage.queries` (the tests compare them), as
frozen dataclasses with the attributes `policywatch.jsonview` reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from analysis.errors import UserInputError
from storage.db import PlainConnection, StoredValueError
from storage.source_fields import SourceFields
from storage.textcodec import BATCH as _BATCH
from storage.textcodec import StoredText, read_texts
from storage.times import utc_text
from storage.vocabulary import LedgerKind


class NotFound(UserInputError, LookupError):
    pass


@dataclass(frozen=True)
class SnapshotRecord:
    url: str
    final_url: str
    http_status: int | None
    content_type: str | None
    fetched_at: datetime
    blob_sha256: str


@dataclass(frozen=True)
class VersionNumber:
    number: int


@dataclass(frozen=True)
class OutcomeRecord:
    id: int
    run_id: int
    at: datetime
    outcome: str  # storage.vocabulary.Outcome
    failure_kind: str | None  # storage.vocabulary.FailureKind
    detail: str | None
    http_status: int | None
    text_sha256: str | None
    version: VersionNumber | None  # the version it recorded or confirmed
    snapshots: tuple[SnapshotRecord, ...]  # in the order of the source's urls
    run_kind: str  # storage.vocabulary.RunKind of the run that recorded it: a fetch, an imported file…


@dataclass(frozen=True)
class VersionRecord:
    id: int
    source_id: str
    number: int
    sha256: str
    first_seen: datetime
    last_confirmed: datetime
    outcome: OutcomeRecord  # the fetch that first recorded it


@dataclass(frozen=True)
class PreviousAnalysis:
    replaced_at: datetime
    kind: str
    flags: list[str]
    severity: str
    summary: str
    words_added: int
    words_removed: int


@dataclass(frozen=True)
class ChangeRecord:
    id: int
    source_id: str
    from_version_id: int
    to_version_id: int
    detected_at: datetime
    kind: str  # analysis.vocabulary.ChangeKind
    words_added: int
    words_removed: int
    lines_added: int
    lines_removed: int
    flags: list[str]
    severity: str  # analysis.vocabulary.Severity
    summary: str
    evidence: list[dict[str, Any]]
    analysed: bool
    analysis_note: str
    announced: bool
    note: str | None
    previous_analyses: tuple[PreviousAnalysis, ...]  # empty unless asked for


@dataclass(frozen=True)
class ChangeRow:
    change: ChangeRecord
    source: SourceFields
    from_number: int
    to_number: int
    reverts_to_number: int | None = None


@dataclass(frozen=True)
class Links:
    """What `--json` shows of a version's entry in the tamper-evident log (`storage.ledger`)."""

    seq: int
    hash: str
    prev_subject: str | None
    prev: str | None

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "prev_subject": self.prev_subject, "prev": self.prev}


_SOURCE = "s.id, s.vendor, s.title, s.document_type, s.language, s.urls, s.tags"
_VERSION = "v.id, v.source_id, v.number, v.sha256, v.first_seen, v.last_confirmed, v.outcome_id"
_CHANGE = ("c.id, c.source_id, c.from_version_id, c.to_version_id, c.detected_at, c.kind, c.words_added, "
           "c.words_removed, c.lines_added, c.lines_removed, c.flags, c.severity, c.summary, c.evidence, c.analysed, "
           "c.analysis_note, c.announced, c.note")


class Record:
    """Questions asked of one consistent state of the record (see `reading`)."""

    def __init__(self, plain: PlainConnection) -> None:
        self._connection = plain.connection
        self._sqlite = plain.dialect == "sqlite"
        self._format = plain.paramstyle != "qmark"

    # Values as SQLAlchemy's column types give them back.

    def _time(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError as exc:
                raise StoredValueError(str(exc)) from None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def _json(self, value: Any) -> Any:
        if value is None or not self._sqlite:  # the PostgreSQL drivers decode JSON columns themselves
            return value
        try:
            return json.loads(value)
        except (TypeError, ValueError) as exc:
            raise StoredValueError(str(exc)) from None

    def _bound_time(self, value: datetime) -> Any:
        naive = value.astimezone(timezone.utc).replace(tzinfo=None)
        # As SQLAlchemy writes times into SQLite, so that text compares with text as it stores it.
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if self._sqlite else naive

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql.replace("?", "%s") if self._format else sql, tuple(params))
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def _source(self, row: Sequence[Any]) -> SourceFields:
        sid, vendor, title, document_type, language, urls, tags = row
        return SourceFields(id=sid, vendor=vendor, title=title, document_type=document_type, language=language,
                            urls=tuple(self._json(urls) or ()), tags=tuple(self._json(tags) or ()))

    # Sources and versions.

    def get_source(self, source_id: str) -> SourceFields:
        rows = self._rows(f"SELECT {_SOURCE} FROM sources s WHERE s.id = ?", (source_id,))
        if not rows:
            known = [r[0] for r in self._rows("SELECT id FROM sources ORDER BY id")]
            hint = f"; recorded sources: {', '.join(known)}" if known else "; nothing is recorded yet"
            raise NotFound(f"no recorded source {source_id!r}{hint}")
        return self._source(rows[0])

    def _versions(self, where: str, params: Sequence[Any], tail: str = "ORDER BY v.number") -> list[VersionRecord]:
        rows = self._rows(f"SELECT {_VERSION} FROM versions v WHERE {where} {tail}", params)
        if not rows:
            return []
        ids = [r[6] for r in rows]
        outcomes = {o.id: o for start in range(0, len(ids), _BATCH)
                    for o in self._outcomes(f"o.id IN ({', '.join('?' * len(ids[start:start + _BATCH]))})",
                                            ids[start:start + _BATCH])}
        return [VersionRecord(vid, sid, number, sha, self._time(first), self._time(last),  # type: ignore[arg-type]
                              outcomes[outcome_id])
                for vid, sid, number, sha, first, last, outcome_id in rows]

    def versions_of(self, source_id: str) -> list[VersionRecord]:
        self.get_source(source_id)
        return self._versions("v.source_id = ?", (source_id,))

    def version_by_number(self, source_id: str, number: int) -> VersionRecord:
        found = self._versions("v.source_id = ? AND v.number = ?", (source_id, number))
        if not found:
            total = len(self.versions_of(source_id))
            raise NotFound(f"{source_id} has no version {number} (it has {total})")
        return found[0]

    def version_at(self, source_id: str, at: datetime) -> VersionRecord:
        """The version in force at `at`: the newest first seen at or before it."""
        found = self._versions("v.source_id = ? AND v.first_seen <= ?", (source_id, self._bound_time(at)),
                               "ORDER BY v.first_seen DESC, v.number DESC LIMIT 1")
        if not found:
            self.get_source(source_id)
            first = self._versions("v.source_id = ?", (source_id,), "ORDER BY v.number LIMIT 1")
            begins = f"; its record begins at {utc_text(first[0].first_seen)} (v{first[0].number})" if first else ""
            raise NotFound(f"{source_id} had no version yet at {utc_text(at)}{begins}")
        return found[0]

    def version_after(self, source_id: str, at: datetime) -> VersionRecord | None:
        """The first version seen after `at` (the one that followed the version in force then), or None."""
        found = self._versions("v.source_id = ? AND v.first_seen > ?", (source_id, self._bound_time(at)),
                               "ORDER BY v.first_seen, v.number LIMIT 1")
        return found[0] if found else None

    def latest_version(self, source_id: str) -> VersionRecord:
        self.get_source(source_id)
        found = self._versions("v.source_id = ?", (source_id,), "ORDER BY v.number DESC LIMIT 1")
        if not found:
            raise NotFound(f"{source_id} has no version yet")
        return found[0]

    def texts(self, shas: Sequence[str]) -> dict[str, str]:
        """The texts stored under `shas`, verified (`storage.textcodec`)."""
        def fetch(keys: Sequence[str]) -> list[StoredText]:
            return [(sha, base, size, data) for sha, base, size, data in self._rows(
                f"SELECT sha256, base_sha256, size, data FROM version_texts "
                f"WHERE sha256 IN ({', '.join('?' * len(keys))})", keys)]

        return read_texts(shas, fetch)

    def version_links(self, source_id: str) -> dict[int, Links]:
        """The ledger entries of a source's versions, by version number."""
        rows = self._rows("SELECT number, seq, hash, prev_subject, prev FROM ledger_entries "
                          "WHERE kind = ? AND subject = ?", (str(LedgerKind.VERSION), source_id))
        return {number: Links(seq, hash_, prev_subject, prev) for number, seq, hash_, prev_subject, prev in rows}

    # Fetch outcomes.

    def _outcomes(self, where: str, params: Sequence[Any]) -> list[OutcomeRecord]:
        pages: dict[int, list[SnapshotRecord]] = {}
        for outcome_id, url, final_url, status, content_type, fetched_at, sha in self._rows(
                "SELECT s.outcome_id, s.url, s.final_url, s.http_status, s.content_type, s.fetched_at, s.blob_sha256 "
                f"FROM snapshots s WHERE s.outcome_id IN (SELECT o.id FROM fetch_outcomes o WHERE {where}) "
                "ORDER BY s.outcome_id, s.position, s.id", params):
            pages.setdefault(outcome_id, []).append(SnapshotRecord(  # type: ignore[arg-type]
                url, final_url, status, content_type, self._time(fetched_at), sha))
        rows = self._rows(
            "SELECT o.id, o.run_id, o.at, o.outcome, o.failure_kind, o.detail, o.http_status, o.text_sha256, v.number, "
            "r.kind FROM fetch_outcomes o JOIN runs r ON r.id = o.run_id "
            f"LEFT OUTER JOIN versions v ON v.id = o.version_id WHERE {where} ORDER BY o.at, o.id", params)
        return [OutcomeRecord(oid, run_id, self._time(at), outcome, kind, detail,  # type: ignore[arg-type]
                              status, text_sha, VersionNumber(number) if number is not None else None,
                              tuple(pages.get(oid, ())), run_kind)
                for oid, run_id, at, outcome, kind, detail, status, text_sha, number, run_kind in rows]

    def outcomes_of(self, source_id: str) -> list[OutcomeRecord]:
        return self._outcomes("o.source_id = ?", (source_id,))

    # Changes.

    def changes(self, source_id: str | Sequence[str] | None = None, since: datetime | None = None,
                flags: Sequence[str] | None = None, severities: Sequence[str] | None = None,
                previous_analyses: bool = False) -> list[ChangeRow]:
        """Newest first; `source_id`: one source or several; `previous_analyses`: with the analyses `reanalyse`
        replaced (what `--json` shows)."""
        where: list[str] = []
        params: list[Any] = []
        wanted = [source_id] if isinstance(source_id, str) else list(source_id or ())
        for one in wanted:
            self.get_source(one)
        if wanted:
            where.append(f"c.source_id IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if since is not None:
            where.append("c.detected_at >= ?")
            params.append(self._bound_time(since))
        if severities:
            where.append(f"c.severity IN ({', '.join('?' * len(severities))})")
            params.extend(severities)
        rows = self._rows(
            f"SELECT {_CHANGE}, {_SOURCE}, v_from.number, v_to.number, v_back.number FROM changes c "
            "JOIN sources s ON s.id = c.source_id "
            "JOIN versions v_from ON v_from.id = c.from_version_id "
            "JOIN versions v_to ON v_to.id = c.to_version_id "
            "LEFT OUTER JOIN versions v_back ON v_back.id = c.reverts_to_version_id"
            + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY c.detected_at DESC, c.id DESC", params)
        earlier = self._previous_analyses([r[0] for r in rows]) if previous_analyses else {}
        found = [ChangeRow(self._change(r[:18], earlier.get(r[0], ())), self._source(r[18:25]), r[25], r[26], r[27])
                 for r in rows]
        if flags:
            # Flags are a JSON list; filtering in Python keeps SQLite and PostgreSQL alike.
            found = [r for r in found if set(flags) & set(r.change.flags or [])]
        return found

    def _change(self, row: Sequence[Any], earlier: tuple[PreviousAnalysis, ...]) -> ChangeRecord:
        (cid, sid, from_id, to_id, detected_at, kind, words_added, words_removed, lines_added, lines_removed, flags,
         severity, summary, evidence, analysed, analysis_note, announced, note) = row
        return ChangeRecord(cid, sid, from_id, to_id, self._time(detected_at), kind,  # type: ignore[arg-type]
                            words_added, words_removed, lines_added, lines_removed, self._json(flags), severity,
                            summary, self._json(evidence), _boolean(analysed), analysis_note, _boolean(announced),
                            note, earlier)

    def _previous_analyses(self, change_ids: Sequence[int]) -> dict[int, tuple[PreviousAnalysis, ...]]:
        found: dict[int, list[PreviousAnalysis]] = {}
        for start in range(0, len(change_ids), _BATCH):
            chunk = change_ids[start:start + _BATCH]
            for change_id, replaced_at, kind, flags, severity, summary, added, removed in self._rows(
                    "SELECT change_id, replaced_at, kind, flags, severity, summary, words_added, words_removed "
                    f"FROM change_analyses WHERE change_id IN ({', '.join('?' * len(chunk))}) ORDER BY id", chunk):
                found.setdefault(change_id, []).append(PreviousAnalysis(  # type: ignore[arg-type]
                    self._time(replaced_at), kind, self._json(flags), severity, summary, added, removed))
        return {cid: tuple(rows) for cid, rows in found.items()}


def _boolean(value: Any) -> bool:
    return None if value is None else bool(value)  # type: ignore[return-value]


@contextmanager
def reading(plain: PlainConnection) -> Iterator[Record]:
    """The record as one consistent state, whatever is written meanwhile, as `storage.db.reading` reads it:
    one read transaction on SQLite (a WAL snapshot), REPEATABLE READ, READ ONLY on PostgreSQL. Nothing is ever
    committed; the connection is closed afterwards."""
    connection = plain.connection
    try:
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN" if plain.dialect == "sqlite" else
                           "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        finally:
            cursor.close()
        yield Record(plain)
    finally:
        try:
            connection.rollback()
        finally:
            connection.close()
