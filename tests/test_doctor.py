"""`policywatch doctor`: every check, what to fix, and not one network connection (sockets are refused and
logged in the doctor's process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_declarations

NO_NETWORK = '''
import os, socket
_log = os.environ["POLICYWATCH_TEST_NETWORK_LOG"]
def _refuse(*args):
    with open(_log, "a") as handle:
        handle.write(repr(args)[:200] + "\\n")
    raise OSError("network access refused by the test")
_connect = socket.socket.connect
def _guarded(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _refuse(address)
    return _connect(self, address)
socket.socket.connect = _guarded
socket.socket.connect_ex = _guarded
socket.getaddrinfo = lambda *args, **kwargs: _refuse(*args)
socket.create_connection = lambda *args, **kwargs: _refuse(*args)
'''


@pytest.fixture
def no_network(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "no-network"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(NO_NETWORK, encoding="utf-8")
    log = tmp_path / "network.log"
    return {"PYTHONPATH": str(folder), "POLICYWATCH_TEST_NETWORK_LOG": str(log)}


def test_doctor_says_what_to_fix_without_touching_the_network(make_cli, tmp_path: Path, no_network) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", "", [
        {"id": "t/policy", "urls": ["https://vendor.example/policy"], "select": "main"}])
    cli = make_cli(decl)
    log = Path(no_network["POLICYWATCH_TEST_NETWORK_LOG"])

    fresh = cli("doctor", "--out", str(tmp_path / "site"), env=no_network, check=False)
    assert "note  database: no database yet at" in fresh.stdout and "the first crawl or import creates it" in fresh.stdout
    assert "ok    sources: 1 declared in" in fresh.stdout and "ok    claims: " in fresh.stdout
    assert f"ok    report directory: {tmp_path / 'site'} does not exist yet; {tmp_path} is writable" in fresh.stdout
    assert not cli.db.exists(), "the doctor creates no database"
    broken = tmp_path / "claims.yaml"
    broken.write_text("claims:\n  - id: acme/no-vendor\n", encoding="utf-8")
    claims = cli("--claims", str(broken), "doctor", "--out", str(tmp_path / "site"), env=no_network, check=False)
    assert claims.returncode == 1 and "ok    sources: 1 declared in" in claims.stdout
    assert f"fix   claims: {broken}: claim 'acme/no-vendor': field 'vendor': is required" in claims.stdout, claims.stdout

    (tmp_path / "p.html").write_bytes(b"<html><body><main><p>We keep chats for 30 days.</p></main></body></html>")
    (tmp_path / "m.jsonl").write_text('{"source": "t/policy", "at": "2026-01-01T00:00:00Z", "path": "p.html"}\n',
                                      encoding="utf-8")
    cli("import", "--manifest", str(tmp_path / "m.jsonl"))
    config = tmp_path / "pw.toml"
    config.write_text('chromium = "/nonexistent/chromium"\n\n[[notify]]\nurl = "json://127.0.0.1:9/hook"\n'
                      'name = "team hook"\n\n[[notify]]\nurl = "nosuchservice://x/y"\n', encoding="utf-8")
    blocked = tmp_path / "site-file"
    blocked.write_text("not a directory", encoding="utf-8")
    log.unlink(missing_ok=True)
    result = cli("--config", str(config), "doctor", "--out", str(blocked), env=no_network, check=False)
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert lines[0] == f"ok    settings: {config}; 2 notification target(s)"
    assert "ok    notifications: team hook: Apprise reads the URL" in lines
    assert any(line.startswith("fix   notifications: nosuchservice target ") and line.endswith(
        ": Apprise does not recognise this URL (scheme or syntax)") for line in lines), lines
    assert any(line.startswith("ok    database: sqlite:///") and line.endswith("(current)") for line in lines)
    assert ("fix   browser: no Chromium executable at /nonexistent/chromium: sudo apt-get install chromium (Debian, "
            "Ubuntu), or set chromium = \"/path/to/chromium\" in the settings; without it, pages that need a browser "
            "are recorded as failed fetches") in lines
    assert f"fix   report directory: {blocked} exists and is not a directory" in lines
    assert not any("not declared" in line for line in lines)
    renamed = write_declarations(tmp_path / "renamed.yaml", "", [
        {"id": "t/policy-renamed", "urls": ["https://vendor.example/policy"], "select": "main"}])
    moved = cli("--sources", str(renamed), "doctor", "--out", str(tmp_path / "site"), env=no_network, check=False)
    assert (f"note  sources: 1 recorded source(s) not declared in {renamed}, so no longer checked: t/policy "
            f"(their record is kept;") in moved.stdout, moved.stdout
    assert lines[-1] == "policywatch doctor: 3 thing(s) to fix"
    assert not log.exists(), f"the doctor tried the network: {log.read_text() if log.exists() else ''}"

    # The guard itself works: a connection attempt in a process started the same way is caught.
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.socket().connect(('127.0.0.1', 9))"],
                           env={**os.environ, **no_network}, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 1 and "refused by the test" in probe.stderr
    assert log.exists() and "127.0.0.1" in log.read_text()


def test_doctor_notes_a_claim_scope_that_matches_no_source(make_cli, tmp_path: Path, no_network) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", "", [
        {"id": "t/policy", "urls": ["https://vendor.example/policy"], "select": "main"},
        {"id": "t/terms", "urls": ["https://vendor.example/terms"], "select": "main"}])
    claims = tmp_path / "claims.yaml"
    claims.write_text(
        "claims:\n"
        "  - {id: t/typo, vendor: Testco, statement: {en: S}, scope: [t/polcy],\n"
        "     evidence: {supports: [{id: m, en: {patterns: [keep]}}]}}\n"
        "  - {id: t/fine, vendor: Testco, statement: {en: S}, scope: ['t/pol*', t/terms],\n"
        "     evidence: {supports: [{id: m, en: {patterns: [keep]}}]}}\n", encoding="utf-8")
    cli = make_cli(decl)
    result = cli("--claims", str(claims), "doctor", "--out", str(tmp_path / "site"), env=no_network, check=False)
    notes = [line for line in result.stdout.splitlines() if line.startswith("note  claims: ")]
    assert notes == [f"note  claims: {claims}: claim 't/typo': field 'scope': 't/polcy' matches no source declared "
                     "or recorded, so the claim has nothing to read (a mistyped id?); Testco's declared sources are "
                     "t/policy, t/terms"], result.stdout
    assert "ok    claims: 2 claim(s) in" in result.stdout
    # A note, not a thing to fix: a claims file may name documents these declarations leave out.
    assert "fix   claims" not in result.stdout, result.stdout
    # The record's own sources count: once t/polcy is recorded, its scope matches.
    (tmp_path / "p.html").write_text("<main><p>We keep chats for 30 days.</p></main>", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text('{"source": "t/polcy", "at": "2026-01-01T00:00:00Z", "path": "p.html"}\n',
                                      encoding="utf-8")
    typo = write_declarations(tmp_path / "typo.yaml", "", [
        {"id": "t/polcy", "urls": ["https://vendor.example/policy"], "select": "main"}])
    cli("--sources", str(typo), "--claims", str(claims), "import", "--manifest", str(tmp_path / "m.jsonl"))
    again = cli("--claims", str(claims), "doctor", "--out", str(tmp_path / "site"), env=no_network, check=False)
    assert not [line for line in again.stdout.splitlines() if line.startswith("note  claims: ")], again.stdout


def test_doctor_says_a_declarations_mistake_once(make_cli, tmp_path: Path, no_network) -> None:  # type: ignore[no-untyped-def]
    decl = tmp_path / "sources.yaml"
    decl.write_text("sources:\n  - {id: t/policy, vendor: T, title: P, document_type: P, language: en,\n"
                    "     urls: ['https://vendor.example/policy'], select: 'main >> p'}\n", encoding="utf-8")
    cli = make_cli(decl)
    result = cli("doctor", "--out", str(tmp_path / "site"), env=no_network, check=False)
    assert result.returncode == 1
    fixes = [line for line in result.stdout.splitlines() if line.startswith(("fix   declarations", "fix   claims"))]
    assert len(fixes) == 1 and fixes[0].startswith(f"fix   declarations: {decl}"), result.stdout
    assert any(line.startswith("ok    claims: ") and line.endswith("(their scopes not checked until the "
                                                                 "declarations are fixed)")
               for line in result.stdout.splitlines()), result.stdout
