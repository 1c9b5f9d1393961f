"""A manifest import that names no `url` records each file by its `file:` URL, a path on the importer's machine.
No file of the published site publishes it: not the pages, not the feeds, not the data download; they name the
file alone. Through the real CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from policywatch.cli import main

SECRET = "home-of-jane-doe"  # a folder name that must never be published
FILLER = "Lorem ipsum dolor sit amet, this paragraph stays the same. " * 12


def saved(text: str) -> str:
    return f"<html><body><main><h1>Policy</h1><p>{text}</p><p>{FILLER}</p></main></body></html>"


def published_files(site: Path) -> dict[str, str]:
    """Every file of the site as text, with each file inside the data download's ZIP as `data/<zip>/<entry>`."""
    found: dict[str, str] = {}
    for path in site.rglob("*"):
        if not path.is_file() or path.name == ".policywatch-site.json":
            continue
        name = path.relative_to(site).as_posix()
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for entry in archive.namelist():
                    found[f"{name}/{entry}"] = archive.read(entry).decode("utf-8")
        else:
            found[name] = path.read_bytes().decode("utf-8", "replace")
    return found


def test_an_import_without_url_publishes_file_names_never_local_paths(db_url: str, tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
                                                                       monkeypatch) -> None:
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    folder = tmp_path / SECRET / "saved pages"
    folder.mkdir(parents=True)
    (folder / "a.html").write_text(saved("We keep chats for 30 days."), encoding="utf-8")
    (folder / "b.html").write_text(saved("We keep chats for 90 days."), encoding="utf-8")
    entries = [{"source": "t/a", "at": "2026-01-01T00:00:00Z", "path": "a.html"},
               {"source": "t/a", "at": "2026-01-02T00:00:00Z", "path": "b.html"}]
    for day in (3, 4, 5):  # empty files: failed imports whose detail names the file
        (folder / f"empty {day}.html").write_text(" \n", encoding="utf-8")
        entries.append({"source": "t/a", "at": f"2026-01-0{day}T00:00:00Z", "path": f"empty {day}.html"})
    (folder / "m.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {id: t/a, vendor: T, title: A, document_type: Privacy Policy, language: en, "
        "urls: ['https://example.test/a']}\n", encoding="utf-8")
    argv = ["--db", db_url, "--sources", str(tmp_path / "sources.yaml")]
    assert main(argv + ["import", "--manifest", str(folder / "m.jsonl")]) == 1  # some files failed
    site = tmp_path / "site"
    assert main(argv + ["report", "--out", str(site), "--base-url", "https://watch.example.org/"]) == 0
    capsys.readouterr()

    files = published_files(site)
    assert any(name.startswith("data/") and name.endswith("/versions.jsonl") for name in files)
    assert any(name.startswith("feeds/") for name in files)
    # The site's own scripts speak of file:// in their comments; nothing made from the record may.
    leaks = sorted(name for name, text in files.items()
                   if SECRET in text or ("file://" in text and not name.startswith("static/")))
    assert leaks == []

    data = next(name.rsplit("/", 1)[0] for name in files if name.endswith("/outcomes.jsonl"))
    outcomes = [json.loads(line) for line in files[f"{data}/outcomes.jsonl"].splitlines()]
    assert [(o["url"], o["detail"]) for o in outcomes] == [
        ("a.html", None), ("b.html", None), *((f"empty {d}.html", f"empty {d}.html returned an empty body")
                                              for d in (3, 4, 5))]
    versions = [json.loads(line) for line in files[f"{data}/versions.jsonl"].splitlines()]
    assert [(s["url"], s["final_url"]) for v in versions for s in v["snapshots"]] == \
        [("a.html", "a.html"), ("b.html", "b.html")]
    # Known from imported files only, t/a has not been fetched: its files' failures are no health event.
    assert "<entry>" not in files["feeds/health.atom"]
    # The pages name the file the same way, with why no more is shown.
    assert "an imported file, <code>empty 5.html</code>" in files["runs.html"]
    assert "an imported file, <code>a.html</code>" in files["versions/t/a/1.html"]


CLAIM = """claims:
  - id: t/chats-kept-30-days
    vendor: T
    topics: [retention]
    statement: {en: "T keeps chats for 30 days."}
    said_by: T
    scope: [t/a]
    evidence:
      supports:
        - id: kept-30-days
          en: {patterns: ['\\bkeep chats for 30 days\\b']}
"""


def test_no_published_file_names_a_local_path_of_the_publisher(db_url: str, tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
                                                                monkeypatch) -> None:
    """Declarations, claims, saved pages and the site itself in a folder whose name must not be published: the
    claims' JSON names its claims file relative to the claims folder, and no file names the folder."""
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    home = tmp_path / SECRET
    (home / "claims").mkdir(parents=True)
    (home / "claims" / "t.yaml").write_text(CLAIM, encoding="utf-8")
    (home / "a.html").write_text(saved("We keep chats for 30 days."), encoding="utf-8")
    (home / "b.html").write_text(saved("We keep chats for 90 days."), encoding="utf-8")
    (home / "m.jsonl").write_text(
        "".join(json.dumps({"source": "t/a", "at": f"2026-01-0{d}T00:00:00Z", "path": f"{n}.html"}) + "\n"
                for d, n in ((1, "a"), (2, "b"))), encoding="utf-8")
    (home / "sources.yaml").write_text(
        "sources:\n  - {id: t/a, vendor: T, title: A, document_type: Privacy Policy, language: en, "
        "urls: ['https://example.test/a']}\n", encoding="utf-8")
    argv = ["--db", db_url, "--sources", str(home / "sources.yaml"), "--claims", str(home / "claims")]
    assert main(argv + ["import", "--manifest", str(home / "m.jsonl")]) == 0
    site = home / "site"
    assert main(argv + ["report", "--out", str(site), "--base-url", "https://watch.example.org/"]) == 0
    capsys.readouterr()

    files = published_files(site)
    claim = json.loads(files["claims/t/chats-kept-30-days.json"])
    assert claim["declared_in"] == "t.yaml"
    assert claim["evidence"], "the claim was evaluated against the imported versions"
    leaks = sorted(name for name, text in files.items()
                   if SECRET in text or str(tmp_path) in text or ("file://" in text and not name.startswith("static/")))
    assert leaks == []
