"""A mistake in a command's arguments is one line naming it (status 2), never an empty answer or a traceback."""

from __future__ import annotations

from pathlib import Path

from claims_support import ClaimsCLI, help_page, privacy_page, sources, write_claims
from policywatch.localserver import LocalServer, Page


def test_a_mistyped_claim_in_a_filter_is_an_error_and_a_report_needs_a_directory(tmp_path: Path,
                                                                                  server: LocalServer) -> None:
    server.routes.update({"/help": Page(help_page(30)), "/privacy": Page(privacy_page())})
    cli = ClaimsCLI(tmp_path, sources(tmp_path, server.base_url), write_claims(tmp_path / "claims.yaml"))
    cli("crawl", "--now", "2026-03-01T06:00:00Z")
    for command in (["articles", "--claim", "acme/no-sales"], ["mentions", "--claim", "acme/no-sales"]):
        typo = cli(*command, check=False)
        assert typo.returncode == 2, typo.stdout
        assert typo.stdout == "" and typo.stderr.strip() == (
            "policywatch: no recorded claim 'acme/no-sales'; did you mean acme/no-sale?"), "not 'no coverage'"
    known = cli("mentions", "--claim", "acme/no-sale")
    assert known.stdout.startswith("no mentions recorded that match")

    occupied = tmp_path / "site"
    occupied.write_text("a file where the site would go", encoding="utf-8")
    report = cli("report", "--out", str(occupied), check=False)
    assert report.returncode == 2 and "Traceback" not in report.stderr
    assert report.stderr.strip() == f"policywatch: --out {occupied}: cannot create the directory: File exists"
    assert occupied.read_text(encoding="utf-8") == "a file where the site would go"


def test_a_scope_that_names_no_source_of_a_declared_vendor_is_warned_of(tmp_path: Path, server: LocalServer) -> None:
    # A mistyped source id leaves the claim nothing to read; it is valid (a claims file may name documents the
    # declarations leave out), so the evaluation goes on, and says so, naming the file, claim and field.
    from claims_support import CLAIMS

    server.routes.update({"/help": Page(help_page(30)), "/privacy": Page(privacy_page())})
    cli = ClaimsCLI(tmp_path, sources(tmp_path, server.base_url), write_claims(tmp_path / "claims.yaml"))
    cli("crawl", "--now", "2026-03-01T06:00:00Z")
    typo = [claim | {"scope": ["acme/privcy"]} if claim["scope"] == ["acme/privacy"] else claim for claim in CLAIMS]
    write_claims(tmp_path / "claims.yaml", typo)
    warning = "claims.yaml: claim 'acme/no-sale': field 'scope': 'acme/privcy' matches no source declared or recorded"
    out = cli("claims", "evaluate")
    assert warning in out.stderr and "acme/help, acme/privacy" in out.stderr, out.stderr
    assert "nothing to read" in out.stderr
    # Said again by every evaluation until the file is fixed, not only by the one that read the changed file.
    assert warning in cli("claims", "evaluate").stderr
    assert warning in cli("crawl", "--now", "2026-03-02T06:00:00Z").stderr
    # One mistyped pattern beside one that matches: the claim reads less than it declares.
    write_claims(tmp_path / "claims.yaml", [claim | {"scope": ["acme/privcy", "acme/help"]}
                                             if claim["scope"] == ["acme/privacy"] else claim for claim in CLAIMS])
    partial = cli("claims", "evaluate").stderr
    assert "'acme/privcy' matches no source" in partial and "reads only what its other patterns match" in partial
    write_claims(tmp_path / "claims.yaml", CLAIMS)
    assert "matches no source" not in cli("claims", "evaluate").stderr
