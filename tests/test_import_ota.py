"""`policywatch import --ota`: an Open Terms Archive versions repository (a real git history built in the
test's folder; and the real OpenAI privacy-policy history laid out the same way, when ../shared is here)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CLI, write_declarations

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

DOC = "ChatGPT/Privacy Policy.md"


def git(repo: Path, *args: str, at: str | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "OTA", "GIT_AUTHOR_EMAIL": "bot@example.org",
           "GIT_COMMITTER_NAME": "OTA", "GIT_COMMITTER_EMAIL": "bot@example.org"}
    if at:
        env.update(GIT_AUTHOR_DATE=at, GIT_COMMITTER_DATE=at)
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def commit(repo: Path, path: str, text: str, at: str, subject: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", subject, at=at)


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


CLAIM = {"id": "openai/chats-kept-30-days", "vendor": "OpenAI", "statement": {"en": "OpenAI keeps chats 30 days."},
         "scope": ["openai/privacy-policy"],
         "evidence": {"supports": [{"id": "kept", "expect": {"max_days": 30},
                                    "en": {"patterns": [r"\bkeep your chats for \d+ days\b"]}}]}}


def test_each_commit_of_the_document_becomes_an_import_entry(make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repo = tmp_path / "genai-contrib-versions"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "remote", "add", "origin", "https://github.com/OpenTermsArchive/genai-contrib-versions.git")
    body = "# Privacy Policy\n\nWe keep your chats for {} days.\n\nContact us with any question.\n"
    commit(repo, DOC, body.format(30), "2024-02-20T18:30:04Z", "First record of ChatGPT Privacy Policy")
    commit(repo, "ChatGPT/Terms of Service.md", "# Terms\n\nBe nice.\n", "2024-02-21T00:00:00Z",
           "First record of ChatGPT Terms of Service")
    commit(repo, DOC, body.format(90), "2024-06-10T00:30:16Z", "Record new changes of ChatGPT Privacy Policy")
    commit(repo, DOC, body.format(90) + "\nUpdated.\n", "2024-07-19T18:30:08Z",
           "Apply technical or declaration upgrade on ChatGPT Privacy Policy")
    decl = write_declarations(tmp_path / "sources.yaml", "", [
        {"id": "openai/privacy-policy", "vendor": "OpenAI", "urls": ["https://openai.com/policies/privacy-policy/"]}])
    cli = make_cli(decl)
    claims = tmp_path / "claims.yaml"
    claims.write_text(yaml.safe_dump({"claims": [CLAIM]}), encoding="utf-8")

    result = cli("--claims", str(claims), "import", "--ota", str(repo), "--source", "openai/privacy-policy",
                 "--document", DOC)
    printed = result.stdout.splitlines()
    assert printed[:2] == [
        f"{DOC}: 3 commit(s) in {repo}, 1 of them Open Terms Archive's own technical upgrades (imported like the others)",
        "imported 3 entries (2 changed, 1 first), 0 already recorded"]
    assert [line for line in printed if line.startswith("claims: ")] == [
        "claims: openai/chats-kept-30-days: not tracked → supported (openai/privacy-policy v1, 2024-02-20T18:30:04Z) "
        "(not announced)",
        "claims: openai/chats-kept-30-days: supported → weakened (openai/privacy-policy v2, 2024-06-10T00:30:16Z)"], \
        "the import evaluates the claims as every recording command does"
    assert rows(cli.db, "select number, first_seen from versions order by number") == [
        (1, "2024-02-20 18:30:04.000000"), (2, "2024-06-10 00:30:16.000000"), (3, "2024-07-19 18:30:08.000000")]
    urls = [u for (u,) in rows(cli.db, "select url from snapshots order by id")]
    assert urls[0].startswith("https://github.com/OpenTermsArchive/genai-contrib-versions/blob/")
    assert urls[0].endswith("/ChatGPT/Privacy%20Policy.md")
    changes = cli.json("changes")
    assert changes[-1]["flags"] == ["retention"] and "30 days → 90 days" in changes[-1]["summary"]

    again = cli("import", "--ota", str(repo), "--source", "openai/privacy-policy", "--document", DOC)
    assert again.stdout.splitlines()[-1] == "imported 0 entries (nothing new), 3 already recorded"

    wrong = cli("import", "--ota", str(repo), "--source", "openai/privacy-policy", "--document", "ChatGPT/Nope.md",
                check=False)
    assert wrong.returncode == 2
    assert "--document 'ChatGPT/Nope.md': no commit of" in wrong.stderr and "ChatGPT/Terms of Service.md" in wrong.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    not_git = cli("import", "--ota", str(plain), "--source", "openai/privacy-policy", "--document", DOC, check=False)
    assert not_git.returncode == 2 and "not a git checkout" in not_git.stderr
    # Checked before the database is opened: a mistaken --ota leaves no new, empty record behind.
    fresh = CLI(tmp_path / "fresh.db", decl, tmp_path)
    for ota, document in ((plain, DOC), (repo, "ChatGPT/Nope.md")):
        refused = fresh("import", "--ota", str(ota), "--source", "openai/privacy-policy", "--document", document,
                        check=False)
        assert refused.returncode == 2 and not (tmp_path / "fresh.db").exists(), refused.stderr
    both = cli("import", "--ota", str(repo), "--manifest", "m.jsonl", check=False)
    assert both.returncode == 2 and "give either --manifest FILE or --ota DIR" in both.stderr


def test_the_real_openai_privacy_policy_history_as_an_ota_repository(make_cli, tmp_path: Path, shared: Path) -> None:  # type: ignore[no-untyped-def]
    series = sorted((shared / "ota-data/versions/genai-contrib/ChatGPT/Privacy Policy").glob("*.md"))
    repo = tmp_path / "versions"
    repo.mkdir()
    git(repo, "init", "-q")
    for path in series:
        at = f"{path.stem[:10]}T{path.stem[11:19].replace('-', ':')}Z"  # 2024-02-20T18-30-04Z, as git reads it
        commit(repo, DOC, path.read_text(encoding="utf-8"), at, "Record new changes of ChatGPT Privacy Policy")
    decl = write_declarations(tmp_path / "sources.yaml", "", [
        {"id": "openai/privacy-policy", "vendor": "OpenAI", "urls": ["https://openai.com/policies/privacy-policy/"],
         "filters": ["typography", "opens-in-new-window"]}])
    cli = make_cli(decl)
    result = cli("import", "--ota", str(repo), "--source", "openai/privacy-policy", "--document", DOC, timeout=600)
    assert f"{DOC}: {len(series)} commit(s)" in result.stdout
    (outcomes,), = rows(cli.db, "select count(*) from fetch_outcomes")
    (versions,), = rows(cli.db, "select count(*) from versions")
    assert outcomes == len(series) and 2 <= versions <= len(series)
    assert rows(cli.db, "select min(first_seen) from versions") == [(f"{series[0].stem[:10]} "
                                                                      f"{series[0].stem[11:19].replace('-', ':')}.000000",)]
