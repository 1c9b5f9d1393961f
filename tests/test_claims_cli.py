"""`policywatch claims …` as a user runs it, on three imported nights of a fictional vendor (claims_support)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from claims_support import ClaimsCLI, import_record

TEMPORARY = "acme/temporary-chats-deleted-after-30-days"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> ClaimsCLI:
    return import_record(tmp_path_factory.mktemp("claims-cli"))


def test_the_import_says_which_claims_changed_status_and_evaluate_lists_them(cli: ClaimsCLI) -> None:
    assert (f"claims: {TEMPORARY}: supported → weakened (acme/help v2, 2026-03-02T06:00:00Z)\n"
            "  was: “We keep a copy for up to 30 days to monitor for abuse, then delete it.”\n") in cli.imported
    assert "claims: acme/no-sale: supported → no longer stated (acme/privacy v2, 2026-03-03T06:00:00Z)" in cli.imported
    lines = cli("claims", "evaluate").stdout.splitlines()
    assert lines[0].startswith("claims at ") and "(3 declared; evaluated in " in lines[0]
    assert lines[1:] == [
        f"  {'no longer stated':32} {'since 2026-03-03':17} acme/hostile",
        f"  {'no longer stated':32} {'since 2026-03-03':17} acme/no-sale",
        f"  {'weakened':32} {'since 2026-03-02':17} {TEMPORARY}",
    ]


def test_list_shows_status_since_and_statement_and_filters_by_status(cli: ClaimsCLI) -> None:
    out = cli("claims").stdout.splitlines()
    assert out[out.index(f"{TEMPORARY}  (Acme AI; retention)") + 1:][:2] == [
        "  weakened since 2026-03-02T06:00:00Z", "  Acme AI deletes temporary chats after 30 days."]
    weakened = cli("claims", "--status", "weakened").stdout
    assert TEMPORARY in weakened and "acme/no-sale" not in weakened
    assert cli("claims", "--status", "contradicted").stdout == "no claims recorded with status contradicted\n"
    rows = cli.json("claims")
    row = next(r for r in rows if r["id"] == TEMPORARY)
    assert {k: row[k] for k in ("status", "status_label", "since", "cause", "declared", "tracked", "evidence")} == {
        "status": "weakened", "status_label": "weakened", "since": "2026-03-02T06:00:00Z", "cause": "vendor_change",
        "declared": True, "tracked": True, "evidence": {"supports": 1, "contradicts": 0}}
    assert row["statement"]["de"] == "Acme AI löscht temporäre Chats nach 30 Tagen."


def test_show_gives_the_timeline_the_evidence_with_its_span_and_versions(cli: ClaimsCLI) -> None:
    out = cli("claims", "show", "acme/no-sale").stdout.splitlines()
    assert out[:2] == ["acme/no-sale (Acme AI; sharing)", "  en: Acme AI does not sell personal data."]
    assert "status: no longer stated since 2026-03-03T06:00:00Z" in out
    assert ("  2026-03-03T06:00:00Z  supported → no longer stated  (vendor change, acme/privacy v2; announced)"
            in out)
    assert ("  supports (past) acme/privacy, matcher does-not-sell: said from v1 (2026-03-01) to v1 (2026-03-01); "
            "ended: reworded at v2 (2026-03-03)") in out
    assert "    “We do not [sell personal data].”" in out, "the matched words are marked"
    assert "    replaced by: “We do not sell or share personal data.”" in out
    data = cli.json("claims", "show", TEMPORARY)
    assert [(e["status"], e["since"], e["announce"]) for e in data["timeline"]] == [
        ("supported", "2026-03-01T06:00:00Z", False), ("weakened", "2026-03-02T06:00:00Z", True)]
    current, past = data["evidence"]
    assert current["current"] and current["match"] == "We keep a copy for up to 90 days"
    assert current["expect_failures"] == ["names '90 days', expected at most 30 days"]
    assert (past["first_version"]["number"], past["last_version"]["number"], past["ended"]["reason"],
            past["ended"]["version"]) == (1, 1, "reworded", 2)
    assert data["sources"] == {"acme/help": "Acme AI — Help: chats"}
    assert data["claim"]["fingerprint"] and data["declared"] is True


def test_show_at_a_past_time_gives_the_status_then(cli: ClaimsCLI) -> None:
    then = cli.json("claims", "show", TEMPORARY, "--at", "2026-03-01T12:00:00Z")
    assert (then["status"], then["since"], then["at"]) == ("supported", "2026-03-01T06:00:00Z", "2026-03-01T12:00:00Z")
    assert [e["status"] for e in then["timeline"]] == ["supported"]
    assert [(e["match"], e["current"]) for e in then["evidence"]] == [("We keep a copy for up to 30 days", True)]
    assert then["tracked"] is True
    before = cli.json("claims", "show", TEMPORARY, "--at", "2026-02-01T00:00:00Z")
    assert (before["status"], before["since"], before["evidence"], before["tracked"]) == ("unverified", None, [], False)
    # Before tracking began the text says so, as `claims evaluate --at` does, never a status "since None".
    text = cli("claims", "show", TEMPORARY, "--at", "2026-02-01T00:00:00Z").stdout
    assert "status at 2026-02-01T00:00:00Z: not tracked yet (no document in scope was recorded by then)" in text
    assert "None" not in text
    evaluated = cli.json("claims", "evaluate", "--at", "2026-02-01T00:00:00Z")["claims"]
    assert {c["id"]: c["status"] for c in evaluated}[TEMPORARY] is None
    statuses = cli.json("claims", "evaluate", "--at", "2026-03-02T12:00:00Z")["claims"]
    assert {c["id"]: c["status"] for c in statuses} == {
        "acme/hostile": "supported", "acme/no-sale": "supported", TEMPORARY: "weakened"}


def test_a_time_past_the_record_is_said_to_be(cli: ClaimsCLI) -> None:
    # The record's last confirmed text is the third night's; the help article, the one document in the scope of
    # the 30-day claim, was last imported on the second: past that the claim's status is not known, only its last.
    within = cli("claims", "evaluate", "--at", "2026-03-03T06:00:00Z", "--json")
    assert within.stderr == "", within.stderr
    past = cli("claims", "evaluate", "--at", "2027-01-01T00:00:00Z", "--json")
    assert past.stderr == ("policywatch: --at 2027-01-01T00:00:00Z is past the record: no document's text was "
                           "confirmed after 2026-03-03T06:00:00Z; the statuses shown are the ones known then\n")
    assert [json.loads(r.stdout)["record_reaches"] for r in (within, past)] == ["2026-03-03T06:00:00Z"] * 2
    assert cli("claims", "show", TEMPORARY, "--at", "2026-03-02T06:00:00Z").stderr == ""
    shown = cli("claims", "show", TEMPORARY, "--at", "2026-03-03T06:00:00Z")
    assert shown.stderr == ("policywatch: --at 2026-03-03T06:00:00Z is past the record: no text of a document in "
                            "the claim's scope was confirmed after 2026-03-02T06:00:00Z; the status shown is the one "
                            "known then\n")
    assert "status at 2026-03-03T06:00:00Z: weakened since 2026-03-02T06:00:00Z" in shown.stdout
    assert cli("claims", "show", "acme/no-sale", "--at", "2026-03-03T06:00:00Z").stderr == ""
    assert cli("claims", "evaluate").stderr == cli("claims", "show", TEMPORARY).stderr == ""  # now: no warning


def test_suggestions_are_labelled_as_such(cli: ClaimsCLI) -> None:
    out = cli("claims", "suggest", "acme/no-sale").stdout.splitlines()
    assert out[0] == ("acme/no-sale: sentences worded like the statement (BM25) — suggestion (similar wording, "
                      "not evidence); they never change a status")
    assert any(line.startswith("  en #1 score ") and "acme/privacy" in line for line in out)
    data = json.loads(cli("claims", "suggest", "acme/no-sale", "--source", "acme/privacy", "--json").stdout)
    assert data["label"] == "suggestion (similar wording, not evidence)"
    assert data["suggestions"][0]["sentence"] == "We do not sell or share personal data."
    assert {s["source"] for s in data["suggestions"]} == {"acme/privacy"}


@pytest.mark.parametrize("args, message", [
    (("claims", "show", "acme/no-sales"), "policywatch: no recorded claim 'acme/no-sales'; did you mean acme/no-sale?"),
    (("claims", "show", "zz/unrelated-words"),
     "policywatch: no recorded claim 'zz/unrelated-words'; the closest of the 3 recorded: "),
    (("claims", "show"), "policywatch: `policywatch claims show` needs a claim id"),
    (("claims", "evaluate", "acme/no-sale"), "policywatch: `policywatch claims evaluate` evaluates every claim"),
    (("claims", "suggest", "acme/nope"), "policywatch: no claim 'acme/nope' is declared in "),
    (("claims", "suggest", "acme/no-sale", "--source", "acme/none"), "policywatch: no recorded source 'acme/none'"),
])
def test_mistakes_are_one_line_errors(cli: ClaimsCLI, args: tuple[str, ...], message: str) -> None:
    out = cli(*args, check=False)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and out.stderr.startswith(message)


def test_without_a_database_it_says_where_it_looked(tmp_path: Path) -> None:
    cli = ClaimsCLI(tmp_path, tmp_path / "none.yaml", tmp_path / "claims.yaml")
    out = cli("claims", check=False)
    assert out.returncode == 2 and out.stderr.startswith(f"policywatch: no database at {tmp_path / 'policywatch.db'}")


def test_an_empty_claims_directory_withdraws_every_claim_and_keeps_its_record(tmp_path: Path) -> None:
    cli = import_record(tmp_path)
    cli.claims_file = tmp_path / "no-claims"
    cli.claims_file.mkdir()
    out = cli("claims", "evaluate").stdout
    assert "claims: acme/no-sale: no longer declared; its record is kept" in out
    assert "(0 declared;" in out
    listed = cli("claims").stdout
    assert "acme/no-sale  (Acme AI; sharing)  [no longer declared since " in listed
    shown = cli.json("claims", "show", "acme/no-sale")
    assert shown["declared"] is False and [e["status"] for e in shown["timeline"]] == ["supported", "no_longer_stated"]


def test_the_claims_location_is_a_setting_like_the_sources(tmp_path: Path) -> None:
    from ingest.claims_declarations import BUNDLED_CLAIMS
    from policywatch.config import load_settings

    config = tmp_path / "policywatch.toml"
    config.write_text('[policywatch]\nclaims = "/from/file"\nclaim_time_limit = 0.5\n', encoding="utf-8")
    assert load_settings(environ={}).claims == BUNDLED_CLAIMS
    assert load_settings(config_file=config, environ={}).claims == Path("/from/file")
    assert load_settings(config_file=config, environ={}).claim_time_limit == 0.5
    env = {"POLICYWATCH_CLAIMS": "/from/env"}
    assert load_settings(config_file=config, environ=env).claims == Path("/from/env")
    assert load_settings({"claims": "/from/option"}, config_file=config, environ=env).claims == Path("/from/option")


def test_claims_read_with_other_claims_than_the_records_name_where_they_came_from(cli: ClaimsCLI,
                                                                                  tmp_path: Path) -> None:
    # The record's claims came from cli.claims_file; a folder declaring none of them is not a newer edition.
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "claims.yaml").write_text(cli.claims_file.read_text(encoding="utf-8").replace("acme/", "acmeish/"),
                                       encoding="utf-8")
    listed = cli("--claims", str(other), "claims", check=False)
    origin = str(cli.claims_file.resolve())
    assert (f"none of the record's claims is in {other}: they were last evaluated from {origin}; pass "
            f"`--claims {origin}` to read the record with them") in listed.stderr
    assert "would record its 3 claim(s) as no longer declared" in listed.stderr
    assert "no longer declared" not in cli("claims").stderr

    # An edited copy elsewhere, one claim left out: a new edition, which would end that one claim only.
    edited = tmp_path / "edited"
    edited.mkdir()
    data = yaml.safe_load(cli.claims_file.read_text(encoding="utf-8"))
    data["claims"] = [c for c in data["claims"] if c["id"] != "acme/hostile"]
    (edited / "claims.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    said = cli("--claims", str(edited), "claims", check=False).stderr
    assert f"the claims in {edited} changed since the record was last evaluated; `policywatch claims evaluate` " in said
    assert said.rstrip().endswith("that would record 1 claim(s) as no longer declared: acme/hostile")


def test_an_id_like_no_recorded_claim_lists_the_closest_ones(cli: ClaimsCLI) -> None:
    said = cli("claims", "show", "zz/unrelated-words", check=False).stderr
    assert {"acme/hostile", "acme/no-sale", TEMPORARY} <= set(said.split(": ", 2)[2].split(" (")[0].split(", ")), said
