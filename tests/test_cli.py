"""The reading commands and `extract`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def test_extract_prints_what_a_saved_page_extracts_to_and_stores_nothing(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = tmp_path / "sources.yaml"
    decl.write_text(yaml.safe_dump({"sources": [
        {"id": "t/one", "vendor": "V", "title": "One", "document_type": "Privacy Policy", "language": "en",
         "urls": ["https://example.test/a"], "select": "main", "remove": ".ad", "filters": ["tracking-params"]},
        {"id": "t/two", "vendor": "V", "title": "Two", "document_type": "Privacy Policy", "language": "en",
         "urls": ["https://example.test/a", "https://example.test/b"], "select": "main"}]}), encoding="utf-8")
    (tmp_path / "a.html").write_text("<main><h2>Data</h2><p class='ad'>Buy!</p><p>We keep logs "
                                     "<a href='/x?utm_source=z&id=3'>here</a>.</p></main>", encoding="utf-8")
    (tmp_path / "b.html").write_text("<main><p>Part two \x1b[31mred</p></main>", encoding="utf-8")
    (tmp_path / "nomain.html").write_text("<div>nothing</div>", encoding="utf-8")
    cli = make_cli(decl)
    assert cli("extract", "--source", "t/one", str(tmp_path / "a.html")).stdout == "## Data\n\nWe keep logs [here](/x?id=3).\n"
    combined = cli("extract", "--source", "t/two", str(tmp_path / "a.html"), str(tmp_path / "b.html")).stdout
    assert "- - -\n\nPart two" in combined and "\x1b" not in combined, "no escape sequence reaches the terminal"
    miss = cli("extract", "--source", "t/one", str(tmp_path / "nomain.html"), check=False)
    assert miss.returncode == 2 and "selector_miss" in miss.stderr and "nomain.html" in miss.stderr
    unknown = cli("extract", "--source", "t/nope", str(tmp_path / "a.html"), check=False)
    assert unknown.returncode == 2 and "policywatch: --source: unknown source id(s): t/nope" in unknown.stderr
    assert not cli.db.exists()


def test_sources_lists_declared_sources_with_their_state(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from storage.db import make_engine, upgrade

    cli = make_cli()  # the bundled OpenAI declarations
    engine = make_engine(f"sqlite:///{cli.db}")
    upgrade(engine)  # a record with nothing in it yet
    engine.dispose()
    rows = cli.json("sources")
    ids = [r["id"] for r in rows]
    assert "openai/privacy-policy-eu" in ids and len(ids) >= 17
    assert all(r["declared"] and r["versions"] == 0 and r["last_checked"] is None for r in rows)
    text = cli("sources").stdout
    assert "openai/privacy-policy-eu-de" in text and "never checked" in text


def test_sources_lists_the_declarations_before_any_record_and_says_there_is_none(  # type: ignore[no-untyped-def]
        make_cli, tmp_path: Path) -> None:
    # Before the first crawl the declared list is worth having; a mistyped --db is said all the same.
    cli = make_cli(db=tmp_path / "typo.db")
    notice = (f"policywatch: no database at {cli.db} yet: nothing is recorded there, every source is listed as never "
              f"checked (`policywatch crawl` or `policywatch import` creates it)\n")
    done = cli("sources", check=False)
    assert (done.returncode, done.stderr) == (0, notice)
    assert "openai/privacy-policy-eu " in done.stdout and "never checked" in done.stdout
    listed = cli("sources", "--json", check=False)
    assert listed.returncode == 0 and listed.stderr == notice
    assert all(r["versions"] == 0 and r["last_checked"] is None for r in json.loads(listed.stdout))
    assert not cli.db.exists()


def test_sources_refuses_an_empty_database_file_as_every_reading_command(  # type: ignore[no-untyped-def]
        make_cli, tmp_path: Path) -> None:
    cli = make_cli(db=tmp_path / "typo.db")
    cli.db.touch()
    message = (f"policywatch: {cli.db} is empty (0 bytes), not a record: run `policywatch crawl` or `policywatch "
               f"import` first, or point --db at one\n")
    for command in (["sources"], ["sources", "--json"], ["changes"], ["show", "openai/privacy-policy-eu"]):
        done = cli(*command, check=False)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", message), command
    assert cli.db.stat().st_size == 0


def test_reading_commands_explain_a_missing_database(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli = make_cli()
    out = cli("history", "openai/privacy-policy-eu", check=False)
    assert out.returncode == 2 and "no database at" in out.stderr


def test_an_older_database_is_upgraded_and_the_user_is_told(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from conftest import REPO
    from storage.db import head_revision

    db = tmp_path / "old.db"
    subprocess.run([sys.executable, "-m", "alembic", "-x", f"db=sqlite:///{db}", "upgrade", "0001"],
                   cwd=REPO, check=True, capture_output=True)
    cli = make_cli(db=db)
    out = cli("changes")
    assert f"upgrading database schema 0001 → {head_revision()}" in out.stderr
    assert "no changes recorded" in out.stdout
    assert "upgrading" not in cli("changes").stderr


def test_global_options_are_accepted_after_the_command(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli = make_cli(db=tmp_path / "first.db")
    out = cli("changes", "--db", str(tmp_path / "other.db"), check=False)
    assert out.returncode == 2 and f"no database at {tmp_path / 'other.db'}" in out.stderr


def test_sources_lists_recorded_sources_that_are_no_longer_declared(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = tmp_path / "sources.yaml"
    entry = {"vendor": "V", "title": "Gone", "document_type": "Privacy Policy", "language": "en",
             "urls": ["https://example.test/a"]}
    decl.write_text(yaml.safe_dump({"sources": [entry | {"id": "t/gone"}]}), encoding="utf-8")
    (tmp_path / "a.md").write_text("We keep logs.\n", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text('{"source": "t/gone", "at": "2026-01-01T00:00:00Z", "path": "a.md"}\n',
                                      encoding="utf-8")
    cli = make_cli(decl)
    cli("import", "--manifest", str(tmp_path / "m.jsonl"))
    decl.write_text(yaml.safe_dump({"sources": [entry | {"id": "t/new", "title": "New"}]}), encoding="utf-8")
    text = cli("sources").stdout
    assert "recorded, no longer declared:" in text
    assert text.index("t/gone") > text.index("recorded, no longer declared:") > text.index("t/new")
    assert "1 version(s), imported a file dated 2026-01-01T00:00:00Z, not yet checked by a crawl" in text


def test_classify_reads_plain_text_lines(make_cli) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "policywatch", "classify", "--text", "--language", "en"],
                         input="We keep your chats for 30 days.\n\nHello there.\n", capture_output=True, text=True,
                         check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["line"], r["text"]) for r in rows] == [(1, "We keep your chats for 30 days."), (3, "Hello there.")]
    assert "retention" in rows[0]["flags"] and rows[1]["flags"] == []


@pytest.mark.parametrize("command", [["changes"], ["history", "t/a"], ["show", "t/a"], ["sources"], ["diff", "t/a"]])
def test_a_postgresql_server_that_is_not_there_is_one_line_naming_it(tmp_path: Path, command: list[str]) -> None:
    import socket

    with socket.socket() as probe:  # a port on 127.0.0.1 that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    done = subprocess.run([sys.executable, "-m", "policywatch", "--db",
                           f"postgresql+psycopg://postgres@127.0.0.1:{port}/record", *command],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"policywatch: the database record on 127.0.0.1:{port} cannot be reached (")
    assert f"port {port}" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["check"], ["history", "t/a"], ["show", "t/a"], ["changes"], ["diff", "t/a"]])
def test_an_empty_database_file_is_no_record_and_stays_empty(tmp_path: Path, command: list[str]) -> None:
    empty = tmp_path / "copy.db"
    empty.write_bytes(b"")  # a copy cut short, a `touch`
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    done = subprocess.run([sys.executable, "-m", "policywatch", "--db", str(empty), *command], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"policywatch: {empty} is empty (0 bytes), not a record")
    assert empty.stat().st_size == 0 and "creating database schema" not in done.stderr


def _page(words: str) -> str:
    return f"<html><body><main>{''.join(f'<p>{s}.</p>' for s in words.split('. '))}</main></body></html>"


FIRST = ". ".join(f"We keep your chat number {n} for thirty days and then delete it for good" for n in range(40))
OTHER = ". ".join(f"Orders placed under reference {n} ship from the warehouse within a week by courier"
                  for n in range(40))


def test_imported_files_are_not_called_fetches_or_checks(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An imported file is someone's saved copy: the reading commands say "imported file", never fetch or check."""
    from conftest import write_declarations

    decl = write_declarations(tmp_path / "sources.yaml", "http://127.0.0.1:9", [
        {"id": "t/a", "urls": ["http://127.0.0.1:9/a"], "select": "main"}])
    cli = make_cli(decl)
    files = {"v1.html": _page(FIRST), "other.html": _page(OTHER),
             "miss.html": "<html><body><div>moved</div></body></html>"}
    for name, html in files.items():
        (tmp_path / name).write_text(html, encoding="utf-8")

    def imported(*entries: tuple[str, str]) -> subprocess.CompletedProcess[str]:
        manifest = tmp_path / "m.jsonl"
        manifest.write_text("".join(f'{{"source": "t/a", "at": "{at}", "path": "{name}"}}\n' for at, name in entries),
                            encoding="utf-8")
        return cli("import", "--manifest", str(manifest), check=False)

    imported(("2026-01-01T00:00:00Z", "v1.html"), ("2026-01-03T00:00:00Z", "other.html"))
    history = cli("history", "t/a").stdout
    assert "once a later import or fetch confirms it" in history and "once a later fetch" not in history, history
    imported(("2026-01-05T00:00:00Z", "v1.html"), ("2026-01-09T00:00:00Z", "miss.html"))
    history = cli("history", "t/a").stdout
    assert "the imported file dated 2026-01-05" in history and "did not confirm it" in history, history
    assert "  1 failed imported file(s), latest 2026-01-09" in history and "failed fetch" not in history, history
    listed = cli("sources").stdout
    assert "the last imported file failed (selector_miss)" in listed and "fetch" not in listed, listed
    shown = cli("show", "t/a", "--at", "2026-02-01T00:00:00Z")
    assert ("t/a: the record reaches only to 2026-01-05T00:00:00Z, the last imported file that confirmed v1: shown as "
            "it stood then") in shown.stderr, shown.stderr
