"""Broken and over-wide captures in real archived histories: held until confirmed, never versions by repetition,
and a too_short episode that ends when the page comes back.

The histories are real OpenAI series from ../shared/ota-data, as an archive
that records only changes has them, with the broken captures seen in such
archives put in: a header-only shell, a bundle of every document the vendor
publishes served at one URL, and another document served in place of this
one. Imports run in this process against a real SQLite file.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from ingest.declarations import load_sources
from ingest.extraction import ExtractionRules, extract_html, extract_markdown
from ingest.importer import import_manifest
from ingest.review import ReviewError, accept, candidates
from storage import texts as stored_texts
from storage.db import make_engine, reading, session_factory, upgrade
from storage.integrity import check
from storage.models import Change, FetchOutcome, Version

SID = "ota/privacy"
OTHERS = ("Terms of Service", "Commercial Terms", "Data Processor Agreement", "Acceptable Use Policy",
          "Developer Terms", "Trackers Policy", "Business Privacy Policy", "Privacy Policy")


def series(shared: Path, document: str, collection: str = "genai-contrib") -> list[tuple[datetime, str]]:
    """A real series of versions, oldest first, as (time, text)."""
    root = shared / "ota-data"
    rows = [r for r in csv.DictReader((root / "versions" / "index.csv").open(encoding="utf-8"))
            if r["collection"] == collection and r["service"] == "ChatGPT" and r["document_type"] == document]
    rows.sort(key=lambda r: r["fetch_date"])
    return [(datetime.fromisoformat(r["fetch_date"].replace("Z", "+00:00")), (root / r["path"]).read_text("utf-8"))
            for r in rows]


def bundle(shared: Path, page: str) -> str:
    """The page followed by every other ChatGPT document, as one URL served them all for a few days."""
    return "\n\n".join([page] + [series(shared, document)[-1][1] for document in OTHERS])


def normalised(texts: list[str]) -> list[str]:
    """The texts as the record keeps them (imported Markdown is normalised)."""
    return [extract_markdown(text, ExtractionRules()) for text in texts]


def versions_of(texts: list[str]) -> list[str]:
    """The versions a history of these texts has: normalised, each one different from the one before."""
    kept = normalised(texts)
    return [t for i, t in enumerate(kept) if i == 0 or t != kept[i - 1]]


class Archive:
    """A manifest of .md snapshots in a folder, imported in this process."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        (tmp / "sources.yaml").write_text(yaml.safe_dump({"sources": [
            {"id": SID, "vendor": "OpenAI", "title": "Privacy Policy", "document_type": "Privacy Policy",
             "language": "en", "urls": ["https://openai.com/policies/privacy-policy/"]}]}), encoding="utf-8")
        self.sources = load_sources(tmp / "sources.yaml")
        self.engine = make_engine(f"sqlite:///{tmp / 'a.db'}")
        upgrade(self.engine)
        self.factory = session_factory(self.engine)
        self.count = 0

    def add(self, entries: list[tuple[datetime, str]]) -> list[str]:
        lines = []
        for at, text in entries:
            self.count += 1
            name = f"e{self.count:04d}.md"
            (self.tmp / name).write_text(text, encoding="utf-8")
            lines.append(json.dumps({"source": SID, "at": at.isoformat(), "path": name}))
        manifest = self.tmp / f"m{self.count}.jsonl"
        manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report = import_manifest(self.factory, manifest, self.sources)
        return [r.failure.kind if r.failure else str(r.outcome) for r in report.applied]

    def outcomes(self) -> list[str]:
        with reading(self.factory) as session:
            return [o.failure_kind or o.outcome for o in session.scalars(
                select(FetchOutcome).order_by(FetchOutcome.at, FetchOutcome.id))]

    def versions(self) -> list[str]:
        with reading(self.factory) as session:
            return list(stored_texts.of_versions(session, session.scalars(select(Version).order_by(Version.number))).values())

    def changes(self) -> list[dict[str, Any]]:
        with reading(self.factory) as session:
            return [{"note": c.note, "words_added": c.words_added, "detected_at": c.detected_at}
                    for c in session.scalars(select(Change).order_by(Change.id))]


@pytest.fixture
def archive(tmp_path: Path):  # type: ignore[no-untyped-def]
    made = Archive(tmp_path)
    yield made
    made.engine.dispose()


