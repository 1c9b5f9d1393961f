"""`policywatch export`: the record as a dated ZIP of tables with a README; the same record gives the same
bytes; `report` publishes the latest one."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import zipfile
from pathlib import Path

from conftest import write_declarations
from policywatch.localserver import Page
from reports.export.tables import TABLES
from sqlalchemy import select
from storage import texts as version_texts
from storage.db import make_engine, reading, session_factory
from storage.models import Version

OLD = b"<html><body><main><h1>Chats</h1><p>We keep temporary chats for 30 days, then delete them.</p></main></body></html>"
NEW = b"<html><body><main><h1>Chats</h1><p>We keep temporary chats for 90 days, then delete them.</p></main></body></html>"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lines(archive: zipfile.ZipFile, name: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in archive.read(name).decode("utf-8").splitlines()]


def test_export_is_complete_dated_described_and_byte_identical(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server.routes.update({"/chats": Page(OLD), "/gone": Page(b"no", status=404)})
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "t/chats", "title": "Chat retention", "urls": ["/chats"], "select": "main"},
        {"id": "t/gone", "title": "Gone", "urls": ["/gone"], "select": "main"},
    ])
    cli = make_cli(decl)
    empty = cli("export", "--out", str(tmp_path / "nothing"), check=False)
    assert empty.returncode == 2 and "no database at" in empty.stderr
    cli("crawl", "--now", "2026-06-01T03:00:00Z", check=False)
    server.routes["/chats"] = Page(NEW)
    cli("crawl", "--now", "2026-06-02T03:00:00Z", check=False)

    out = tmp_path / "exports"
    first = cli("export", "--out", str(out))
    path = out / "policywatch-dataset-2026-06-02.zip"
    assert first.stdout.startswith(f"wrote {path} (")
    # The bundled claims are declared (none is about Testco, so none has a status event).
    assert "; sources 2, versions 2, changes 1, outcomes 4, runs 2, claims " in first.stdout
    assert ", claim_events 0, articles 0, mentions 0); " in first.stdout
    assert "newest record 2026-06-02T03:00:00Z" in first.stdout
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names == sorted(names) == ["README.md", "articles.jsonl", "changes.jsonl", "claim_events.jsonl",
                                          "claims.jsonl", "mentions.jsonl", "outcomes.jsonl", "runs.jsonl",
                                          "sources.jsonl", "versions.jsonl"]
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        readme = archive.read("README.md").decode("utf-8")
        for table in TABLES:
            assert f"### {table.name}.jsonl" in readme
            assert all(f"| `{f.name}` |" in readme for f in table.fields), table.name
        assert "## Licences" in readme and "(Testco)" in readme
        (change,) = lines(archive, "changes.jsonl")
        assert (change["source"], change["from_version"], change["to_version"]) == ("t/chats", 1, 2)
        assert change["flags"] == ["retention"] and change["severity"] == "high" and change["announced"] is True
        assert "30 days → 90 days" in change["summary"] and change["evidence"][0]["category"] == "retention"
        versions = lines(archive, "versions.jsonl")
        engine = make_engine(f"sqlite:///{cli.db}")
        with reading(session_factory(engine)) as session:
            stored = [(v.source_id, v.number, version_texts.of(session, v))
                      for v in session.scalars(select(Version).order_by(Version.source_id, Version.number))]
        engine.dispose()
        assert [(v["source"], v["number"], v["text"]) for v in versions] == stored
        assert all(hashlib.sha256(v["text"].encode("utf-8")).hexdigest() == v["sha256"] for v in versions), \
            "the export carries the plain text its sha256 names, not the stored compressed form"
        assert versions[0]["recorded_by"] == "crawl" and versions[0]["snapshots"][0]["http_status"] == 200
        outcomes = lines(archive, "outcomes.jsonl")
        assert [(o["source"], o["outcome"], o["failure_kind"]) for o in outcomes if o["source"] == "t/gone"] == [
            ("t/gone", "failed", "http_error")] * 2
        assert [s["id"] for s in lines(archive, "sources.jsonl")] == ["t/chats", "t/gone"]
        assert [(r["id"], r["kind"], r["status"]) for r in lines(archive, "runs.jsonl")] == [
            (1, "crawl", "partial"), (2, "crawl", "partial")]

    digest = sha(path)
    again = cli("export", "--out", str(out))
    assert again.stdout.startswith(f"{path} is up to date") and sha(path) == digest
    (out / ".policywatch-export.json").unlink()
    rewritten = cli("export", "--out", str(out))
    assert rewritten.stdout.startswith("wrote ") and sha(path) == digest, "the same record gives the same bytes"

    cli("export", "--out", str(out), "--format", "csv")
    with zipfile.ZipFile(out / "policywatch-dataset-2026-06-02-csv.zip") as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("changes.csv").decode("utf-8"))))
        assert list(rows[0]) == [f.name for f in next(t for t in TABLES if t.name == "changes").fields]
        assert json.loads(rows[0]["flags"]) == ["retention"] and rows[0]["announced"] == "true"
        texts = list(csv.DictReader(io.StringIO(archive.read("versions.csv").decode("utf-8"))))
        assert texts[1]["text"] == stored[1][2], "multi-line texts survive CSV quoting"
    bad = cli("export", "--out", str(out), "--format", "xml", check=False)
    assert bad.returncode == 2 and "--format 'xml': use one of jsonl, csv" in bad.stderr

    cli("crawl", "--now", "2026-06-03T03:00:00Z", check=False)
    cli("export", "--out", str(out))
    assert (out / "policywatch-dataset-2026-06-03.zip").is_file() and path.is_file(), "earlier exports are kept"

    site = tmp_path / "site"
    cli("report", "--out", str(site))
    assert [p.name for p in (site / "data").glob("*.zip")] == ["policywatch-dataset-2026-06-03.zip"]
    assert sha(site / "data/policywatch-dataset-2026-06-03.zip") == sha(out / "policywatch-dataset-2026-06-03.zip")
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="data/policywatch-dataset-2026-06-03.zip" download' in index
    with zipfile.ZipFile(site / "data/policywatch-dataset-2026-06-03.zip") as archive:
        held = sorted(name.rsplit("/", 1)[-1].removesuffix(".jsonl") for name in archive.namelist()
                      if name.endswith(".jsonl"))
    listed = index.split("a file for each of ", 1)[1].split(":", 1)[0].split(", ")
    assert sorted(listed) == held and "claims" in listed, "the index names every table the download holds"
    cli("crawl", "--now", "2026-06-04T03:00:00Z", check=False)
    cli("report", "--out", str(site))
    assert [p.name for p in (site / "data").glob("*.zip")] == ["policywatch-dataset-2026-06-04.zip"], \
        "the site keeps the latest export only"


def test_the_export_holds_every_claim_and_each_status_event(tmp_path: Path) -> None:
    from claims_support import import_record

    cli = import_record(tmp_path)
    out = tmp_path / "exports"
    cli("export", "--out", str(out))
    with zipfile.ZipFile(out / "policywatch-dataset-2026-03-03.zip") as archive:
        claims = {c["id"]: c for c in lines(archive, "claims.jsonl")}
        events = lines(archive, "claim_events.jsonl")
    assert sorted(claims) == ["acme/hostile", "acme/no-sale", "acme/temporary-chats-deleted-after-30-days"]
    temporary = claims["acme/temporary-chats-deleted-after-30-days"]
    assert (temporary["status"], temporary["since"], temporary["cause"], temporary["declared"]) == (
        "weakened", "2026-03-02T06:00:00Z", "vendor_change", True)
    assert temporary["statement"]["de"] == "Acme AI löscht temporäre Chats nach 30 Tagen."
    assert temporary["declaration"]["scope"] == ["acme/help"]
    assert [(e["previous"], e["status"], e["since"], e["source"], e["version"], e["announced"])
            for e in events if e["claim"] == temporary["id"]] == [
        (None, "supported", "2026-03-01T06:00:00Z", "acme/help", 1, False),
        ("supported", "weakened", "2026-03-02T06:00:00Z", "acme/help", 2, True)]
    weakened = next(e for e in events if e["claim"] == temporary["id"] and e["status"] == "weakened")
    assert weakened["removed"] == ["We keep a copy for up to 30 days to monitor for abuse, then delete it."]
    assert weakened["change"] == 1
    with sqlite3.connect(cli.db) as db:
        assert len(events) == db.execute("select count(*) from claim_events").fetchone()[0]
