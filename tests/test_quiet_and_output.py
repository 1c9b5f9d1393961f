"""`-q` on the commands that report what they did (`import`, `report`, `check`, `doctor`): only what went wrong,
as `crawl -q` and `run -q` print it; and output that cannot be written (a missing folder, a full disk) is one
line naming where, while a reader that stops early (`| head`) ends the command quietly."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import CLI

LONG = "\n\n".join(f"Clause {i}: we describe how we handle your information in section {i}." for i in range(2000))


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    entry = {"vendor": "V", "document_type": "Privacy Policy", "language": "en", "urls": ["https://example.test/"]}
    decl = tmp_path / "sources.yaml"
    decl.write_text(yaml.safe_dump({"sources": [entry | {"id": sid, "title": sid} for sid in ("t/a", "t/long")]}),
                    encoding="utf-8")
    return CLI(tmp_path / "pw.db", decl, tmp_path)


def _manifest(tmp_path: Path, name: str, entries: list[tuple[str, str, str]]) -> Path:
    lines = []
    for n, (sid, at, text) in enumerate(entries):
        page = tmp_path / f"{name}-{n}.md"
        page.write_text(text, encoding="utf-8")
        lines.append(json.dumps({"source": sid, "at": at, "path": page.name}))
    manifest = tmp_path / f"{name}.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def test_quiet_import_prints_only_failed_entries(cli: CLI, tmp_path: Path) -> None:
    good = _manifest(tmp_path, "good", [("t/a", "2026-01-01T00:00:00Z", "We keep your chats for 30 days.\n"),
                                        ("t/long", "2026-01-02T00:00:00Z", LONG)])
    imported = cli("-q", "import", "--manifest", str(good))
    assert imported.stdout == "", imported.stdout
    assert imported.stderr == "", "quiet: not even the schema being created is said"
    assert "imported 0 entries" in cli("import", "--manifest", str(good)).stdout, "without -q, the counts"
    # An empty page fails as a fetch would: said, quiet or not, on one unindented line.
    failing = _manifest(tmp_path, "failing", [("t/a", "2026-01-03T00:00:00Z", "")])
    failed = cli("-q", "import", "--manifest", str(failing), check=False)
    assert failed.returncode == 2 and failed.stdout.startswith("failed t/a: "), failed.stdout + failed.stderr
    assert len(failed.stdout.splitlines()) == 1


@pytest.fixture
def recorded(cli: CLI, tmp_path: Path) -> CLI:
    cli("import", "--manifest", str(_manifest(tmp_path, "m", [("t/a", "2026-01-01T00:00:00Z", "We keep logs.\n"),
                                                              ("t/long", "2026-01-02T00:00:00Z", LONG)])))
    return cli


def test_quiet_report_prints_nothing_when_all_is_well(recorded: CLI, tmp_path: Path) -> None:
    site = tmp_path / "site"
    built = recorded("-q", "report", "--out", str(site))
    assert built.stdout == "" and built.stderr == "" and (site / "index.html").is_file()
    assert "wrote " in recorded("report", "--out", str(site)).stdout


def test_quiet_check_prints_only_problems(recorded: CLI) -> None:
    checked = recorded("-q", "check")
    assert checked.stdout == "" and checked.returncode == 0
    assert recorded("check").stdout.startswith("ok: 0 problem(s)")
    with sqlite3.connect(recorded.db) as conn:  # a version whose fetch is not recorded: a problem
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("UPDATE versions SET outcome_id = 999999 WHERE source_id = 't/a'")
    damaged = recorded("-q", "check", check=False)
    assert damaged.returncode == 1
    assert damaged.stdout and all(line.startswith("PROBLEM: ") for line in damaged.stdout.splitlines()), damaged.stdout


def test_quiet_doctor_prints_only_what_to_fix(recorded: CLI, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the report directory would be", encoding="utf-8")
    doctor = recorded("-q", "doctor", "--out", str(blocked), check=False)
    assert doctor.returncode == 1
    assert doctor.stdout.splitlines() == [f"fix   report directory: {blocked} exists and is not a directory"]
    assert recorded("-q", "doctor", "--out", str(tmp_path / "site")).stdout == ""


def _sha(cli: CLI) -> str:
    with sqlite3.connect(cli.db) as conn:
        return str(conn.execute("SELECT blob_sha256 FROM snapshots ORDER BY id LIMIT 1").fetchone()[0])


def test_raw_into_a_folder_that_does_not_exist_is_one_line(recorded: CLI, tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "page.html"
    done = recorded("raw", _sha(recorded), "--out", str(target), check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"policywatch: --out {target}: cannot write it: the folder {target.parent} does not "
                           "exist\n")
    written = recorded("raw", _sha(recorded), "--out", str(tmp_path / "page.html"))
    assert written.returncode == 0 and (tmp_path / "page.html").stat().st_size > 0


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full to stand for a full disk")
@pytest.mark.parametrize("command", [["show", "t/a"], ["show", "t/long"], ["show", "t/a", "--json"], ["changes"],
                                     ["history", "t/long", "--json"], ["diff", "t/a", "1", "1"], ["raw", "SHA"]])
def test_output_to_a_full_disk_is_one_line_naming_it(recorded: CLI, command: list[str]) -> None:
    argv = [sys.executable, "-m", "policywatch", "--db", str(recorded.db)] + \
        [_sha(recorded) if part == "SHA" else part for part in command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    with open("/dev/full", "w") as full:
        done = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr == "policywatch: cannot write the output to /dev/full: No space left on device\n"


@pytest.mark.parametrize("command", [["show", "t/long"], ["history", "t/long", "--json"], ["show", "t/long", "--json"]])
def test_a_reader_that_stops_early_ends_the_command_quietly(recorded: CLI, command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    reader = subprocess.Popen([sys.executable, "-m", "policywatch", "--db", str(recorded.db), *command],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.read(16)  # `| head -c 16`
    reader.stdout.close()
    error = reader.stderr.read().decode()
    assert reader.wait(60) == 0 and error == "", error


@pytest.mark.parametrize(("command", "message"), [
    (["diff", "t/a", "--context", "-3"], "argument --context: '-3' is less than 0"),
    (["diff", "t/a", "--context", "two"], "argument --context: 'two' is not a whole number"),
    (["claims", "suggest", "x/y", "--top", "0"], "argument --top: '0' is less than 1"),
    (["worker", "--concurrency", "0"], "argument --concurrency: '0' is less than 1"),
])
def test_counts_out_of_range_are_refused_naming_the_option(recorded: CLI, command: list[str], message: str) -> None:
    done = recorded(*command, check=False)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_diff_context_zero_shows_only_the_changed_lines(cli: CLI, tmp_path: Path) -> None:
    text = "".join(f"Paragraph {n} stays.\n\n" for n in range(6))
    cli("import", "--manifest", str(_manifest(tmp_path, "c", [("t/a", "2026-01-01T00:00:00Z", text),
                                                              ("t/a", "2026-01-02T00:00:00Z",
                                                               text.replace("Paragraph 3 stays", "Paragraph 3 goes"))])))
    out = cli("diff", "t/a", "--context", "0", "--colour", "never").stdout
    assert "[-stays.-]{+goes.+}" in out and "Paragraph 2" not in out and "Paragraph 4" not in out