def test_a_header_only_shell_never_becomes_a_version_by_repeating(shared: Path, archive: Archive) -> None:
    """The real In-App Purchases series: on 2025-09-12 the archive caught only the page's header (7 words for
    514). Seen on two nights in a row, as a nightly crawl sees it, it must still be refused."""
    real = series(shared, "In-App Purchases Policy")
    shell = next(text for _, text in real if len(text.split()) < 20)
    whole = [(at, text) for at, text in real if text != shell]
    shell_at = next(at for at, text in real if text == shell)
    entries = sorted(whole + [(shell_at, shell), (shell_at + timedelta(hours=12), shell)])
    assert archive.add(entries)[:4] == ["first", "too_short", "too_short", "unchanged"]
    assert archive.versions() == versions_of([text for _, text in whole])


def test_a_bundle_of_every_document_is_held_and_dropped(shared: Path, archive: Archive) -> None:
    """For a few days the privacy policy's URL served all of the vendor's terms (about ten times the text).
    The capture is held, the next entry shows it was a glitch, and nothing of it is announced; the real
    history around it is kept whole."""
    real = series(shared, "Privacy Policy")[:8]
    glitch_at = real[3][0] + timedelta(hours=6)
    glitch = bundle(shared, real[3][1])
    assert len(glitch.split()) > 8 * len(real[3][1].split())
    results = archive.add(sorted(real + [(glitch_at, glitch)]))
    assert results[4] == "pending"
    assert archive.outcomes()[4] == "dropped"
    assert check(archive.factory).problems == []
    assert archive.versions() == versions_of([text for _, text in real])
    assert len(archive.changes()) == len(archive.versions()) - 1
    assert max(c["words_added"] for c in archive.changes()) < 3000


def test_an_accepted_bundle_ends_its_too_short_episode_when_the_page_comes_back(shared: Path,
                                                                                archive: Archive) -> None:
    """A smaller bundle (three documents) is plausible as a change and becomes a version; every real version
    after it is under half of it. Those must not all be refused for ever: the first one plausible against the
    version before the bundle ends the episode, and the history goes on."""
    real = series(shared, "Privacy Policy")[:10]
    at = real[4][0] + timedelta(hours=6)
    small_bundle = "\n\n".join([real[4][1]] + [series(shared, d)[-1][1] for d in ("Terms of Service",
                                                                                 "Business Privacy Policy")])
    results = archive.add(sorted(real + [(at, small_bundle)]))
    assert results[5] == "changed" and results[6] == "changed", results
    assert "too_short" not in results
    assert archive.versions() == versions_of([t for _, t in real[:5]] + [small_bundle] + [t for _, t in real[5:]])


def test_another_document_in_place_of_this_one_waits_for_confirmation(shared: Path, archive: Archive) -> None:
    """A capture that keeps almost none of the page's wording is held; a later entry that follows on from it
    confirms it: it becomes a version first seen when it was captured, announced when it was confirmed."""
    real = series(shared, "Privacy Policy")[:3]
    terms = series(shared, "Terms of Service")
    later = real[-1][0]
    swapped = [(later + timedelta(days=1), terms[-2][1]), (later + timedelta(days=2), terms[-1][1])]
    results = archive.add(real + swapped)
    assert results[3:] == ["pending", "changed"], results
    assert check(archive.factory).problems == []
    versions = archive.versions()
    assert versions[-2:] == normalised([terms[-2][1], terms[-1][1]])
    confirmed = archive.changes()[-2]
    assert "held for confirmation" in confirmed["note"] and "confirmed by" in confirmed["note"]
    assert confirmed["detected_at"] == later + timedelta(days=2)
    with reading(archive.factory) as session:
        version = session.scalar(select(Version).where(Version.number == len(versions) - 1))
        assert version.first_seen == later + timedelta(days=1)


def test_a_refused_text_is_kept_and_can_be_accepted_on_review(shared: Path, archive: Archive) -> None:
    real = series(shared, "Privacy Policy")[:2]
    short = normalised(["\n\n".join(real[1][1].split("\n\n")[:12])])[0]  # the policy's opening only
    at = real[1][0] + timedelta(days=1)
    assert archive.add(real + [(at, short)])[-1] == "too_short"
    found = candidates(archive.factory, SID, archive.sources[SID])
    assert [(c.failure_kind, c.text, c.acceptable) for c in found] == [("too_short", short, True)]
    with pytest.raises(ReviewError, match="--note is required"):
        accept(archive.factory, SID, found[0].outcome_id, "  ", datetime.now(timezone.utc), archive.sources[SID])
    accept(archive.factory, SID, found[0].outcome_id, "the vendor split the policy in two",
           datetime.now(timezone.utc), archive.sources[SID])
    assert archive.versions()[-1] == short
    assert archive.changes()[-1]["note"] == "accepted on review: the vendor split the policy in two"
    assert candidates(archive.factory, SID, archive.sources[SID]) == []
    with pytest.raises(ReviewError, match="only a refused or held text"):
        accept(archive.factory, SID, found[0].outcome_id, "again", datetime.now(timezone.utc), archive.sources[SID])


