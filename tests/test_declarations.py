"""Source declarations: the bundled OpenAI set, and precise errors for bad files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ingest.declarations import DeclarationError, load_sources, select_sources
from ingest.declarations import BUNDLED_SOURCES
from policywatch.config import ConfigError, load_settings

CASES = yaml.safe_load((Path(__file__).parent / "data" / "declarations" / "invalid.yaml").read_text(encoding="utf-8"))

REQUIRED_OPENAI = {
    "privacy-policy-us": "https://openai.com/policies/privacy-policy/",
    "privacy-policy-eu": "https://openai.com/policies/eu-privacy-policy/",
    "privacy-policy-row": "https://openai.com/policies/row-privacy-policy/",
    "privacy-policy-eu-de": "https://openai.com/de-DE/policies/eu-privacy-policy/",
    "privacy-policy-eu-fr": "https://openai.com/fr-FR/policies/eu-privacy-policy/",
    "terms-of-use": "https://openai.com/policies/terms-of-use/",
    "model-improvement": "https://openai.com/policies/how-your-data-is-used-to-improve-model-performance/",
    "enterprise-privacy": "https://openai.com/enterprise-privacy/",
    "consumer-privacy": "https://openai.com/consumer-privacy/",
    "api-your-data": "https://platform.openai.com/docs/guides/your-data",
    "privacy-portal": "https://privacy.openai.com/",
    "nyt-data-demands": "https://openai.com/index/response-to-nyt-data-demands/",
}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_invalid_declarations_name_file_source_and_field(case: dict, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(case["file"], encoding="utf-8")
    with pytest.raises(DeclarationError) as raised:
        load_sources(path)
    message = str(raised.value)
    assert str(path) in message
    for part in case["error"]:
        assert part in message


def test_bundled_openai_declarations() -> None:
    sources = load_sources(BUNDLED_SOURCES)
    for suffix, url in REQUIRED_OPENAI.items():
        assert sources[f"openai/{suffix}"].urls == (url,)
    help_articles = [s for s in sources.values() if s.document_type == "Help article"]
    assert {s.id for s in help_articles} >= {
        "openai/help-data-controls", "openai/help-chat-file-retention", "openai/help-temporary-chat",
        "openai/help-memory", "openai/help-image-inputs"}
    assert all(s.urls[0].startswith("https://help.openai.com/") for s in help_articles)
    eu = sources["openai/privacy-policy-eu"]
    assert eu.rules.select == ("main",)
    assert eu.rules.remove == ('select[name="Locale Select"]', "main .sr-only")
    assert {sources["openai/privacy-policy-eu-de"].language, sources["openai/privacy-policy-eu-fr"].language} == {"de", "fr"}


def test_select_sources_rejects_unknown_ids() -> None:
    sources = load_sources(BUNDLED_SOURCES)
    assert [s.id for s in select_sources(sources, ["openai/terms-of-use"])] == ["openai/terms-of-use"]
    with pytest.raises(DeclarationError, match="unknown source id.*openai/nope"):
        select_sources(sources, ["openai/nope"])


def test_settings_precedence(tmp_path: Path) -> None:
    config = tmp_path / "policywatch.toml"
    config.write_text('[policywatch]\ndb = "from-file.db"\nretry_times = 5\n', encoding="utf-8")
    env = {"POLICYWATCH_DB": "from-env.db", "POLICYWATCH_AUTOTHROTTLE": "off"}
    settings = load_settings({"db": None}, config_file=config, environ=env)
    assert (settings.db, settings.retry_times, settings.autothrottle) == ("from-env.db", 5, False)
    assert load_settings({"db": "cli.db"}, config_file=config, environ=env).db_url == "sqlite:///cli.db"
    assert load_settings({"db": "postgresql://u@h/d"}, environ={}).db_url == "postgresql://u@h/d"


def test_settings_errors_name_their_origin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable POLICYWATCH_RETRY_TIMES"):
        load_settings(environ={"POLICYWATCH_RETRY_TIMES": "many"})
    with pytest.raises(ConfigError, match="environment variable POLICYWATCH_RETRYTIMES: unknown setting 'retrytimes'"):
        load_settings(environ={"POLICYWATCH_RETRYTIMES": "3"})
    assert load_settings(environ={"POLICYWATCH_TEST_POSTGRES_URL": "x", "POLICYWATCH_SHARED": "/x"}) == load_settings(environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[policywatch]\ncolour = 'blue'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{bad}: unknown setting 'colour'"):
        load_settings(config_file=bad, environ={})


def test_a_declarations_file_is_parsed_once_per_process_until_it_changes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ingest.declarations as declarations

    parsed: list[Path] = []
    parse = declarations._parse_file
    monkeypatch.setattr(declarations, "_parse_file", lambda path: parsed.append(path) or parse(path))
    path = tmp_path / "sources.yaml"
    entry = ("sources:\n  - {id: testco/policy, vendor: Testco, title: Policy, document_type: Privacy Policy, "
             "language: en, urls: ['https://example.test/p']}\n")
    path.write_text(entry, encoding="utf-8")
    first = declarations.load_sources(path)
    again = declarations.load_sources(path)
    assert len(parsed) == 1 and first == again
    path.write_text(entry.replace("title: Policy", "title: Privacy policy"), encoding="utf-8")
    assert declarations.load_sources(path)["testco/policy"].title == "Privacy policy"
    assert len(parsed) == 2


BOUNDED_CASES = [
    ("a: &x {b: 1}\nc: *x\n", {"a": {"b": 1}, "c": {"b": 1}}),
    ("[" * 40 + "]" * 40, None),
    ("[" * 41 + "]" * 41, "nested deeper than 40 levels (line 1)"),
    ("a:\n  " + "- " * 2000 + "x\n", "nested deeper than 40 levels (line 2)"),  # past libyaml's own limit
    ("a: 1\nb: 2\na: 3\n", "duplicate key 'a' on line 3 (first on line 1)"),
    # An alias inside its own anchor: a list that contains itself, nested without end.
    ("a: &x [1, *x]\n", "nested deeper than 40 levels (line 1)"),
    # Nesting reached through an alias counts: 25 levels reused 20 levels down.
    ("a: &x " + "[" * 25 + "]" * 25 + "\nb: " + "[" * 20 + "*x" + "]" * 20 + "\n", "nested deeper than 40 levels (line 1)"),
    ("a: &x " + "[" * 15 + "]" * 15 + "\nb: " + "[" * 20 + "*x" + "]" * 20 + "\n", None),
]


def test_declarations_are_read_with_libyaml_where_pyyaml_has_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from ingest import safeyaml

    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML was built without libyaml")

    class Unused(yaml.SafeLoader):
        def __init__(self, *args: object) -> None:
            raise AssertionError("the pure-Python parser was used")

    monkeypatch.setattr(safeyaml, "_BoundedLoader", Unused)
    assert safeyaml.load_bounded("sources: [{id: a}]") == {"sources": [{"id": "a"}]}


@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pure-python"])
def test_both_yaml_parsers_give_the_same_values_and_the_same_refusals(libyaml: bool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from ingest import safeyaml

    if libyaml and not yaml.__with_libyaml__:
        pytest.skip("this PyYAML was built without libyaml")
    if not libyaml:
        monkeypatch.setattr(safeyaml, "_CSafeLoader", None)
    for text, expected in BOUNDED_CASES:
        if isinstance(expected, str):
            with pytest.raises(safeyaml.YamlLimitError, match=re.escape(expected)):
                safeyaml.load_bounded(text)
        elif expected is not None:
            assert safeyaml.load_bounded(text) == expected
        else:
            safeyaml.load_bounded(text)
