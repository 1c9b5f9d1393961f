"""`policywatch import`: saved files enter the record exactly as fetched pages would."""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
from difflib import SequenceMatcher
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text as sql

from policywatch.cli import main

from storage import texts
from storage.db import make_engine, reading, session_factory
from test_crawl import counts

DECL = {"sources": [{"id": "t/policy", "vendor": "Testco", "title": "Policy", "document_type": "Privacy Policy",
                     "language": "en", "urls": ["https://example.test/policy"], "select": "main",
                     "filters": ["tracking-params"]}]}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_applies_in_time_order_and_twice_adds_nothing(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write(tmp_path / "sources.yaml", yaml.safe_dump(DECL))
    write(tmp_path / "a.html", "<main><p>We keep chats for 30 days. <a href='/x?utm_source=mail'>More</a></p></main>")
    write(tmp_path / "b.html", "<main><p>We keep chats for 30 days. <a href='/x?utm_source=web'>More</a></p></main>")
    write(tmp_path / "c.md", "We keep chats for 90 days. [More](/x)\n")
    write(tmp_path / "d.html", "<html><body><div>no main</div></body></html>")
    manifest = write(tmp_path / "manifest.jsonl", "\n".join(json.dumps(e) for e in [
        {"source": "t/policy", "at": "2026-03-03T00:00:00Z", "path": "c.md"},
        {"source": "t/policy", "at": "2026-03-01T00:00:00Z", "path": "a.html"},
        {"source": "t/policy", "at": "2026-03-02T00:00:00Z", "path": "b.html"},
        {"source": "t/policy", "at": "2026-03-04T00:00:00Z", "path": "d.html"},
    ]) + "\n")
    cli = make_cli(decl)
    out = cli("import", "--manifest", str(manifest), check=False)
    assert out.returncode == 1 and "selector_miss" in out.stdout
    first = counts(cli.db)
    assert (first["versions"], first["changes"], first["fetch_outcomes"]) == (2, 1, 4)
    history = cli.json("history", "t/policy")
    assert [o["outcome"] for o in history["outcomes"]] == ["first", "unchanged", "changed", "failed"]
    assert [v["first_seen"] for v in history["versions"]] == ["2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z"]
    assert cli("show", "t/policy", "--at", "2026-03-02T12:00:00Z").stdout == "We keep chats for 30 days. [More](/x)\n"

    again = cli("import", "--manifest", str(manifest))
    assert "4 already recorded" in again.stdout
    assert counts(cli.db) == first


def test_manifest_errors_name_the_line_and_store_nothing(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write(tmp_path / "sources.yaml", yaml.safe_dump(DECL))
    write(tmp_path / "a.html", "<main><p>Text.</p></main>")
    manifest = write(tmp_path / "m.jsonl", json.dumps({"source": "t/policy", "at": "2026-03-01T00:00:00Z", "path": "a.html"})
                     + "\n" + json.dumps({"source": "t/policy", "at": "yesterday", "path": "a.html"}) + "\n")
    cli = make_cli(decl)
    out = cli("import", "--manifest", str(manifest), check=False)
    assert out.returncode == 2
    assert f"{manifest}:2: field 'at': 'yesterday' is not an ISO-8601 time" in out.stderr
    assert not cli.db.exists() or counts(cli.db)["versions"] == 0
    write(manifest, json.dumps({"source": "t/nope", "at": "2026-03-01T00:00:00Z", "path": "a.html"}) + "\n")
    assert "field 'source': 't/nope' is not a declared source id" in cli("import", "--manifest", str(manifest), check=False).stderr
    write(manifest, json.dumps({"source": "t/policy", "at": "2026-03-01T00:00:00Z", "path": "gone.html"}) + "\n")
    assert "gone.html: no such file" in cli("import", "--manifest", str(manifest), check=False).stderr


def _plain(text: str) -> str:
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"[#*_>|\-=\[\]()\\`]", " ", text.replace("\u2060", "").replace("(opens in a new window)", ""))
    return " ".join(text.lower().split())


def test_real_openai_snapshots_import(shared: Path, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The 13 real snapshots from ../shared/ota-data, with the declarations that produced them."""
    snapshots = shared / "ota-data" / "snapshots"
    rows = list(csv.DictReader((snapshots / "index.csv").open(encoding="utf-8")))
    main = {"select": "main", "remove": ['select[name="Locale Select"]', "main .sr-only"],
            "filters": ["opens-in-new-window", "tracking-params"]}
    landing = {"select": "#landings-privacy-policy", "remove": ["header", "footer", "[aria-hidden=true]"],
               "filters": ["opens-in-new-window", "tracking-params"]}

    def source_for(row: dict[str, str]) -> str:
        if row["snapshot_fetch_date"] < "2024-05-01":
            return "ota/us-" + row["service"].lower()
        if row["snapshot_fetch_date"] < "2025-07-01":
            return "ota/eu-single"
        return f"ota/eu-combined-{row['collection']}"

    entries: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        entries.setdefault((source_for(row), row["snapshot_fetch_date"]), []).append(row)
    declarations = []
    for sid in sorted({k[0] for k in entries}):
        rules = landing if sid.startswith("ota/us-") else main
        urls = ["https://openai.com/policies/eu-privacy-policy/"]
        if "combined" in sid:
            urls.append("https://openai.com/policies/how-your-data-is-used-to-improve-model-performance/")
        declarations.append({"id": sid, "vendor": "OpenAI", "title": sid, "document_type": "Privacy Policy",
                             "language": "en", "urls": urls, **rules})
    decl = write(tmp_path / "sources.yaml", yaml.safe_dump({"sources": declarations}))
    lines = []
    for (sid, at), group in sorted(entries.items(), key=lambda kv: kv[0][1]):
        group.sort(key=lambda r: "how-your-data" in r["snapshot_path"])
        lines.append(json.dumps({"source": sid, "at": at, "paths": [str(snapshots.parent / r["snapshot_path"]) for r in group]}))
    manifest = write(tmp_path / "ota.jsonl", "\n".join(lines) + "\n")
    cli = make_cli(decl)
    cli("import", "--manifest", str(manifest), "--allow-outside")

    with sqlite3.connect(cli.db) as conn:
        outcome = conn.execute("select outcome from fetch_outcomes where at like '2024-08-21%'").fetchone()[0]
        assert outcome == "unchanged", "the snapshot whose HTML changed but whose text did not adds no version"
        assert conn.execute("select count(*) from fetch_outcomes where outcome = 'failed'").fetchone()[0] == 0
        stored = conn.execute("select v.source_id, v.first_seen, v.sha256 from versions v").fetchall()
    engine = make_engine(f"sqlite:///{cli.db}")
    with reading(session_factory(engine)) as session:
        stored = [(sid, first_seen, texts.read(session, sha)) for sid, first_seen, sha in stored]
    engine.dispose()
    assert len(stored) >= 5
    for (sid, first_seen, text) in stored:
        at = first_seen.replace(" ", "T").split(".")[0] + "Z"
        paired = next(r for r in rows if r["snapshot_fetch_date"] == at)
        expected = (snapshots.parent / paired["version_copy"]).read_text(encoding="utf-8")
        ratio = SequenceMatcher(None, _plain(text).split(), _plain(expected).split(), autojunk=False).ratio()
        assert ratio >= 0.9, f"{sid} at {at}: ratio {ratio:.3f}"


def test_changes_filtered_by_flag_and_severity_and_classify_command(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write(tmp_path / "sources.yaml", yaml.safe_dump(DECL))
    write(tmp_path / "a.md", "# Chats\n\nWe keep temporary chats for 30 days.\n\nWe like cats.\n")
    write(tmp_path / "b.md", "# Chats\n\nWe keep temporary chats for 90 days.\n\nWe like cats.\n")
    write(tmp_path / "c.md", "# Chats\n\nWe keep temporary chats for 90 days.\n\nWe like dogs.\n")
    manifest = write(tmp_path / "m.jsonl", "".join(json.dumps({"source": "t/policy", "at": f"2026-04-0{i}T00:00:00Z",
                                                              "path": f"{name}.md"}) + "\n" for i, name in enumerate("abc", 1)))
    cli = make_cli(decl)
    cli("import", "--manifest", str(manifest))
    everything = cli.json("changes")
    assert [(c["to_version"], c["severity"]) for c in everything] == [(3, "low"), (2, "high")]
    high = cli.json("changes", "--flag", "retention", "--severity", "high")
    assert [c["to_version"] for c in high] == [2]
    assert "retention" in high[0]["flags"] and "30 days" in high[0]["summary"] and "90 days" in high[0]["summary"]
    assert any(e["rule_id"].startswith("en.retention") for e in high[0]["evidence"])
    assert cli.json("changes", "--flag", "sharing") == []
    diff = cli("diff", "t/policy", "1", "2").stdout
    assert "severity: high" in diff and "30 days → 90 days" in diff

    lines = write(tmp_path / "in.jsonl", json.dumps({"id": 7, "text": "We sell your data to advertisers."}) + "\n")
    out = [json.loads(line) for line in cli("classify", str(lines)).stdout.splitlines()]
    assert out[0]["id"] == 7 and out[0]["flags"] == ["sharing"]
    bad = write(tmp_path / "bad.jsonl", '{"id": 1}\n')
    failed = cli("classify", str(bad), check=False)
    assert failed.returncode == 2 and "line 1" in failed.stderr


def test_a_refused_manifest_stores_nothing(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    two = {"sources": DECL["sources"] + [{**DECL["sources"][0], "id": "t/other"}]}
    decl = write(tmp_path / "sources.yaml", yaml.safe_dump(two))
    write(tmp_path / "a.md", "We keep chats for 30 days.\n")
    write(tmp_path / "b.md", "We keep chats for 60 days.\n")
    cli = make_cli(decl)
    first = write(tmp_path / "first.jsonl", json.dumps({"source": "t/policy", "at": "2026-02-06T00:00:00Z", "path": "a.md"}) + "\n")
    cli("import", "--manifest", str(first))
    before = counts(cli.db)
    late = write(tmp_path / "late.jsonl", "".join(json.dumps(e) + "\n" for e in [
        {"source": "t/other", "at": "2026-01-01T00:00:00Z", "path": "a.md"},
        {"source": "t/policy", "at": "2026-02-03T00:00:00Z", "path": "b.md"}]))
    out = cli("import", "--manifest", str(late), check=False)
    assert out.returncode == 2 and "late.jsonl:2: t/policy already has a record at 2026-02-06" in out.stderr
    assert counts(cli.db) == before
    clash = write(tmp_path / "clash.jsonl", json.dumps({"source": "t/policy", "at": "2026-02-06T00:00:00Z", "path": "b.md"}) + "\n")
    out = cli("import", "--manifest", str(clash), check=False)
    assert out.returncode == 2 and "already has a different snapshot recorded at 2026-02-06" in out.stderr
    assert counts(cli.db) == before


def test_reextract_after_a_rule_change_records_a_technical_change(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write(tmp_path / "sources.yaml", yaml.safe_dump(DECL))
    write(tmp_path / "a.html", "<main><p>We keep chats for 30 days.</p><aside class='promo'>Try Pro!</aside></main>")
    manifest = write(tmp_path / "m.jsonl", json.dumps({"source": "t/policy", "at": "2026-05-01T00:00:00Z", "path": "a.html"}) + "\n")
    cli = make_cli(decl)
    cli("import", "--manifest", str(manifest))
    assert "Try Pro!" in cli("show", "t/policy").stdout
    assert "t/policy: unchanged" in cli("reextract", "--now", "2026-05-02T00:00:00Z").stdout
    fixed = {"sources": [{**DECL["sources"][0], "remove": ".promo"}]}
    decl.write_text(yaml.safe_dump(fixed), encoding="utf-8")
    out = cli("reextract", "--now", "2026-05-03T00:00:00Z").stdout
    assert "t/policy: new version 2 (technical change, not announced)" in out
    assert cli("show", "t/policy").stdout == "We keep chats for 30 days.\n"
    change = cli.json("changes")[0]
    assert change["kind"] == "technical" and change["to_version"] == 2
    version = cli.json("show", "t/policy")
    assert version["snapshots"][0]["fetched_at"] == "2026-05-01T00:00:00Z", "the snapshot keeps its fetch time"
    assert "ok: 0 problem(s)" in cli("check").stdout
    site = tmp_path / "site"
    cli("report", "--out", str(site))
    assert "t/policy" not in (site / "feeds" / "changes.atom").read_text(encoding="utf-8")


def _technical_change(make_cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A record whose second version is a technical change that drops a sentence the flagger reads as a change of
    retention and sharing (a selector now removes the aside holding it)."""
    decl = write(tmp_path / "sources.yaml", yaml.safe_dump(DECL))
    write(tmp_path / "a.html", "<main><p>We keep chats for 30 days. You can delete them at any time from your settings, "
                               "and we tell you when this policy changes.</p><aside class='ad'>We sell your personal "
                               "data to advertisers.</aside></main>")
    manifest = write(tmp_path / "m.jsonl", json.dumps({"source": "t/policy", "at": "2026-05-01T00:00:00Z", "path": "a.html"}) + "\n")
    cli = make_cli(decl)
    cli("import", "--manifest", str(manifest))
    decl.write_text(yaml.safe_dump({"sources": [{**DECL["sources"][0], "remove": ".ad"}]}), encoding="utf-8")
    cli("reextract", "--now", "2026-05-03T00:00:00Z")
    return cli


def test_a_technical_change_carries_no_flags_and_no_severity(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The rules that read the page moved, not the vendor's wording: nothing of the change may read as the vendor's.
    cli = _technical_change(make_cli, tmp_path)
    (change,) = cli.json("changes")
    assert (change["kind"], change["flags"], change["severity"], change["evidence"]) == ("technical", [], "none", [])
    assert "not a change by the vendor" in change["summary"]
    listed = cli("changes").stdout
    assert "technical" in listed and "[" not in listed, listed
    assert cli.json("changes", "--severity", "low") == [], "no severity to count it under"
    assert "[" not in cli("history", "t/policy").stdout


def test_reanalyse_clears_the_flags_an_earlier_release_gave_a_technical_change(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli = _technical_change(make_cli, tmp_path)
    # As releases before technical changes carried no findings recorded it.
    with sqlite3.connect(cli.db) as conn:
        conn.execute("update changes set flags = '[\"sharing\"]', severity = 'medium', summary = 'sharing: sold'")
    assert "[medium]" in cli("changes").stdout
    out = cli("reanalyse", "--now", "2026-05-04T00:00:00Z").stdout
    assert "severity medium → none" in out, out
    (change,) = cli.json("changes")
    assert (change["flags"], change["severity"]) == ([], "none")
    assert [(a["severity"], a["flags"]) for a in change["previous_analyses"]] == [("medium", ["sharing"])]
    site = tmp_path / "site"
    cli("report", "--out", str(site))
    page = " ".join((site / "changes" / f"{change['id']}.html").read_text(encoding="utf-8").split())
    assert "Analysis revised" in page and "it was technical, severity medium" in page
    assert "as the feeds announced it" not in page, "a technical change is never announced"


def test_a_saved_challenge_page_in_an_archive_does_not_become_a_version(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from test_faults import CF_MOMENT

    decl = write(tmp_path / "sources.yaml", yaml.safe_dump(DECL))
    write(tmp_path / "good.md", "We keep chats for 30 days.\n")
    (tmp_path / "challenge.html").write_bytes(CF_MOMENT)
    manifest = write(tmp_path / "m.jsonl", "".join(json.dumps(e) + "\n" for e in [
        {"source": "t/policy", "at": "2026-06-01T00:00:00Z", "path": "good.md"},
        {"source": "t/policy", "at": "2026-06-02T00:00:00Z", "path": "challenge.html"}]))
    cli = make_cli(decl)
    out = cli("import", "--manifest", str(manifest), check=False)
    assert out.returncode == 1 and "bot_challenge" in out.stdout
    history = cli.json("history", "t/policy")
    assert len(history["versions"]) == 1
    assert [o["failure_kind"] for o in history["outcomes"]] == [None, "bot_challenge"]


def test_every_bad_manifest_line_is_reported_up_to_a_limit(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write(tmp_path / "sources.yaml", yaml.safe_dump(DECL))
    write(tmp_path / "a.html", "<main><p>Text.</p></main>")
    good = json.dumps({"source": "t/policy", "at": "2026-03-01T00:00:00Z", "path": "a.html"})
    bad = [json.dumps({"source": "t/policy", "at": "yesterday", "path": "a.html"}),
           json.dumps({"source": "t/nope", "at": "2026-03-02T00:00:00Z", "path": "a.html"}),
           json.dumps({"source": "t/policy", "at": "2026-03-03T00:00:00Z", "path": "gone.html"}),
           "{not json"]
    cli = make_cli(decl)
    manifest = write(tmp_path / "m.jsonl", "\n".join([good, *bad, good.replace("03-01", "03-04")]) + "\n")
    out = cli("import", "--manifest", str(manifest), check=False)
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"policywatch: {manifest}:2: field 'at': 'yesterday' is not an ISO-8601 time",
        f"policywatch: {manifest}:3: field 'source': 't/nope' is not a declared source id",
        f"policywatch: {manifest}:4: {tmp_path / 'gone.html'}: no such file",
        f"policywatch: {manifest}:5: not valid JSON (Expecting property name enclosed in double quotes)",
        f"policywatch: {manifest}: 4 bad lines; nothing was imported"]
    assert not cli.db.exists() or counts(cli.db)["versions"] == 0

    write(manifest, "\n".join([good] + bad * 6) + "\n")
    many = cli("import", "--manifest", str(manifest), check=False).stderr.splitlines()
    assert len(many) == 22 and many[19].startswith(f"policywatch: {manifest}:21: ")
    assert many[20:] == [f"policywatch: {manifest}: … and 4 more bad line(s)",
                         f"policywatch: {manifest}: 24 bad lines; nothing was imported"]


def test_an_import_without_an_address_never_publishes_where_it_was_read_from(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write(tmp_path / "sources.yaml", yaml.safe_dump(DECL))
    folder = tmp_path / "private-archive"
    folder.mkdir()
    write(folder / "a.html", "<main><p>We keep chats for 30 days. <a href='/more'>More</a></p></main>")
    manifest = write(folder / "manifest.jsonl",
                     json.dumps({"source": "t/policy", "at": "2026-03-01T00:00:00Z", "path": "a.html"}) + "\n")
    cli = make_cli(decl)
    cli("import", "--manifest", str(manifest))
    site = tmp_path / "site"
    cli("report", "--out", str(site))
    page = (site / "versions/t/policy/1.html").read_text(encoding="utf-8")
    assert "an imported file, <code>a.html</code>" in page
    # (the site itself is under tmp_path: without --base-url its permalinks are file:// URLs of the output)
    assert "private-archive" not in page and str(folder) not in page


GERMAN = "<main><p>Wir speichern Chats 30 Tage. Grüße</p></main>"
UNREADABLE = [  # (file name, its bytes, why it is refused)
    ("latin1.html", GERMAN.encode("latin-1"), "not UTF-8 (byte 0xfc at offset 40)"),
    ("says-utf8.html", b'<meta charset="utf-8">' + GERMAN.encode("latin-1"),
     "not UTF-8, as its <meta> says it is (byte 0xfc at offset 62)"),
    ("utf16.txt", "We keep chats for 30 days.".encode("utf-16"), "not UTF-8 (byte 0xff at offset 0)"),
    ("cut.md", "We keep chats for 30 days. Ünd".encode("utf-8")[:-3], "not UTF-8 (byte 0xc3 at offset 27)"),
]
# Read as a fetched page is: the encoding its byte-order mark or <meta charset> names.
READABLE = [
    ("cp1252.html", b'<meta charset="windows-1252">' + GERMAN.encode("cp1252")),
    ("utf16.html", GERMAN.encode("utf-16")),
]


def import_one(db_url: str, tmp_path: Path, name: str, data: bytes, capsys) -> tuple[int, Path]:  # type: ignore[no-untyped-def]
    """Import a.html, then a manifest of b.html and the file `name`: the second import's status."""
    decl = write(tmp_path / "sources.yaml", yaml.safe_dump(DECL))
    write(tmp_path / "a.html", "<main><p>We keep chats for 30 days, and this sentence makes it long enough.</p></main>")
    write(tmp_path / "b.html", "<main><p>We keep chats for 90 days, and this sentence makes it long enough.</p></main>")
    (tmp_path / name).write_bytes(data)
    argv = ["--db", db_url, "--sources", str(decl)]
    first = write(tmp_path / "first.jsonl", json.dumps({"source": "t/policy", "at": "2026-03-01T00:00:00Z",
                                                         "path": "a.html"}) + "\n")
    assert main(argv + ["import", "--manifest", str(first)]) == 0
    capsys.readouterr()
    manifest = write(tmp_path / "m.jsonl", "".join(json.dumps(e) + "\n" for e in [
        {"source": "t/policy", "at": "2026-03-02T00:00:00Z", "path": "b.html"},
        {"source": "t/policy", "at": "2026-03-03T00:00:00Z", "path": name}]))
    return main(argv + ["import", "--manifest", str(manifest)]), manifest


def counts_in(db_url: str) -> list[tuple[str, int]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [(table, conn.execute(sql(f"SELECT count(*) FROM {table}")).scalar_one())
                    for table in ("runs", "fetch_outcomes", "snapshots", "versions", "blobs")]
    finally:
        engine.dispose()


@pytest.mark.parametrize("name, data, why", UNREADABLE, ids=[case[0] for case in UNREADABLE])
def test_a_file_that_is_not_text_in_its_encoding_is_refused_before_anything_is_stored(  # type: ignore[no-untyped-def]
        db_url: str, tmp_path: Path, name: str, data: bytes, why: str, capsys, monkeypatch) -> None:
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    status, manifest = import_one(db_url, tmp_path, name, data, capsys)
    err = capsys.readouterr().err
    assert status == 2
    assert err.splitlines() == [f"policywatch: {manifest}:2: {tmp_path / name}: {why}; an imported file must be "
                                "text: UTF-8, or for HTML the encoding its byte-order mark or <meta charset> names"]
    # Only the first import is in the record: nothing of the refused manifest, b.html included.
    assert dict(counts_in(db_url)) == {"runs": 1, "fetch_outcomes": 1, "snapshots": 1, "versions": 1, "blobs": 1}


@pytest.mark.parametrize("name, data", READABLE, ids=[case[0] for case in READABLE])
def test_html_in_the_encoding_it_names_is_imported(db_url: str, tmp_path: Path, name: str, data: bytes,  # type: ignore[no-untyped-def]
                                                   capsys, monkeypatch) -> None:
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    status, _ = import_one(db_url, tmp_path, name, data, capsys)
    assert status == 0
    capsys.readouterr()
    assert main(["--db", db_url, "show", "t/policy"]) == 0
    assert "Wir speichern Chats 30 Tage. Grüße" in capsys.readouterr().out