def test_an_imported_page_cut_short_is_refused_where_earlier_pages_ended_properly(shared: Path,
                                                                                   tmp_path: Path) -> None:
    """The real EU privacy policy page of 2025-05-20, saved whole, then saved again cut off in the middle of
    a word well into the policy's text (more than half of its words are still there)."""
    page = (shared / "ota-data" / "snapshots" / "ChatGPT" / "Privacy Policy" / "2025-05-20T12-30-10Z.html").read_bytes()
    start, end = page.index(b"<main"), page.index(b"</main>")
    cut = start + int((end - start) * 0.7)
    while not page[cut:cut + 1].isalpha():
        cut += 1
    cut += 2  # inside the word
    (tmp_path / "whole.html").write_bytes(page)
    (tmp_path / "cut.html").write_bytes(page[:cut])
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": [
        {"id": SID, "vendor": "OpenAI", "title": "Privacy Policy", "document_type": "Privacy Policy",
         "language": "en", "urls": ["https://openai.com/policies/eu-privacy-policy/"], "select": "main",
         "remove": ['select[name="Locale Select"]', "main .sr-only"]}]}), encoding="utf-8")
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"source": SID, "at": "2025-05-20T12:30:10Z", "path": "whole.html"}) + "\n"
        + json.dumps({"source": SID, "at": "2025-05-21T12:30:10Z", "path": "cut.html"}) + "\n", encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    sources = load_sources(tmp_path / "sources.yaml")
    whole_text = extract_html(page, sources[SID].rules)
    cut_text = extract_html(page[:cut], sources[SID].rules)
    assert 0.5 * len(whole_text.split()) < len(cut_text.split()) < len(whole_text.split())
    report = import_manifest(factory, tmp_path / "m.jsonl", sources)
    assert [r.failure.kind if r.failure else r.outcome for r in report.applied] == ["first", "truncated"]
    assert "ends inside the document" in report.applied[1].failure.detail
    with reading(factory) as session:
        assert session.scalar(select(func.count()).select_from(Version)) == 1
    engine.dispose()


def test_the_review_command_lists_shows_and_accepts(shared: Path, archive: Archive, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from policywatch.cli import main

    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    real = series(shared, "Privacy Policy")[:2]
    short = normalised(["\n\n".join(real[1][1].split("\n\n")[:12])])[0]
    archive.add(real + [(real[1][0] + timedelta(days=1), short)])
    argv = ["--db", str(archive.tmp / "a.db"), "--sources", str(archive.tmp / "sources.yaml")]
    capsys.readouterr()
    assert main(argv + ["review", SID]) == 0
    listing = capsys.readouterr().out
    fetch = int(listing.split("fetch ", 1)[1].split()[0])
    assert "failed (too_short)" in listing and "can be accepted" in listing
    assert main(argv + ["review", SID, "--show", str(fetch)]) == 0
    assert capsys.readouterr().out == short
    assert main(argv + ["review", SID, "--accept", str(fetch)]) == 2
    assert "--note is required" in capsys.readouterr().err
    assert main(argv + ["claims", "evaluate"]) == 0  # the claims evaluated past the refused fetch
    capsys.readouterr()
    assert main(argv + ["review", SID, "--accept", str(fetch), "--note", "checked against the live page"]) == 0
    assert f"fetch {fetch} accepted as version 3" in capsys.readouterr().out
    assert main(argv + ["history", SID]) == 0
    assert "note: accepted on review: checked against the live page" in capsys.readouterr().out
    # Accepting confirms nothing: the version is last confirmed by its own fetch, not at the time of the review.
    assert main(argv + ["history", SID, "--json"]) == 0
    accepted = json.loads(capsys.readouterr().out)["versions"][-1]
    fetched = (real[1][0] + timedelta(days=1)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (accepted["number"], accepted["first_seen"], accepted["last_confirmed"]) == (3, fetched, fetched)
    # The claims were evaluated on it, though its fetch was recorded before they last were: every piece of
    # evidence still open there was found in v3.
    with sqlite3.connect(archive.tmp / "a.db") as db:
        assert db.execute("select version from claim_sources where source_id = ?", (SID,)).fetchone() == (3,)
        open_before = db.execute("select count(*) from claim_evidence where source_id = ? and end_reason is null "
                                 "and last_version < 3", (SID,)).fetchone()
        ended_at_v3 = db.execute("select count(*) from claim_evidence where source_id = ? and end_version = 3",
                                 (SID,)).fetchone()
    assert open_before == (0,) and ended_at_v3[0] > 0, ended_at_v3
