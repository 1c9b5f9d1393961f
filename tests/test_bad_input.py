"""Bad declarations and manifests: a named error on one line, exit status 2, nothing written, never a traceback.

The cases are data (tests/data/bad_input/cases.yaml); the command line runs
in this process (`policywatch.cli.main`), as these commands start no crawl.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from policywatch.cli import main

CASES_FILE = Path(__file__).parent / "data" / "bad_input" / "cases.yaml"
CASES = [pytest.param(c, id=c["id"]) for c in yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))]
DECL = {"sources": [{"id": "t/policy", "vendor": "Testco", "title": "Policy", "document_type": "Privacy Policy",
                     "language": "en", "urls": ["https://example.test/policy"], "select": "main"}]}
PAGE = b"<html><body><main><p>We keep chats for 30 days.</p></main></body></html>"


def _alias_bomb(levels: int) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    return "sources: []\nbomb:\n" + "\n".join("  " + line for line in lines) + "\n"


def _content(case: dict[str, Any], text: str | None) -> bytes:
    make = case.get("make")
    if make == "nested_list":
        return ("sources:\n  - " + "[" * case["depth"] + "]" * case["depth"] + "\n").encode()
    if make == "alias_bomb":
        return _alias_bomb(case["depth"]).encode()
    if make == "nested_json":
        return ('{"source": ' + "[" * case["depth"] + "]" * case["depth"] + "}\n").encode()
    assert text is not None
    if "long" in case:
        text = text.replace("LONG", "x" * case["long"])
    if make == "utf16":
        return text.encode("utf-16")
    if make == "latin1":
        return text.encode("latin-1")
    return text.encode("utf-8")


def _files(case: dict[str, Any], tmp: Path) -> list[str]:
    """Write the case's files; the command line that reads them."""
    folder = tmp / "archive"
    folder.mkdir()
    db = tmp / "pw.db"
    decl = folder / "sources.yaml"
    if "declarations" in case or case.get("make") in ("nested_list", "alias_bomb"):
        decl.write_bytes(_content(case, case.get("declarations")))
        return ["--db", str(db), "--sources", str(decl), "sources"]
    decl.write_text(yaml.safe_dump(DECL), encoding="utf-8")
    (folder / "page.html").write_bytes(PAGE)
    (folder / "other.html").write_bytes(PAGE.replace(b"30", b"90"))
    (tmp / "outside.html").write_bytes(PAGE)
    if case.get("make") == "sparse":
        with (folder / "page.html").open("r+b") as handle:
            handle.truncate(case["size"])
    if "symlink" in case:
        (folder / case["symlink"]).symlink_to(tmp / "outside.html")
    manifest = folder / "m.jsonl"
    if "manifest_path" in case:
        manifest = Path(case["manifest_path"])
    elif "manifest" in case or case.get("make") == "nested_json":
        manifest.write_bytes(_content(case, case.get("manifest")))
    else:
        lines = case.get("entries") or [case["entry"]]
        lines = [line.replace('"OUTSIDE"', json.dumps(str(tmp / "outside.html"))) for line in lines]
        manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["--db", str(db), "--sources", str(decl), "import", "--manifest", str(manifest)]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_a_named_error_and_writes_nothing(case: dict[str, Any], tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
                                                       monkeypatch) -> None:
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    argv = _files(case, tmp_path)
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2, out + err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for expected in case["error"]:
        assert expected in err, err
    assert len(err) <= case.get("max_length", 2000)
    assert not (tmp_path / "pw.db").exists()


def test_a_manifest_with_a_repeated_entry_is_imported_once_and_again_adds_nothing(tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
                                                                                monkeypatch) -> None:
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(DECL), encoding="utf-8")
    (tmp_path / "a.html").write_bytes(PAGE)
    (tmp_path / "a-copy.html").write_bytes(PAGE)
    (tmp_path / "b.html").write_bytes(PAGE.replace(b"30", b"90"))
    entries = [{"source": "t/policy", "at": "2026-01-01T00:00:00Z", "path": "a.html"},
               {"source": "t/policy", "at": "2026-01-01T00:00:00Z", "path": "a-copy.html"},
               {"source": "t/policy", "at": "2026-01-02T00:00:00Z", "path": "b.html"},
               {"source": "t/policy", "at": "2026-01-02T00:00:00Z", "path": "b.html"}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    argv = ["--db", str(tmp_path / "pw.db"), "--sources", str(tmp_path / "sources.yaml"), "import", "--manifest",
            str(tmp_path / "m.jsonl")]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "imported 2 entries (1 changed, 1 first), 0 already recorded, 2 repeated in the manifest" in first
    assert main(argv) == 0
    assert "imported 0 entries (nothing new), 2 already recorded, 2 repeated in the manifest" in capsys.readouterr().out


def test_files_outside_the_manifests_folder_need_allow_outside(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(DECL), encoding="utf-8")
    (tmp_path / "page.html").write_bytes(PAGE)
    (tmp_path / "archive").mkdir()
    manifest = tmp_path / "archive" / "m.jsonl"
    manifest.write_text(json.dumps({"source": "t/policy", "at": "2026-01-01T00:00:00Z", "path": "../page.html"})
                        + "\n", encoding="utf-8")
    argv = ["--db", str(tmp_path / "pw.db"), "--sources", str(tmp_path / "sources.yaml"), "import", "--manifest",
            str(manifest)]
    assert main(argv) == 2
    assert "--allow-outside" in capsys.readouterr().err
    assert main(argv + ["--allow-outside"]) == 0
    assert "1 first" in capsys.readouterr().out


def test_json_output_escapes_c1_controls_and_bidi_overrides(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for key in [k for k in os.environ if k.startswith("POLICYWATCH_")]:
        monkeypatch.delenv(key)
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(DECL), encoding="utf-8")
    hostile = "We keep chats \u202efor 30 days\u202c and\u0085 \u009b31m sell \u2066them\u2069.\u2028Ünïcödé stays."
    (tmp_path / "a.md").write_text(hostile + "\n", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text(json.dumps({"source": "t/policy", "at": "2026-01-01T00:00:00Z",
                                                  "path": "a.md"}) + "\n", encoding="utf-8")
    db = ["--db", str(tmp_path / "pw.db"), "--sources", str(tmp_path / "sources.yaml")]
    assert main(db + ["import", "--manifest", str(tmp_path / "m.jsonl")]) == 0
    capsys.readouterr()
    assert main(db + ["show", "t/policy", "--json"]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\u202e\u202c\u0085\u009b\u2066\u2069\u2028")
    assert "\\u202e" in out and "\\u0085" in out and "\\u009b" in out and "Ünïcödé" in out
    assert json.loads(out)["text"].startswith("We keep chats \u202efor 30 days")
