"""Tamper evidence: the hash-chained log of every version, in the database (SQLite and PostgreSQL), on the
published site, checked by `policywatch check` and by the standalone verify-ledger.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from analysis.vocabulary import ChangeKind
from ingest.record import record_text
from policywatch.cli import main
from reports import urls
from reports.site import build_site
from storage import ledger, texts, verify_ledger
from storage.db import alembic_config, make_engine, session_factory, transaction, upgrade
from storage.integrity import check
from storage.models import LedgerEntry, SourceFields
from storage.record import ChangeFacts, RawPage, record_pending, start_run, upsert_source, version_from_outcome
from conftest import fresh_postgres_database

PG_URL = os.environ.get("POLICYWATCH_TEST_POSTGRES_URL")
T0 = datetime(2026, 1, 1, 6, tzinfo=timezone.utc)
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")


def source(sid: str) -> SourceFields:
    return SourceFields(id=sid, vendor="Testco", title=sid, document_type="Privacy Policy", language="en",
                        urls=(f"http://127.0.0.1/{sid}",))


def page(body: str) -> list[RawPage]:
    return [RawPage("http://127.0.0.1/p", "http://127.0.0.1/p", 200, "text/html", body.encode())]


def factory_for(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    upgrade(engine)
    return session_factory(engine)


def record(factory: sessionmaker[Session], sid: str, day: int, body: str) -> None:
    with transaction(factory) as s:
        upsert_source(s, source(sid))
        run = start_run(s, "crawl", T0 + timedelta(days=day))
        record_text(s, run_id=run.id, source_id=sid, at=T0 + timedelta(days=day), pages=page(f"<p>{body}</p>"),
                    text=body + "\n")


def a_small_record(factory: sessionmaker[Session]) -> None:
    """Two sources, interleaved; one confirmation (no entry); one held capture made a version later."""
    record(factory, "t/a", 0, "We keep chats for 30 days.")
    record(factory, "t/b", 0, "We share nothing.")
    record(factory, "t/a", 1, "We keep chats for 90 days.")
    record(factory, "t/b", 2, "We share nothing.")
    with transaction(factory) as s:
        run = start_run(s, "crawl", T0 + timedelta(days=3))
        held = record_pending(s, run_id=run.id, source_id="t/b", at=T0 + timedelta(days=3),
                              pages=page("<p>all new</p>"), text="Everything is new here.\n", detail="held")
        version_from_outcome(s, held, "Everything is new here.\n",
                             ChangeFacts(kind=ChangeKind.SUBSTANTIVE, words_added=4, words_removed=3,
                                         lines_added=1, lines_removed=1),
                             at=T0 + timedelta(days=4), note="confirmed")


def log(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    with transaction(factory) as s:
        return [ledger.as_json(e) for e in ledger.entries(s)]


def test_every_version_is_chained_to_its_source_and_to_the_log(db_url: str) -> None:
    factory = factory_for(db_url)
    a_small_record(factory)
    entries = log(factory)
    assert [(e["subject"], e["number"]) for e in entries] == [("t/a", 1), ("t/b", 1), ("t/a", 2), ("t/b", 2)]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert [e["prev"] for e in entries] == [None] + [e["hash"] for e in entries[:-1]]
    assert [e["prev_subject"] for e in entries] == [None, None, entries[0]["hash"], entries[1]["hash"]]
    assert entries[3]["first_seen"] == "2026-01-04T06:00:00Z"  # the held capture: first seen when fetched
    assert entries[2]["text_sha256"] == hashlib.sha256(b"We keep chats for 90 days.\n").hexdigest()
    assert entries[2]["snapshots"] == [hashlib.sha256(b"<p>We keep chats for 90 days.</p>").hexdigest()]
    for entry in entries:
        fields = {k: v for k, v in entry.items() if k != "hash"}
        assert entry["hash"] == hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":"))
                                               .encode()).hexdigest()
    assert check(factory).problems == []


def _forge(session: Session, forged: str) -> None:
    """What anyone holding the database can do: store another text and point t/a v2 at its sha256."""
    sha = texts.store(session, forged, None)
    session.execute(text("UPDATE versions SET sha256 = :h WHERE source_id = 't/a' AND number = 2"), {"h": sha})


def test_a_text_rewritten_with_its_sha256_is_named_by_check(db_url: str) -> None:
    factory = factory_for(db_url)
    a_small_record(factory)
    forged = "We keep chats for 7 days.\n"
    with transaction(factory) as s:
        _forge(s, forged)
    problems = check(factory).problems
    assert problems == ["t/a v2: does not match its ledger entry 3 (text)"]


def test_an_entry_rewritten_to_match_breaks_the_links_after_it(db_url: str) -> None:
    factory = factory_for(db_url)
    a_small_record(factory)
    forged = "We keep chats for 7 days.\n"
    sha = hashlib.sha256(forged.encode()).hexdigest()
    with transaction(factory) as s:
        _forge(s, forged)
        entry = s.get_one(LedgerEntry, 3)
        entry.text_sha256 = sha
        entry.hash = ledger.entry_hash(ledger.as_json(entry))
    problems = check(factory).problems
    assert "ledger entry 4 (version t/b v2): does not link to the entry before it" in problems
    assert not any(p.startswith("t/a v2") for p in problems)
    with transaction(factory) as s:
        s.get_one(LedgerEntry, 1).first_seen = "2025-01-01T00:00:00Z"
    assert "ledger entry 1 (version t/a v1): its hash does not match its contents" in check(factory).problems


def test_the_migration_chains_an_existing_record_as_recording_does(db_url: str) -> None:
    factory = factory_for(db_url)
    a_small_record(factory)
    appended = log(factory)
    engine = factory.kw["bind"]
    config = alembic_config(db_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0014")
    engine.dispose()
    upgrade(make_engine(db_url))
    assert log(factory_for(db_url)) == appended


def test_writers_recording_at_once_on_postgresql_never_fork_the_log(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip("POLICYWATCH_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    with fresh_postgres_database(PG_URL) as url:
        factory = factory_for(url)
        errors: list[BaseException] = []

        def writer(w: int) -> None:
            try:
                for i in range(8):
                    record(factory, f"t/w{w}-{i}", 0, f"Writer {w} source {i}.")
                    record(factory, f"t/w{w}-{i}", 1, f"Writer {w} source {i}, changed.")
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        entries = log(factory)
        assert len(entries) == 48
        assert list(verify_ledger.chain_problems(entries)) == []
        assert check(factory).problems == []
        factory.kw["bind"].dispose()


def test_the_verifier_knows_where_the_site_puts_texts_and_snapshots() -> None:
    for sid in ("openai/privacy-policy-eu", "Odd Id/With Spaces", "../escape", "v/1.md", "v/index.html", "v.atom/x",
                "v/" + "a" * 201, "v/" + "a" * 200, "v/policy.md"):
        assert urls.version_texts(sid) == f"versions/{verify_ledger.source_dir(sid)}/_texts.js"
    assert urls.raw_snapshot("ab" * 32) == f"raw/{'ab' * 32}.txt"


# The published site.

@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ledger-site")
    factory = factory_for(f"sqlite:///{root / 'pw.db'}")
    a_small_record(factory)
    record(factory, "Odd Id", 5, "An id the site hashes into its folder name.")
    build_site(factory, root / "site", "https://example.test/", workers=1)
    return root / "site"


@pytest.fixture
def site(built_site: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(built_site, copy)
    return copy


def verify(site: Path, *extra: str) -> tuple[int, str]:
    """`policywatch check --site`, and the shipped script under the system's Python: both must agree."""
    done = subprocess.run([sys.executable, "-m", "policywatch", "check", "--site", str(site), *extra],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    if SYSTEM_PYTHON is not None:
        alone = subprocess.run([SYSTEM_PYTHON, "-I", str(site / "verify-ledger.py"), str(site), *extra],
                               capture_output=True, text=True, timeout=120, cwd="/")
        assert (alone.returncode, alone.stdout) == (done.returncode, done.stdout), alone.stderr
    return done.returncode, done.stdout


def test_a_built_site_verifies_and_shows_its_head(site: Path) -> None:
    lines = (site / "ledger.jsonl").read_text().splitlines()
    assert len(lines) == 5
    head = json.loads(lines[-1])["hash"]
    assert head in (site / "index.html").read_text()
    status, out = verify(site)
    assert status == 0, out
    assert f"ok: 0 problem(s); 5 ledger entries, head {head}; 5 raw snapshots and 10 published texts checked" in out


def _rewrite_texts(site: Path, sid: str, number: str, new: str) -> None:
    path = site / urls.version_texts(sid)
    data = path.read_text()
    texts = json.loads(data[len("policywatchVersions("):-len(");\n")])
    texts[number] = new
    path.write_text(f"policywatchVersions({json.dumps(texts)});\n")


def _entry(site: Path, seq: int) -> dict[str, Any]:
    return json.loads((site / "ledger.jsonl").read_text().splitlines()[seq - 1])


TAMPERING: dict[str, Any] = {
    "a raw snapshot": (
        lambda site: (site / f"raw/{_entry(site, 3)['snapshots'][0]}.txt").write_bytes(b"<p>other</p>"),
        lambda site: f"PROBLEM: raw/{_entry(site, 3)['snapshots'][0]}.txt: its bytes do not hash to its name "
                     "(named by entry 3 (version t/a v2))"),
    "a missing raw snapshot": (
        lambda site: (site / f"raw/{_entry(site, 1)['snapshots'][0]}.txt").unlink(),
        lambda site: f"PROBLEM: raw/{_entry(site, 1)['snapshots'][0]}.txt: missing (named by entry 1 (version t/a v1))"),
    "a published text": (
        lambda site: _rewrite_texts(site, "t/a", "2", "We keep chats for 7 days.\n"),
        lambda site: "PROBLEM: versions/t/a/_texts.js: v2 does not match entry 3 (version t/a v2)"),
    "a text in a hashed folder": (
        lambda site: _rewrite_texts(site, "Odd Id", "1", "Forged.\n"),
        lambda site: f"PROBLEM: versions/{verify_ledger.source_dir('Odd Id')}/_texts.js: v1 does not match entry 5 "
                     "(version Odd Id v1)"),
    "a Markdown file": (
        lambda site: (site / "versions/t/b/2.md").write_text("Nothing is new here.\n"),
        lambda site: "PROBLEM: versions/t/b/2.md: v2 does not match entry 4 (version t/b v2)"),
    "a Markdown file removed": (
        lambda site: (site / "versions/t/b/2.md").unlink(),
        lambda site: "PROBLEM: versions/t/b/2.md: missing (linked by versions/t/b/2.html; entry 4 (version t/b v2))"),
    "a raw snapshot no entry names (a confirming fetch)": (
        lambda site: (site / f"raw/{'0' * 64}.txt").write_bytes(b"<p>We keep chats for 7 days.</p>"),
        lambda site: f"PROBLEM: raw/{'0' * 64}.txt: its bytes do not hash to its name"),
    "an entry's contents": (
        lambda site: (site / "ledger.jsonl").write_text((site / "ledger.jsonl").read_text().replace(
            '"first_seen":"2026-01-02T06:00:00Z"', '"first_seen":"2025-01-02T06:00:00Z"')),
        lambda site: "PROBLEM: ledger.jsonl: entry 3 (version t/a v2): its hash does not match its contents"),
    "an entry removed": (
        lambda site: (site / "ledger.jsonl").write_text(
            "".join(line + "\n" for i, line in enumerate((site / "ledger.jsonl").read_text().splitlines()) if i != 1)),
        lambda site: "PROBLEM: ledger.jsonl: entry 3 (version t/a v2): does not link to the entry before it"),
}


@pytest.mark.parametrize("what", sorted(TAMPERING))
def test_a_tampered_site_is_named_by_file_and_entry(site: Path, what: str) -> None:
    tamper, expected = TAMPERING[what]
    message = expected(site)
    tamper(site)
    status, out = verify(site)
    assert status == 1
    assert message in out.splitlines(), out


def test_the_published_markdown_files_are_checked_too(site: Path) -> None:
    # Each version's text is published twice: in the source's texts script and as versions/<source>/<n>.md.
    assert len(list((site / "versions").rglob("*.md"))) == 5
    status, out = verify(site)
    assert status == 0 and "10 published texts checked" in out, out
    (site / "versions/t/b/2.md").write_text("Nothing is kept.\n")
    status, out = verify(site)
    assert status == 1 and any("versions/t/b/2.md" in line for line in out.splitlines() if "PROBLEM" in line), out


def test_each_version_page_names_its_entry_in_the_text_to_cite(site: Path) -> None:
    entry = _entry(site, 3)
    assert (entry["subject"], entry["number"]) == ("t/a", 2)
    page = (site / "versions/t/a/2.html").read_text()
    assert f'<dd id="ledger-entry">3 of <a href="../../../ledger.jsonl">ledger.jsonl</a>, hash <code class="hash">' \
           f'{entry["hash"]}</code>' in page
    citation = page.split('<pre class="citation">', 1)[1].split("</pre>", 1)[0]
    assert f"ledger entry 3 {entry['hash']}" in citation


def test_the_index_must_show_the_head(site: Path) -> None:
    index = site / "index.html"
    index.write_text(index.read_text().replace(_entry(site, 5)["hash"], "0" * 64))
    status, out = verify(site)
    assert status == 1 and f"PROBLEM: index.html: does not show the ledger's head {_entry(site, 5)['hash']}" in out


# Signing.

def keypair(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True,
                   timeout=30)
    return key


def allowed_signers(folder: Path, key: Path, principal: str) -> Path:
    path = folder / f"allowed-{principal}"
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    path.write_text(f'{principal} namespaces="policywatch-ledger" {kind} {blob}\n')
    return path


def test_a_signed_ledger_verifies_with_its_key_and_with_no_other(tmp_path: Path) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen (OpenSSH) is not installed: ledger signatures cannot be made or checked")
    factory = factory_for(f"sqlite:///{tmp_path / 'pw.db'}")
    a_small_record(factory)
    key, other = keypair(tmp_path, "publisher"), keypair(tmp_path, "someone-else")
    stats = build_site(factory, tmp_path / "site", "https://example.test/", workers=1, signing_key=key)
    assert stats.problems == ()
    site = tmp_path / "site"
    assert (site / "ledger.jsonl.sig").read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    assert 'href="ledger.jsonl.sig">signed</a>' in (site / "index.html").read_text()
    good = allowed_signers(tmp_path, key, "publisher@example.test")
    status, out = verify(site, "--allowed-signers", str(good))
    assert status == 0 and "note: ledger.jsonl.sig: a good signature by publisher@example.test" in out, out
    assert "signature verified" in out
    status, out = verify(site)
    assert status == 0 and "signature not verified" in out
    status, out = verify(site, "--allowed-signers", str(allowed_signers(tmp_path, other, "else@example.test")))
    assert status == 1 and "PROBLEM: ledger.jsonl.sig: not made by a key in" in out
    # A ledger extended (or rewritten) after signing no longer matches the signature.
    record(factory, "t/a", 9, "We keep chats forever.")
    lines = [json.dumps(e, sort_keys=True, separators=(",", ":")) for e in log(factory)]
    (site / "ledger.jsonl").write_text("".join(line + "\n" for line in lines))
    status, out = verify(site, "--allowed-signers", str(good))
    assert status == 1 and "PROBLEM: ledger.jsonl.sig: does not verify against ledger.jsonl" in out
    # The next build signs the new head; a key that cannot sign leaves no signature behind.
    build_site(factory, site, "https://example.test/", workers=1, signing_key=key)
    assert verify(site, "--allowed-signers", str(good))[0] == 0
    stats = build_site(factory, site, "https://example.test/", workers=1, signing_key=tmp_path / "no-such-key")
    assert len(stats.problems) == 1 and "ledger.jsonl.sig not written: ledger_signing_key" in stats.problems[0]
    assert not (site / "ledger.jsonl.sig").exists()


# The command line.

def test_history_and_show_json_carry_each_version_s_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    db = tmp_path / "pw.db"
    factory = factory_for(f"sqlite:///{db}")
    a_small_record(factory)
    entries = {(e["subject"], e["number"]): e for e in log(factory)}
    capsys.readouterr()
    assert main(["--db", str(db), "history", "t/b", "--json"]) == 0
    versions = json.loads(capsys.readouterr().out)["versions"]
    assert [v["ledger"] for v in versions] == [
        {k: entries[("t/b", n)][k] for k in ("seq", "hash", "prev_subject", "prev")} for n in (1, 2)]
    assert main(["--db", str(db), "show", "t/a", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["ledger"]["hash"] == entries[("t/a", 2)]["hash"]
    assert shown["ledger"]["prev_subject"] == entries[("t/a", 1)]["hash"]
    forged = "We keep chats for 7 days.\n"
    with transaction(factory) as s:
        _forge(s, forged)
    assert main(["--db", str(db), "check"]) == 1
    assert "PROBLEM: t/a v2: does not match its ledger entry 3 (text)" in capsys.readouterr().out


def test_article_versions_are_a_chain_of_their_own_kind(db_url: str) -> None:
    from storage.news_record import (ArticleFields, EditionFacts, NewsSourceFields, PageFetch, record_article_fetch,
                                     upsert_article, upsert_news_source)

    factory = factory_for(db_url)
    record(factory, "t/a", 0, "We keep chats for 30 days.")
    article = "a" * 64
    texts = ["Vendor keeps chats.\n", "Vendor keeps chats.\n", "Vendor keeps chats, corrected.\n"]
    with transaction(factory) as s:
        upsert_news_source(s, NewsSourceFields(id="n/feed", kind="rss", language="en", outlet="Outlet",
                                               outlet_type="press", url="http://127.0.0.1/feed"))
        for day, body in enumerate(texts, start=1):
            at = T0 + timedelta(days=day)
            run = start_run(s, "news", at)
            upsert_article(s, ArticleFields(id=article, canonical_url="http://127.0.0.1/a", news_source_id="n/feed",
                                            outlet="Outlet", outlet_type="press"), at=at, status="readable")
            sha = hashlib.sha256(body.encode()).hexdigest()
            record_article_fetch(s, run_id=run.id, at=at, article_id=article,
                                 fetch=PageFetch(url="http://127.0.0.1/a", reason="new",
                                                 raw=f"<p>{body} {day}</p>".encode()),
                                 edition=EditionFacts(sha256=sha, text=body, tdm_reserved=False, words=3))
    entries = log(factory)
    assert [(e["kind"], e["subject"], e["number"]) for e in entries] == [
        ("version", "t/a", 1), ("article", article, 1), ("article", article, 2)]
    assert entries[2]["prev_subject"] == entries[1]["hash"] and entries[1]["prev_subject"] is None
    assert entries[1]["prev"] == entries[0]["hash"]
    assert entries[2]["snapshots"] == [hashlib.sha256(b"<p>Vendor keeps chats, corrected.\n 3</p>").hexdigest()]
    assert check(factory).problems == []
    forged = "Vendor never keeps chats.\n"
    with transaction(factory) as s:
        s.execute(text("UPDATE news_article_versions SET text = :t, sha256 = :h WHERE number = 2"),
                  {"t": forged, "h": hashlib.sha256(forged.encode()).hexdigest()})
    assert check(factory).problems == [f"article {article[:12]} v2: does not match its ledger entry 3 (text)"]
