"""A claim's record does not depend on the order in which its documents' histories were recorded.

Two documents in one claim's scope, imported one after the other (as
`import --ota` imports one document at a time): whichever comes first, the
claim ends with the status and timeline that one import of both gives, and
a history recorded out of time order is evaluated again as a revision
(`earlier_history`) whose events are announced as they would have been in
time order: for a change of the vendor's wording, not for a tracking start.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from claims_support import ClaimsCLI, write_claims

CLAIM_ID = "acme/no-sale"
CLAIM = {"id": CLAIM_ID, "vendor": "Acme AI", "topics": ["sharing"],
         "statement": {"en": "Acme AI does not sell personal data."},
         "said_by": "Acme AI", "scope": ["acme/privacy-eu", "acme/privacy-us"],
         "evidence": {"supports": [{"id": "does-not-sell", "expect": {"polarity": "negated"},
                                    "en": {"patterns": [r"\bsell personal data\b"]}}]}}
SELLS_NOT = "We do not sell personal data."
# The US policy says it first and drops it; the EU policy says it from its start on. The claim is supported
# from the US policy's first version on, without a break.
HISTORIES = {
    "overlapping": {
        "acme/privacy-us": [("2023-10-16T00:00:00Z", SELLS_NOT), ("2024-06-10T00:00:00Z", "We keep logs.")],
        "acme/privacy-eu": [("2024-01-10T00:00:00Z", f"{SELLS_NOT} We keep logs for a while."),
                            ("2024-09-10T00:00:00Z", f"{SELLS_NOT} We keep logs for a short while.")],
    },
    # The US policy stops saying it before the EU policy begins, which never says it: a change of the vendor's
    # wording that the feeds announce, however late the US policy's history is recorded.
    "dropped before the other began": {
        "acme/privacy-us": [("2023-10-16T00:00:00Z", SELLS_NOT), ("2024-03-01T00:00:00Z", "We keep logs.")],
        "acme/privacy-eu": [("2024-06-10T00:00:00Z", "We keep logs for a while."),
                            ("2024-09-10T00:00:00Z", "We keep logs for a short while.")],
    },
    # The EU policy begins only after the US policy's last version: in time order either way round.
    "one after the other": {
        "acme/privacy-us": [("2023-10-16T00:00:00Z", SELLS_NOT), ("2024-01-10T00:00:00Z", f"{SELLS_NOT} Logs.")],
        "acme/privacy-eu": [("2024-06-10T00:00:00Z", f"{SELLS_NOT} We keep logs for a while."),
                            ("2024-09-10T00:00:00Z", "We keep logs for a short while.")],
    },
}


def _record(root: Path, history: dict[str, list[tuple[str, str]]], batches: list[list[str]]) -> ClaimsCLI:
    """The histories imported from Markdown files, one `import --manifest` per batch of sources."""
    root.mkdir()
    declarations = root / "sources.yaml"
    declarations.write_text(yaml.safe_dump({"sources": [
        {"id": sid, "vendor": "Acme AI", "title": sid, "document_type": "Privacy Policy", "language": "en",
         "urls": [f"https://acme.example/{sid}"]} for sid in history]}), encoding="utf-8")
    cli = ClaimsCLI(root, declarations, write_claims(root / "claims.yaml", [CLAIM]))
    for n, batch in enumerate(batches):
        lines = []
        for sid in batch:
            for v, (at, text) in enumerate(history[sid], 1):
                name = f"{sid.replace('/', '-')}-{v}.md"
                (root / name).write_text(f"# Privacy policy\n\nHow Acme AI handles data.\n\n{text}\n",
                                         encoding="utf-8")
                lines.append(json.dumps({"source": sid, "at": at, "path": name}))
        manifest = root / f"batch-{n}.jsonl"
        manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
        cli.imported += cli("import", "--manifest", str(manifest)).stdout
    return cli


def _claim(cli: ClaimsCLI) -> tuple[str, list[tuple[str, str, str]], list[tuple[str, str, bool]]]:
    shown = cli.show(CLAIM_ID)
    evidence = [(e["source"], e["first_seen"], e["sentence"]) for e in shown["evidence"]]
    return cli.statuses()[CLAIM_ID], evidence, cli.timeline(CLAIM_ID)


@pytest.mark.parametrize("case", sorted(HISTORIES))
def test_either_order_of_import_gives_the_record_one_import_gives(tmp_path: Path, case: str) -> None:
    history = HISTORIES[case]
    together = _claim(_record(tmp_path / "together", history, [sorted(history)]))
    us_first = _record(tmp_path / "us-first", history, [["acme/privacy-us"], ["acme/privacy-eu"]])
    eu_first = _record(tmp_path / "eu-first", history, [["acme/privacy-eu"], ["acme/privacy-us"]])
    assert _claim(us_first) == together
    assert _claim(eu_first) == together
    full = _record(tmp_path / "full", history, [["acme/privacy-eu"], ["acme/privacy-us"]])
    full("claims", "evaluate", "--full")
    assert _claim(full) == together
    if case == "overlapping":
        assert together[0] == "supported"
        assert [(since, status) for since, status, _ in together[2]] == [("2023-10-16T00:00:00Z", "supported")]
    if case == "dropped before the other began":
        assert together[2] == [("2023-10-16T00:00:00Z", "supported", False),
                               ("2024-03-01T00:00:00Z", "no_longer_stated", True)]
        assert "2 events found, 0 withdrawn (1 event announced, as in time order)" in eu_first.imported


def test_a_history_recorded_out_of_time_order_is_a_revision_and_in_order_is_not(tmp_path: Path) -> None:
    history = HISTORIES["overlapping"]
    late = _record(tmp_path / "late", history, [["acme/privacy-eu"], ["acme/privacy-us"]])
    assert "history evaluated again (earlier history)" in late.imported
    reasons = late.sql("SELECT reason, at FROM claim_revisions WHERE claim_id = ? ORDER BY id", CLAIM_ID)
    # Dated when each import ran, not by its files' dates (the US import's last file is of 2024-06-10).
    performed = [at for (at,) in late.sql("SELECT performed_until FROM runs WHERE kind = 'import' ORDER BY id")]
    assert [reason for reason, _ in reasons] == ["declared", "earlier_history"]
    assert reasons[1][1] == performed[1] and reasons[0][1] <= performed[0] and reasons[1][1] > "2026"
    # The EU policy's tracking start at 2024-01-10 is withdrawn: the claim was supported since 2023-10-16.
    withdrawn = late.sql("SELECT since FROM claim_events WHERE claim_id = ? AND withdrawn_at IS NOT NULL", CLAIM_ID)
    assert [since[:10] for (since,) in withdrawn] == ["2024-01-10"]
    assert not [e for e in late.show(CLAIM_ID)["timeline"] if e["announce"]]

    in_order = _record(tmp_path / "in-order", HISTORIES["one after the other"],
                       [["acme/privacy-us"], ["acme/privacy-eu"]])
    assert "evaluated again" not in in_order.imported
    assert in_order.sql("SELECT reason FROM claim_revisions WHERE claim_id = ?", CLAIM_ID) == [("declared",)]


def test_earlier_history_that_changes_no_event_leaves_no_revision(tmp_path: Path) -> None:
    history = {"acme/privacy-us": [("2023-01-10T00:00:00Z", "We keep logs."), ("2023-06-10T00:00:00Z", "Logs.")],
               "acme/privacy-eu": [("2024-06-10T00:00:00Z", SELLS_NOT), ("2024-09-10T00:00:00Z", f"{SELLS_NOT} Logs.")]}
    late = _record(tmp_path / "late", history, [["acme/privacy-eu"], ["acme/privacy-us"]])
    together = _record(tmp_path / "together", history, [sorted(history)])
    assert _claim(late) == _claim(together)
    assert "evaluated again" not in late.imported
    assert late.sql("SELECT reason FROM claim_revisions WHERE claim_id = ?", CLAIM_ID) == [("declared",)]


def test_history_recorded_after_a_source_was_withdrawn_is_put_before_its_withdrawal(tmp_path: Path) -> None:
    history = {"acme/privacy-eu": [("2024-01-10T00:00:00Z", SELLS_NOT), ("2024-09-10T00:00:00Z", f"{SELLS_NOT} Logs.")],
               "acme/privacy-us": [("2025-01-10T00:00:00Z", SELLS_NOT), ("2025-06-10T00:00:00Z", "We keep logs.")]}
    root = tmp_path / "withdrawn"
    cli = _record(root, {"acme/privacy-eu": history["acme/privacy-eu"]}, [["acme/privacy-eu"]])
    # The EU policy leaves the declarations; then the US policy's history, older than that, is imported.
    cli.sources.write_text(yaml.safe_dump({"sources": [
        {"id": "acme/privacy-us", "vendor": "Acme AI", "title": "acme/privacy-us", "document_type": "Privacy Policy",
         "language": "en", "urls": ["https://acme.example/acme/privacy-us"]}]}), encoding="utf-8")
    assert "acme/privacy-eu withdrawn" in cli("claims", "evaluate").stdout
    lines = []
    for v, (at, text) in enumerate(history["acme/privacy-us"], 1):
        (root / f"us-{v}.md").write_text(f"# Privacy policy\n\nHow Acme AI handles data.\n\n{text}\n",
                                             encoding="utf-8")
        lines.append(json.dumps({"source": "acme/privacy-us", "at": at, "path": f"us-{v}.md"}))
    (root / "us.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli("import", "--manifest", str(root / "us.jsonl"))
    incremental = _claim(cli)
    cli("claims", "evaluate", "--full")
    assert incremental == _claim(cli)
    assert [status for _, status, _ in incremental[2]] == ["supported", "tracking_changed"]
