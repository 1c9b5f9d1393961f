"""What `changes` and `show` print, as a user runs them, on an SQLite file and on PostgreSQL: severities tagged
alike, several `--source`, where `show --at` runs past the record, and the `changes --json` fields the README
documents."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CLI, REPO

RETENTION_OLD = "We keep your chats for 30 days.\n"
RETENTION_NEW = "We keep your chats for 90 days.\n"
# A substantive change the flagger finds nothing in: severity low, no flags (tests/data/meaning/en.yaml).
PLAIN_OLD = "We collect your email address.\n"
PLAIN_NEW = "We collect your email address.\n\nYou may not use the output to train a competing model.\n"


@pytest.fixture
def recorded(tmp_path: Path, db_url: str) -> CLI:
    """t/a: a high-severity retention change; t/b: a low-severity change with no flags; t/c: one version."""
    entry = {"vendor": "V", "document_type": "Privacy Policy", "language": "en", "urls": ["https://example.test/"]}
    decl = tmp_path / "sources.yaml"
    decl.write_text(yaml.safe_dump({"sources": [entry | {"id": sid, "title": sid} for sid in ("t/a", "t/b", "t/c")]}),
                    encoding="utf-8")
    lines = []
    for n, (sid, at, text) in enumerate([("t/a", "2026-01-01T00:00:00Z", RETENTION_OLD),
                                         ("t/a", "2026-01-05T00:00:00Z", RETENTION_NEW),
                                         ("t/b", "2026-01-02T00:00:00Z", PLAIN_OLD),
                                         ("t/b", "2026-01-06T00:00:00Z", PLAIN_NEW),
                                         ("t/c", "2026-01-03T00:00:00Z", PLAIN_OLD)]):
        (tmp_path / f"{n}.md").write_text(text, encoding="utf-8")
        lines.append(json.dumps({"source": sid, "at": at, "path": f"{n}.md"}))
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli = CLI(db_url, decl, tmp_path)  # type: ignore[arg-type]
    cli("import", "--manifest", str(tmp_path / "m.jsonl"))
    return cli


def test_changes_tags_every_severity_alike(recorded: CLI) -> None:
    lines = recorded("changes").stdout.splitlines()
    by_source = {line.split()[1]: line for line in lines}
    assert set(by_source) == {"t/a", "t/b"}, lines
    assert by_source["t/a"].endswith("words  [high] retention: chats 30 days → 90 days")
    assert by_source["t/b"].endswith("words  [low]"), "a low-severity change is tagged as high and medium ones are"
    assert [c["severity"] for c in recorded.json("changes")] == ["low", "high"]


def test_changes_takes_several_sources(recorded: CLI) -> None:
    both = recorded("changes", "--source", "t/a", "--source", "t/b").stdout
    assert "t/a" in both and "t/b" in both
    assert [c["source"] for c in recorded.json("changes", "--source", "t/b", "--source", "t/a")] == ["t/b", "t/a"]
    assert [c["source"] for c in recorded.json("changes", "--source", "t/a")] == ["t/a"]
    typo = recorded("changes", "--source", "t/a", "--source", "t/nope", check=False)
    assert typo.returncode == 2 and "no recorded source 't/nope'" in typo.stderr


def test_show_at_a_time_past_the_record_says_where_it_ends(recorded: CLI) -> None:
    past = recorded("show", "t/a", "--at", "2026-03-01T00:00:00Z")
    assert past.stdout == RETENTION_NEW
    # The record was imported: what confirmed v2 last is an imported file, not a check.
    assert past.stderr.strip() == ("policywatch: t/a: the record reaches only to 2026-01-05T00:00:00Z, the last "
                                   "imported file that confirmed v2: shown as it stood then, not known to be in force "
                                   "at 2026-03-01T00:00:00Z")
    shown = recorded.json("show", "t/a", "--at", "2026-03-01T00:00:00Z")
    assert (shown["number"], shown["at"], shown["record_reaches"]) == (2, "2026-03-01T00:00:00Z",
                                                                       "2026-01-05T00:00:00Z")
    within = recorded("show", "t/a", "--at", "2026-01-05T00:00:00Z")
    assert within.stdout == RETENTION_NEW and within.stderr == ""
    # Between v1's last confirmation and v2's first sighting the record knows neither was in force.
    gap = recorded("show", "t/a", "--at", "2026-01-03T00:00:00Z")
    assert gap.stdout == RETENTION_OLD
    assert gap.stderr.strip() == ("policywatch: t/a: v1 was last confirmed at 2026-01-01T00:00:00Z (the last "
                                  "imported file that confirmed it) and v2 first seen at 2026-01-05T00:00:00Z: v1 is "
                                  "shown as it stood then, not known to be in force at 2026-01-03T00:00:00Z")
    earlier = recorded.json("show", "t/a", "--at", "2026-01-03T00:00:00Z")
    assert (earlier["number"], earlier["record_reaches"]) == (1, "2026-01-01T00:00:00Z")
    confirmed = recorded("show", "t/a", "--at", "2026-01-01T00:00:00Z")
    assert confirmed.stdout == RETENTION_OLD and confirmed.stderr == "", "at its last confirmation v1 was in force"
    assert "record_reaches" not in recorded.json("show", "t/a")
    before = recorded("show", "t/a", "--at", "2025-12-31T00:00:00Z", check=False)
    assert before.returncode == 2 and before.stderr.strip() == (
        "policywatch: t/a had no version yet at 2025-12-31T00:00:00Z; its record begins at 2026-01-01T00:00:00Z (v1)")


def _documented(pattern: str) -> list[str]:
    """The field names of a `{a, b, c}` list in the README, found after `pattern`."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(pattern + r"[^{]*`\{([^}]*)\}`", readme, re.S)
    assert found, pattern
    return [name.strip() for name in found.group(1).replace("\n", " ").split(",")]


def test_the_readme_lists_the_fields_changes_json_prints(recorded: CLI, db_url: str) -> None:
    from datetime import datetime, timezone

    from storage.db import make_engine, session_factory, transaction
    from storage.models import Change, ChangeAnalysisRow

    engine = make_engine(db_url)
    try:  # an analysis `reanalyse` replaced, as it keeps one
        with transaction(session_factory(engine)) as session:
            change = session.query(Change).filter_by(source_id="t/a").one()
            session.add(ChangeAnalysisRow(change_id=change.id, replaced_at=datetime(2026, 2, 1, tzinfo=timezone.utc),
                                          kind="substantive", flags=[], severity="low", summary="", evidence=[],
                                          words_added=1, words_removed=1, lines_added=1, lines_removed=1))
    finally:
        engine.dispose()
    rows: list[dict[str, Any]] = recorded.json("changes")
    flagged = next(r for r in rows if r["source"] == "t/a")
    assert flagged["evidence"] and flagged["previous_analyses"], "the case has evidence and a replaced analysis"
    assert _documented(r"- `changes --json`: a list of") == list(flagged)
    assert _documented(r"each evidence item is") == list(flagged["evidence"][0])
    assert _documented(r"`previous_analyses` are\s+the analyses `reanalyse` replaced, oldest first, each") == \
        list(flagged["previous_analyses"][0])


def test_changes_that_no_filter_matches_are_told_apart_from_none_recorded(recorded: CLI) -> None:
    assert recorded("changes", "--severity", "none").stdout == "no recorded change matches\n"
    assert recorded("changes", "--source", "t/c").stdout == "no recorded change matches\n"
    assert recorded("changes", "--severity", "high").stdout.count("\n") == 1
