"""The tables of the dataset export: their fields, what each means, and their rows read from the record.

Rows are read in a fixed order and streamed (`yield_per`), so an export of a
large record holds a few hundred rows in memory at a time; the two news
tables are read as the coverage pages read them (`reports.news_data`), once
for both, so they publish nothing the site does not. Field names are those
of the `--json` output of `sources`, `history`, `changes`, `articles` and
`mentions`.

A table is its fields, its `rows(session)` and its `fingerprint(session)`,
listed in `TABLES`; the archive, the README and `report`'s publication take
each from there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from analysis.claims import Cause, ClaimStatus
from analysis.claims.vocabulary import MentionReview
from reports.urls import hide_local_paths, published_url
from storage import texts
from storage.claims_models import ClaimDeclarationRow, ClaimEventRow, ClaimStateRow
from storage.models import Change, ChangeAnalysisRow, FetchOutcome, Run, Snapshot, SourceRow, Version
from storage.mentions_models import MentionRow
from storage.news_models import ArticleFetch, ArticleRow, ArticleVersion
from storage.times import utc_text
from storage.vocabulary import RunKind

BATCH = 200
# In `Session.info`: when a list is there, a version text that no longer reads back is exported as null and
# named in it as (source id, version number, what is wrong); without it, the export stops (TextIntegrityError).
DAMAGED_TEXTS = "policywatch.export.damaged_texts"


def _when(value: datetime | None) -> str | None:
    return utc_text(value) if value is not None else None


@dataclass(frozen=True)
class Field:
    name: str
    description: str
    kind: str = "text"  # text, integer, boolean, time (UTC, ISO 8601 with Z), list (JSON in CSV), object


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    fields: tuple[Field, ...]
    rows: Callable[[Session], Iterator[dict[str, Any]]]
    # Anything that moves when the table's rows would: compared before exporting again.
    fingerprint: Callable[[Session], tuple[Any, ...]]


def _count_and_max(session: Session, column: Any) -> tuple[Any, ...]:
    return tuple(session.execute(select(func.count(), func.max(column))).one())


# sources -------------------------------------------------------------------------------------------------------

def _source_rows(session: Session) -> Iterator[dict[str, Any]]:
    for row in session.scalars(select(SourceRow).order_by(SourceRow.id)):
        yield {"id": row.id, "vendor": row.vendor, "title": row.title, "document_type": row.document_type,
               "language": row.language, "urls": list(row.urls or []), "tags": list(row.tags or [])}


def _source_fingerprint(session: Session) -> tuple[Any, ...]:
    digest = hashlib.sha256()
    for row in _source_rows(session):
        digest.update(json.dumps(row, sort_keys=True).encode("utf-8"))
    return (digest.hexdigest(),)


SOURCES = Table("sources", "Every tracked document, as last declared (sources no longer declared are kept).", (
    Field("id", "the source id, e.g. openai/privacy-policy-eu"),
    Field("vendor", "who publishes the document"),
    Field("title", "the document's title"),
    Field("document_type", "Privacy Policy, Terms of Use, Help Center article, …"),
    Field("language", "the declared language (two-letter code)"),
    Field("urls", "the page(s) fetched; several are combined, in order, into one document", "list"),
    Field("tags", "free labels from the declaration", "list"),
), _source_rows, _source_fingerprint)


# versions ------------------------------------------------------------------------------------------------------

def _snapshots(session: Session, outcome_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    query = (select(Snapshot).where(Snapshot.outcome_id.in_(outcome_ids))
             .order_by(Snapshot.outcome_id, Snapshot.position))
    for snap in session.scalars(query):
        found.setdefault(snap.outcome_id, []).append({
            "url": published_url(snap.url), "final_url": published_url(snap.final_url),
            "http_status": snap.http_status,
            "content_type": snap.content_type, "fetched_at": _when(snap.fetched_at), "sha256": snap.blob_sha256})
    return found


def _version_rows(session: Session) -> Iterator[dict[str, Any]]:
    query = (select(Version.source_id, Version.number, Version.sha256, Version.first_seen, Version.last_confirmed,
                    Version.outcome_id, Run.kind)
             .join(FetchOutcome, FetchOutcome.id == Version.outcome_id).join(Run, Run.id == FetchOutcome.run_id)
             .order_by(Version.source_id, Version.number).execution_options(yield_per=BATCH))
    batch: list[Any] = []

    def flush() -> Iterator[dict[str, Any]]:
        snapshots = _snapshots(session, [row.outcome_id for row in batch])
        damaged_list: list[tuple[str, int, str]] | None = session.info.get(DAMAGED_TEXTS)
        if damaged_list is None:
            text_of, damaged = texts.read_many(session, (row.sha256 for row in batch)), {}
        else:
            text_of, damaged = texts.read_readable(session, (row.sha256 for row in batch))
        for sid, number, sha, first, last, outcome_id, run_kind in batch:
            text = text_of.get(sha)
            if text is None and damaged_list is not None:
                damaged_list.append((sid, number, damaged[sha]))
            yield {"source": sid, "number": number, "sha256": sha, "first_seen": _when(first),
                   "last_confirmed": _when(last), "words": len(text.split()) if text is not None else None,
                   "recorded_by": run_kind, "snapshots": snapshots.get(outcome_id, []), "text": text}

    for row in session.execute(query):
        batch.append(row)
        if len(batch) >= BATCH:
            yield from flush()
            batch = []
    yield from flush()


VERSIONS = Table("versions", "Every version of every source: the normalised text (Markdown) and where it came from.", (
    Field("source", "the source id"),
    Field("number", "1 for the first version, then one more for each new text", "integer"),
    Field("sha256", "SHA-256 of the text (UTF-8)"),
    Field("first_seen", "when this text was first fetched or, from an imported file, when that file was saved "
                        "(the date the import gave it)", "time"),
    Field("last_confirmed", "the latest fetch, or imported file, that still had this text", "time"),
    Field("words", "words in the text (split on whitespace); null when the text is left out", "integer"),
    Field("recorded_by", "crawl (fetched live), import (a saved page: a manifest, the Wayback Machine, Open Terms "
                         "Archive) or reextract (re-derived from stored pages after a rule change)"),
    Field("snapshots", "the raw pages it was extracted from: {url, final_url, http_status, content_type, "
                       "fetched_at, sha256}; sha256 names the raw bytes (`policywatch raw SHA256`); for a file "
                       "imported without a url, url and final_url are its file name alone (where it was read from "
                       "is not published)", "list"),
    Field("text", "the normalised text; null in the report's data download when the stored text is damaged "
                  "(no longer reads back as its sha256: `policywatch check` lists it)"),
), _version_rows, lambda s: _count_and_max(s, Version.id) + (_when(s.scalar(select(func.max(Version.last_confirmed)))),))


# changes -------------------------------------------------------------------------------------------------------

def _previous(session: Session, change_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    for row in session.scalars(select(ChangeAnalysisRow).where(ChangeAnalysisRow.change_id.in_(change_ids))
                               .order_by(ChangeAnalysisRow.change_id, ChangeAnalysisRow.id)):
        found.setdefault(row.change_id, []).append({
            "replaced_at": _when(row.replaced_at), "kind": row.kind, "flags": list(row.flags or []),
            "severity": row.severity, "summary": row.summary, "words_added": row.words_added,
            "words_removed": row.words_removed})
    return found


def _change_rows(session: Session) -> Iterator[dict[str, Any]]:
    old, new, back = aliased(Version), aliased(Version), aliased(Version)
    query = (select(Change, old.number, new.number, back.number)
             .join(old, old.id == Change.from_version_id).join(new, new.id == Change.to_version_id)
             .outerjoin(back, back.id == Change.reverts_to_version_id)
             .order_by(Change.id).execution_options(yield_per=BATCH))
    batch: list[Any] = []

    def flush() -> Iterator[dict[str, Any]]:
        previous = _previous(session, [row[0].id for row in batch])
        for change, from_number, to_number, reverts_to in batch:
            yield {"id": change.id, "source": change.source_id, "from_version": from_number, "to_version": to_number,
                   "detected_at": _when(change.detected_at), "kind": change.kind,
                   "words_added": change.words_added, "words_removed": change.words_removed,
                   "lines_added": change.lines_added, "lines_removed": change.lines_removed,
                   "reverts_to_version": reverts_to, "flags": list(change.flags or []), "severity": change.severity,
                   "summary": change.summary, "evidence": list(change.evidence or []),
                   "announced": bool(change.announced), "announced_flags": list(change.announced_flags or []),
                   "previous_analyses": previous.get(change.id, [])}

    for row in session.execute(query):
        batch.append(row)
        if len(batch) >= BATCH:
            yield from flush()
            batch = []
    yield from flush()


def _change_fingerprint(session: Session) -> tuple[Any, ...]:
    return _count_and_max(session, Change.id) + _count_and_max(session, ChangeAnalysisRow.id)


CHANGES = Table("changes", "Every change between two consecutive versions, with what the flagger made of it.", (
    Field("id", "the change's number in the record; the site's page is changes/<id>.html", "integer"),
    Field("source", "the source id"),
    Field("from_version", "the version before", "integer"),
    Field("to_version", "the version after", "integer"),
    Field("detected_at", "when the new text was first fetched (from an imported file: when that file was saved)",
          "time"),
    Field("kind", "substantive, formatting (same words once formatting is ignored), revert (back to one of the "
                  "source's 5 previous versions) or technical (re-derived after a rule change)"),
    Field("words_added", "words added by the word diff", "integer"),
    Field("words_removed", "words removed", "integer"),
    Field("lines_added", "lines added", "integer"),
    Field("lines_removed", "lines removed", "integer"),
    Field("reverts_to_version", "for a revert, the version it went back to", "integer"),
    Field("flags", "categories the change touches: retention, training, sharing, controls, sensitive, legal", "list"),
    Field("severity", "high, medium, low or none"),
    Field("summary", "one line quoting the changed words"),
    Field("evidence", "why it is flagged: {category, rule_id, start, end, match, sentence, polarity, durations, opt, "
                      "data_categories, side} per flagged sentence; side is old or new", "list"),
    Field("announced", "whether the feeds and notifications announced it (decided when it was detected)", "boolean"),
    Field("announced_flags", "the flags it was announced with", "list"),
    Field("previous_analyses", "analyses a later re-analysis replaced, oldest first: {replaced_at, kind, flags, "
                               "severity, summary, words_added, words_removed}", "list"),
), _change_rows, _change_fingerprint)


# outcomes ------------------------------------------------------------------------------------------------------

def _outcome_rows(session: Session) -> Iterator[dict[str, Any]]:
    query = (select(FetchOutcome.id, FetchOutcome.source_id, FetchOutcome.run_id, Run.kind, FetchOutcome.at,
                    FetchOutcome.outcome, FetchOutcome.failure_kind, FetchOutcome.detail, FetchOutcome.http_status,
                    FetchOutcome.url, Version.number)
             .join(Run, Run.id == FetchOutcome.run_id)
             .outerjoin(Version, Version.id == FetchOutcome.version_id)
             .order_by(FetchOutcome.id).execution_options(yield_per=BATCH))
    for oid, sid, run_id, kind, at, outcome, failure_kind, detail, status, url, number in session.execute(query):
        yield {"id": oid, "source": sid, "run": run_id, "run_kind": kind, "at": _when(at), "outcome": outcome,
               "failure_kind": failure_kind, "detail": hide_local_paths(detail), "http_status": status,
               "url": published_url(url), "version": number}


OUTCOMES = Table("outcomes", "What every fetch (or imported page) of every source came to.", (
    Field("id", "the outcome's number in the record", "integer"),
    Field("source", "the source id"),
    Field("run", "the run it belongs to", "integer"),
    Field("run_kind", "crawl, import, reextract or reanalyse"),
    Field("at", "when the page was fetched (for imports: when it was saved)", "time"),
    Field("outcome", "first, unchanged, changed or failed"),
    Field("failure_kind", "why a failed fetch did not become a version: http_error, bot_challenge, too_short, … "
                          "(README, \"Fetch failures\")"),
    Field("detail", "the failure in words (an imported file named by its file name alone)"),
    Field("http_status", "the HTTP status, when there was one", "integer"),
    Field("url", "the URL that failed; for a file imported without a url, its file name alone"),
    Field("version", "the version it recorded or confirmed", "integer"),
), _outcome_rows, lambda s: _count_and_max(s, FetchOutcome.id))


# runs ----------------------------------------------------------------------------------------------------------

def _run_rows(session: Session) -> Iterator[dict[str, Any]]:
    for run in session.scalars(select(Run).order_by(Run.id)):
        # The record counts an import's files where a crawl counts its sources; an imported file is no check,
        # so the two are told apart here as runs.html tells them apart (its Checked and Imported columns).
        imported = run.kind == RunKind.IMPORT
        yield {"id": run.id, "kind": run.kind, "status": run.status, "started_at": _when(run.started_at),
               "finished_at": _when(run.finished_at), "performed_at": _when(run.performed_at),
               "performed_until": _when(run.performed_until),
               "sources_checked": 0 if imported else run.sources_checked,
               "imported": run.sources_checked if imported else 0,
               "new_versions": run.new_versions, "changes": run.changes, "failures": run.failures}


RUNS = Table("runs", "Every run: crawls, imports, re-extractions, re-analyses and news nights.", (
    Field("id", "the run's number", "integer"),
    Field("kind", "crawl, import, reextract, reanalyse or news"),
    Field("status", "ok, partial, failed, aborted or running"),
    Field("started_at", "the record's time it began at: for an import, its first file's date", "time"),
    Field("finished_at", "the record's time it ended at: for an import, its last file's date", "time"),
    Field("performed_at", "when it was performed, by the clock (for a crawl, started_at); null for an import "
                          "recorded before this was kept", "time"),
    Field("performed_until", "when it ended, by the clock; null while it runs, for an aborted run and for an "
                             "import recorded before this was kept", "time"),
    Field("sources_checked", "the sources it went through: fetched (a crawl), re-derived (reextract), re-analysed "
                             "(reanalyse) or read (a news night's news sources); 0 for an import, whose files are "
                             "no checks", "integer"),
    Field("imported", "for an import, the files it recorded (each a saved page of a source); 0 for any other run",
          "integer"),
    Field("new_versions", "versions it recorded: a source's first text or a changed one (a news night: new article "
                          "versions)", "integer"),
    Field("changes", "changes it recorded: a text that differs from the source's version before it (a news night: "
                     "new editions of known articles)", "integer"),
    Field("failures", "fetches (for an import: imported files; for a news night: news sources) that failed",
          "integer"),
), _run_rows, lambda s: _count_and_max(s, Run.id) + (
    _when(s.scalar(select(func.max(Run.finished_at)))), s.scalar(select(func.count()).where(Run.finished_at.is_(None)))))


# claims --------------------------------------------------------------------------------------------------------

def _claim_rows(session: Session) -> Iterator[dict[str, Any]]:
    states = {row.claim_id: row for row in session.scalars(select(ClaimStateRow))}
    query = (select(ClaimDeclarationRow).where(ClaimDeclarationRow.id.in_(
        select(func.max(ClaimDeclarationRow.id)).group_by(ClaimDeclarationRow.claim_id)))
        .order_by(ClaimDeclarationRow.claim_id))
    for row in session.scalars(query):
        spec, state = row.spec or {}, states.get(row.claim_id)
        yield {"id": row.claim_id, "vendor": spec.get("vendor"), "statement": spec.get("statement", {}),
               "topics": list(spec.get("topics", [])), "said_by": spec.get("said_by") or None,
               "declared": row.removed_at is None, "removed_at": _when(row.removed_at),
               "status": state.status if state else None, "since": _when(state.since) if state else None,
               "cause": state.cause if state else None, "declaration": spec}


def _claim_fingerprint(session: Session) -> tuple[Any, ...]:
    return (_count_and_max(session, ClaimDeclarationRow.id)
            + (_when(session.scalar(select(func.max(ClaimDeclarationRow.removed_at)))),)
            + (_when(session.scalar(select(func.max(ClaimStateRow.updated_at)))),))


CLAIMS = Table("claims", "Every claim ever declared about a vendor's data practices, as last declared, with its "
               "current status (README, \"Claims\").", (
    Field("id", "the claim id, e.g. openai/temporary-chats-deleted-after-30-days; the site's page is "
                "claims/<id>.html"),
    Field("vendor", "whose practices the claim is about"),
    Field("statement", "the claim in words, by language: {en: …, de: …}", "object"),
    Field("topics", "flag categories the claim is about", "list"),
    Field("said_by", "who made the claim, when it is not the vendor"),
    Field("declared", "whether the claim is still in the claims files", "boolean"),
    Field("removed_at", "when it left the claims files (its record is kept)", "time"),
    Field("status", f"{', '.join(ClaimStatus)}; empty while no document of its scope is recorded"),
    Field("since", "when the claim took that status", "time"),
    Field("cause", f"what caused it: {', '.join(Cause)}"),
    Field("declaration", "the declaration as evaluated: scope, evidence matchers with their patterns, first "
                         "appearance, note", "object"),
), _claim_rows, _claim_fingerprint)


def _claim_event_fingerprint(session: Session) -> tuple[Any, ...]:
    return _count_and_max(session, ClaimEventRow.id) + (
        session.scalar(select(func.count()).where(ClaimEventRow.withdrawn_at.is_not(None))),)


def _claim_event_rows(session: Session) -> Iterator[dict[str, Any]]:
    query = select(ClaimEventRow).order_by(ClaimEventRow.id).execution_options(yield_per=BATCH)
    for row in session.scalars(query):
        yield {"id": row.id, "claim": row.claim_id, "previous": row.previous, "status": row.status,
               "since": _when(row.since), "cause": row.cause, "source": row.source_id, "version": row.version,
               "change": row.change_id, "announced": bool(row.announce), "removed": list(row.removed or []),
               "added": list(row.added or []), "reevaluated_at": _when(row.reevaluated_at),
               "recorded_at": _when(row.recorded_at), "withdrawn_at": _when(row.withdrawn_at)}


CLAIM_EVENTS = Table("claim_events", "Every change of a claim's status, with the change of a document that caused "
                     "it; events are only appended (one a later re-evaluation no longer finds is kept, withdrawn).", (
    Field("id", "the event's number in the record", "integer"),
    Field("claim", "the claim id"),
    Field("previous", "the status before (empty: not tracked before)"),
    Field("status", "the status after"),
    Field("since", "when the version that caused it was first seen", "time"),
    Field("cause", f"what caused it: {', '.join(Cause)}"),
    Field("source", "the source whose version caused it"),
    Field("version", "that version's number", "integer"),
    Field("change", "the change (changes table) that caused it", "integer"),
    Field("announced", "whether the claims feed and notifications announced it (a vendor's own rewording)",
          "boolean"),
    Field("removed", "the claim's evidence sentences that ended in that step", "list"),
    Field("added", "the claim's evidence sentences that began in that step", "list"),
    Field("reevaluated_at", "for an event found when the claim's history was evaluated again: when", "time"),
    Field("recorded_at", "when the event was recorded", "time"),
    Field("withdrawn_at", "when a re-evaluation of the history no longer found it", "time"),
), _claim_event_rows, _claim_event_fingerprint)


# news coverage: what the coverage pages publish, never an article's text --------------------------------------

# In `Session.info`: the coverage read once for both news tables of one export.
_COVERAGE = "policywatch.export.coverage"


def _coverage(session: Session) -> list[Any]:
    """Every article as the coverage pages show it, with all its published mentions (the pages list the newest
    10,000; the export has them all), by id."""
    found = session.info.get(_COVERAGE)
    if found is None:
        from reports.news_data import load_coverage  # the news readers, imported by an export only

        found = session.info[_COVERAGE] = sorted(load_coverage(session, mention_limit=None), key=lambda a: a.id)
    return found


def _article_rows(session: Session) -> Iterator[dict[str, Any]]:
    for a in _coverage(session):
        yield {"id": a.id, "url": a.url, "title": a.title, "outlet": a.outlet, "outlet_type": a.outlet_type,
               "news_source": a.news_source_id, "language": a.language, "author": a.author,
               "published": a.published, "published_at": _when(a.published_at), "modified": a.modified,
               "first_seen": _when(a.first_seen), "status": a.status, "tdm_reserved": a.tdm_reserved,
               "vendors": list(a.vendors), "topics": list(a.topics), "flags": list(a.flags),
               "versions": len(a.editions), "corrections": sum(e.is_correction for e in a.editions),
               "claims": sorted(a.claims), "syndicated": sorted(c.id for c in a.copies)}


def _article_fingerprint(session: Session) -> tuple[Any, ...]:
    # Every fetch of an article moves it (the export is dated by the newest), every new version, any article's
    # last check.
    return (_count_and_max(session, ArticleFetch.id) + _count_and_max(session, ArticleVersion.id)
            + _count_and_max(session, ArticleRow.last_checked))


def _mention_fingerprint(session: Session) -> tuple[Any, ...]:
    # A stale repetition is read from the claims' timelines: those move it too, as do readers' verdicts.
    return (_count_and_max(session, MentionRow.id) + _count_and_max(session, MentionRow.reviewed_at)
            + (session.scalar(select(func.count()).where(MentionRow.review == MentionReview.REJECTED)),)
            + _claim_event_fingerprint(session))


ARTICLES = Table("articles", "Every news article found about a tracked vendor, as the coverage pages show it: its "
                 "text is not exported (articles are quoted, never republished; README, \"News coverage\").", (
    Field("id", "the article's id; the site's page is coverage/<id>.html"),
    Field("url", "its canonical address"),
    Field("title", "its title"),
    Field("outlet", "the outlet that published it"),
    Field("outlet_type", "the outlet's kind, as its news source is declared"),
    Field("news_source", "the declared news source it was found through"),
    Field("language", "its language (en, de, fr)"),
    Field("author", "its author, as the page names them"),
    Field("published", "its publication time as the page declares it: a date, or a time with the page's own offset"),
    Field("published_at", "its publication time in UTC, the page's or else its feed's", "time"),
    Field("modified", "its modification time as the page declares it"),
    Field("first_seen", "when it was first fetched", "time"),
    Field("status", "readable, paywall, consent_wall or unavailable"),
    Field("tdm_reserved", "whether the publisher reserves text and data mining: only quotable sentences are kept",
          "boolean"),
    Field("vendors", "the tracked vendors it is about", "list"),
    Field("topics", "the flag categories it is about", "list"),
    Field("flags", "the flags of its newest version's sentences", "list"),
    Field("versions", "how many versions (editions) of it were recorded", "integer"),
    Field("corrections", "how many of them are corrections", "integer"),
    Field("claims", "the claims its newest version mentions (mentions table)", "list"),
    Field("syndicated", "the ids of the other articles of its syndication cluster (the same story elsewhere)",
          "list"),
), _article_rows, _article_fingerprint)


_STATUS_BY_LABEL = {status.label: str(status) for status in ClaimStatus}


def _mention_rows(session: Session) -> Iterator[dict[str, Any]]:
    for a in _coverage(session):
        for m in sorted(a.mentions, key=lambda m: m.id):
            yield {"id": m.id, "claim": m.claim_id, "article": m.article_id, "stance": m.stance, "cue": m.cue,
                   "review": m.review, "appeared": _when(m.appeared), "stale": m.stale,
                   "claim_status_when_published": _STATUS_BY_LABEL.get(m.status_then or ""),
                   "sentence": m.quote.sentence, "spans": [list(span) for span in m.quote.spans]}


MENTIONS = Table("mentions", "Every sentence of an article's newest version that mentions a claim, quoted as the "
                 "article's page quotes it; a mention a reader rejected, or one past the article's quotation "
                 "budget, is left out as the site leaves it out.", (
    Field("id", "the mention's number in the record", "integer"),
    Field("claim", "the claim it mentions (claims table)"),
    Field("article", "the article it is in (articles table)"),
    Field("stance", "repeats, reports or disputes: what the sentence does with the claim"),
    Field("cue", "the words that decided a reports or disputes stance"),
    Field("review", "unreviewed or confirmed (a reader's verdict)"),
    Field("appeared", "when the article appeared: its publication time, never later than it was first seen",
          "time"),
    Field("stale", "a stale repetition: it repeats the claim while the vendor no longer backed it", "boolean"),
    Field("claim_status_when_published", "the claim's status when the article appeared"),
    Field("sentence", "the sentence as quoted (cut around the claim's words when long)"),
    Field("spans", "where the claim's words are in the sentence: [[start, end], …]", "list"),
), _mention_rows, _mention_fingerprint)


TABLES: tuple[Table, ...] = (SOURCES, VERSIONS, CHANGES, OUTCOMES, RUNS, CLAIMS, CLAIM_EVENTS, ARTICLES, MENTIONS)


def newest_record_time(session: Session) -> datetime | None:
    """The time the export is dated by: the newest fetch or import in it, of a policy or of a news article."""
    found = [t for t in (session.scalar(select(func.max(FetchOutcome.at))),
                         session.scalar(select(func.max(ArticleFetch.at)))) if t is not None]
    return max(found) if found else None
