"""Loading claims/*.yaml: the bundled file, and every error naming file, claim and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from analysis.claims import ClaimSet, Role, SourceInfo
from ingest.claims_declarations import BUNDLED_CLAIMS, ClaimDeclarationError, load_claims

CASES = yaml.safe_load((Path(__file__).parent / "data" / "claims" / "invalid.yaml").read_text(encoding="utf-8"))
GOOD = """claims:
  - id: v/good
    vendor: V
    statement: {en: Something is said.}
    evidence:
      supports: [{id: said, en: {patterns: ['\\bsomething is said\\b']}}]
"""


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_invalid_claims_name_file_claim_and_field(case: dict, tmp_path: Path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text(case["file"], encoding="utf-8")
    with pytest.raises(ClaimDeclarationError) as raised:
        load_claims(path)
    message = str(raised.value)
    assert message.startswith(str(path)), message
    for part in case["error"]:
        assert part in message, f"{part!r} not in {message!r}"


def test_a_bad_file_in_a_directory_yields_no_claims_at_all(tmp_path: Path) -> None:
    (tmp_path / "a-good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b-bad.yaml").write_text(CASES[0]["file"], encoding="utf-8")
    with pytest.raises(ClaimDeclarationError, match="b-bad.yaml"):
        load_claims(tmp_path)
    (tmp_path / "b-bad.yaml").unlink()
    assert [c.id for c in load_claims(tmp_path)] == ["v/good"]


def test_refs_across_files_reuse_conditions_with_their_own_role_id_and_expect(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("""claims:
  - id: v/other
    vendor: V
    statement: {en: Nothing is said.}
    evidence:
      contradicts: [{id: said-anyway, ref: 'v/good#said', expect: {polarity: affirmative}}]
""", encoding="utf-8")
    claims = {c.id: c for c in load_claims(tmp_path)}
    reused = claims["v/other"].matcher("said-anyway")
    original = claims["v/good"].matcher("said")
    assert reused.role is Role.CONTRADICTS and reused.ref == "v/good#said"
    assert reused.conditions == original.conditions
    assert reused.expect is not None and original.expect is None


def test_scope_must_name_declared_sources_when_they_are_known(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD.replace("    vendor: V\n", "    vendor: V\n    scope: ['v/privacy-*']\n"), encoding="utf-8")
    claim = load_claims(path, source_ids=["v/privacy-eu", "v/terms"])[0]
    assert claim.in_scope(SourceInfo("v/privacy-eu", "V", "en"))
    assert not claim.in_scope(SourceInfo("v/terms", "V", "en"))
    with pytest.raises(ClaimDeclarationError, match="field 'scope': 'v/privacy-\\*' matches no declared source"):
        load_claims(path, source_ids=["v/terms"])


def test_default_scope_is_every_source_of_the_vendor(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD, encoding="utf-8")
    claim = load_claims(path)[0]
    assert claim.in_scope(SourceInfo("v/anything", "V", "de"))
    assert not claim.in_scope(SourceInfo("w/anything", "W", "en"))


def test_bundled_claims_load_with_the_bundled_sources() -> None:
    declared = yaml.safe_load((Path(__file__).resolve().parent.parent / "sources" / "openai.yaml").read_text("utf-8"))
    claims = load_claims(BUNDLED_CLAIMS, source_ids=[s["id"] for s in declared["sources"]])
    ids = [c.id for c in claims]
    assert len(ids) == len(set(ids)) >= 14
    claimset = ClaimSet(claims)
    german = SourceInfo("openai/privacy-policy-eu-de", "OpenAI", "de")
    assert "openai/chat-history-can-be-turned-off" in {c.id for c in claimset.for_source(german)}


def test_fingerprint_changes_with_what_the_evaluation_depends_on_only(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(GOOD, encoding="utf-8")
    before = load_claims(path)[0].fingerprint
    path.write_text(GOOD.replace("Something is said.", "Something is said again."), encoding="utf-8")
    assert load_claims(path)[0].fingerprint == before, "the statement's wording does not change the evaluation"
    path.write_text(GOOD.replace("something is said", "something is stated"), encoding="utf-8")
    assert load_claims(path)[0].fingerprint != before


def test_a_claim_names_its_file_by_its_full_path_however_it_was_given(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "claims.yaml").write_text((BUNDLED_CLAIMS / "openai.yaml").read_text(encoding="utf-8"),
                                                   encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    claims = load_claims("mine/claims.yaml")
    assert {c.declared_in for c in claims} == {str(tmp_path / "mine" / "claims.yaml")}


@pytest.mark.parametrize(("pattern", "shown"), [
    ("\\bkeep\\b", "'\\bkeep\\b'"),            # backslashes as written, not doubled
    ("don't", "'don''t'"),                     # YAML's single-quoted form: its quote doubled
    ("a\nb\x7f", "'a\\x0ab\\x7f'"),            # control characters escaped, never printed raw
])
def test_a_pattern_in_a_message_reads_as_the_file_holds_it(pattern: str, shown: str) -> None:
    from analysis.errors import as_written

    assert as_written(pattern) == shown
