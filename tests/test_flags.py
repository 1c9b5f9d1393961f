"""Data-driven tests of the flagger: tests/data/flags/<lang>.yaml, one case per sentence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from analysis.classify import CATEGORIES, classify, classify_sentence, detect_language, split_sentences
from analysis.rules import LANGUAGES, RULES_DIR, RuleError, bundled_yaml, compile_condition, language_data, parse_rules
from analysis.sentences import split_sentences as split_only
from analysis.sentences import split_units

DATA = Path(__file__).resolve().parent / "data" / "flags"


def _load(language: str) -> list[dict[str, Any]]:
    document = yaml.safe_load((DATA / f"{language}.yaml").read_text(encoding="utf-8"))
    assert document["language"] == language
    return document["cases"]


def _cases() -> list[Any]:
    params = []
    for language in LANGUAGES:
        for number, case in enumerate(_load(language), start=1):
            params.append(pytest.param(language, case, id=f"{language}-{number}-{case['text'][:40]}"))
    return params


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_has_enough_cases(language: str) -> None:
    cases = _load(language)
    assert len(cases) >= 40
    assert sum(1 for c in cases if not c["flags"]) >= 5, "must-not-flag cases"
    polarities = [c.get("polarity") for c in cases]
    assert any(p == "negated" or (isinstance(p, dict) and "negated" in p.values()) for p in polarities)
    assert any(c.get("durations_days") for c in cases)


@pytest.mark.parametrize(("language", "case"), _cases())
def test_case(language: str, case: dict[str, Any]) -> None:
    result = classify(case["text"], language)
    assert set(result.flags) == set(case["flags"]), [(e.category, e.rule_id, e.match) for e in result.evidence]
    by_category = {}
    for e in result.evidence:
        by_category.setdefault(e.category, e)
    expected_polarity = case.get("polarity")
    if isinstance(expected_polarity, str):
        assert {e.polarity for e in by_category.values()} == {expected_polarity}
    elif isinstance(expected_polarity, dict):
        for category, value in expected_polarity.items():
            assert by_category[category].polarity == value, by_category[category]
    if "durations_days" in case:
        found = []
        for e in result.evidence:
            for d in e.durations:
                if d.days not in found and not (d.days is None and None in found):
                    found.append(d.days)
        expected = [None if v is None else float(v) for v in case["durations_days"]]
        assert found == pytest.approx(expected) if None not in expected else found == expected
    if "opt" in case:
        assert {e.opt for e in result.evidence} == {case["opt"]}


def test_evidence_cites_rule_and_span() -> None:
    result = classify("We retain your chats for 30 days.", "en")
    (evidence,) = result.evidence
    assert evidence.rule_id == "en.retention.retain"
    assert evidence.sentence[evidence.start : evidence.end] == "retain"
    assert evidence.durations[0].text == "30 days"
    as_json = evidence.to_json()
    assert as_json["match"] == "retain"
    assert as_json["durations"] == [{"days": 30.0, "text": "30 days", "unbounded": False}]
    assert as_json["side"] is None


def test_flags_follow_category_order() -> None:
    result = classify("Children's photos are shared with partners and deleted after 30 days.", "en")
    assert result.flags == tuple(c for c in CATEGORIES if c in result.flags)
    assert result.flags == ("retention", "sharing", "sensitive")


def test_every_rule_id_is_unique_and_prefixed() -> None:
    for language in LANGUAGES:
        ids = [rule.id for rule in language_data(language).rules]
        assert len(ids) == len(set(ids))
        for rule in language_data(language).rules:
            assert rule.id.startswith(f"{language}.{rule.category}.")
            assert rule.description


def test_every_category_has_rules_in_every_language() -> None:
    for language in LANGUAGES:
        assert {rule.category for rule in language_data(language).rules} == set(CATEGORIES)


def test_malformed_rule_is_rejected_with_its_id() -> None:
    with pytest.raises(RuleError, match="en.retention.bad"):
        parse_rules([{"id": "en.retention.bad", "category": "retention", "patterns": ["(unclosed"]}], "en", "t")
    with pytest.raises(RuleError, match="must start with"):
        parse_rules([{"id": "retention.bad", "category": "retention", "patterns": ["x"]}], "en", "t")


@pytest.mark.parametrize("pattern", ["[a-Z]", "(unclosed", "[ä-Ö]x"])
def test_a_rule_that_compiles_only_lower_cased_is_rejected_with_its_id(pattern: str) -> None:
    # Lower-casing mends the first and the third: they must be refused all the same, naming the rule.
    with pytest.raises(RuleError, match=r"en\.retention\.bad"):
        parse_rules([{"id": "en.retention.bad", "category": "retention", "patterns": ["kept", pattern]}], "en", "t")


@pytest.mark.parametrize("engine", ["re", "regex"])
def test_a_named_group_keeps_its_name_in_the_lower_cased_form(engine: str) -> None:
    # Claims compile with `regex`, the flagger with `re`: in both, `(?P` has no lower-case form.
    module = __import__(engine)
    condition = compile_condition({"patterns": [r"(?P<Kind>Photos?) are (?:kept|(?P=Kind) deleted)"]}, "t", module)
    sentence = "Photos are photos deleted."
    assert condition.find(sentence, sentence.lower()) == condition.find(sentence) == (0, 25)


def test_a_pattern_whose_lower_cased_form_does_not_compile_is_refused_with_its_key() -> None:
    with pytest.raises(RuleError, match=r"t unless: .*lower-cased form") as raised:
        compile_condition({"patterns": ["kept"], "unless": ["[Z-a]x"]}, "t")
    assert raised.value.key == "unless"


def test_rules_compare_copy_and_pickle_as_compiled_expressions() -> None:
    import copy
    import pickle

    first, again = (parse_rules([{"id": "en.retention.kept", "category": "retention", "patterns": [r"\bkept\b"],
                                  "requires": ["data"]}], "en", "t")[0] for _ in range(2))
    assert first == again and hash(first.pattern) == hash(again.pattern)
    for copied in (copy.deepcopy(first), pickle.loads(pickle.dumps(first))):
        assert copied == first
        assert copied.find("Data is KEPT.") == first.find("Data is KEPT.") == (8, 12)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("We do not use your conversations to train our models.", "en"),
        ("Wir verwenden Ihre Gespräche nicht zum Training unserer Modelle.", "de"),
        ("Nous n'utilisons pas vos conversations pour entraîner nos modèles.", "fr"),
        ("Die Speicherdauer beträgt dreißig Tage.", "de"),
        ("Les données sont conservées pendant trente jours.", "fr"),
        ("", "en"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_classify_detects_language_when_not_given() -> None:
    result = classify("Vos données ne sont pas partagées avec des tiers.")
    assert result.flags == ("sharing",)
    assert result.evidence[0].rule_id.startswith("fr.")
    assert result.evidence[0].polarity == "negated"


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "We collect data, e.g. your name. We keep it for 30 days.\nSee Sec. 4 for details.",
            "en",
            ["We collect data, e.g. your name.", "We keep it for 30 days.", "See Sec. 4 for details."],
        ),
        (
            "Retention\n=========\n\n* We keep logs\n* We delete chats\n\n1\\. First item",
            "en",
            ["Retention", "We keep logs", "We delete chats", "First item"],
        ),
        (
            "Read [our notice\u2060(opens in a new window)](https://example.com/?openaicom-did=1) now. **Bold** text.",
            "en",
            ["Read our notice now.", "Bold text."],
        ),
        (
            "Gültig ab 4. November 2024. Wir speichern z. B. Protokolle. Sie haben Fragen? Schreiben Sie uns.",
            "de",
            ["Gültig ab 4. November 2024.", "Wir speichern z. B. Protokolle.", "Sie haben Fragen?", "Schreiben Sie uns."],
        ),
        (
            "Vous avez des questions ? Écrivez-nous. Nous conservons p. ex. les journaux. « Fin » ici !",
            "fr",
            ["Vous avez des questions ?", "Écrivez-nous.", "Nous conservons p. ex. les journaux.", "« Fin » ici !"],
        ),
        (
            "This policy is provided by OpenAI, Inc. (“OpenAI”). Acme Ireland Ltd. We keep logs. Acme S.A. « nous ».",
            "en",
            ["This policy is provided by OpenAI, Inc. (\"OpenAI\").", "Acme Ireland Ltd.", "We keep logs.",
             "Acme S.A. « nous »."],
        ),
        (
            "| Purpose | Data |\n|---|---|\n| To comply with law | • Log Data<br>• Usage Data |",
            "en",
            ["Purpose", "Data", "To comply with law", "Log Data", "Usage Data"],
        ),
    ],
)
def test_split_sentences(text: str, language: str, expected: list[str]) -> None:
    assert split_only(text, language) == expected
    assert split_sentences(text, language) == expected
    assert [unit.text for unit in split_units(text, language)] == expected


# Block markup is tried only against the expressions its first character after the indentation can start:
# each form is read after up to three spaces of indentation, Unicode spaces among them, and not after four.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u00a0# Title\n\nText here.", [("Title", "HEADING", None), ("Text here.", "PARAGRAPH", None)]),
        ("   ## Deep\nBody.", [("Deep", "HEADING", None), ("Body.", "PARAGRAPH", None)]),
        ("    # Not a heading", [("# Not a heading", "PARAGRAPH", None)]),
        ("Title\n\u2003===\n\nBody.", [("Title", "HEADING", None), ("Body.", "PARAGRAPH", None)]),
        ("Para.\n---\nNext.", [("Para.", "HEADING", None), ("Next.", "PARAGRAPH", None)]),
        ("=== not underline\n", [("=== not underline", "PARAGRAPH", None)]),
        ("Para.\n\n---\n\nNext.", [("Para.", "PARAGRAPH", None), ("Next.", "PARAGRAPH", None)]),
        ("Para.\n\n\u00a0* * *\n\nNext.", [("Para.", "PARAGRAPH", None), ("Next.", "PARAGRAPH", None)]),
        ("Para.\n\n_ _ _\n\nNext.", [("Para.", "PARAGRAPH", None), ("Next.", "PARAGRAPH", None)]),
        ("Intro:\n- item\n___\nMore text.", [("Intro:", "PARAGRAPH", None), ("item", "ITEM", "Intro:"),
                                             ("More text.", "PARAGRAPH", None)]),
        ("* * not break", [("* not break", "ITEM", None)]),
        (" | a | b |\n |---|---|\n | c | d |",
         [("a", "CELL", None), ("b", "CELL", None), ("c", "CELL", None), ("d", "CELL", None)]),
        ("|just a pipe", [("just a pipe", "CELL", None)]),
        ("> # Quoted heading\n> Quoted text.",
         [("Quoted heading", "HEADING", None), ("Quoted text.", "PARAGRAPH", None)]),
        ("Intro:\n\u00a0- item one\n\u00a0- item two",
         [("Intro:", "PARAGRAPH", None), ("item one", "ITEM", "Intro:"), ("item two", "ITEM", "Intro:")]),
        ("1. first\n2) second", [("first", "ITEM", None), ("second", "ITEM", None)]),
        ("-not item", [("-not item", "PARAGRAPH", None)]),
        ("# \n", []),
    ],
)
def test_block_markup_is_read_after_up_to_three_spaces(text: str, expected: list[tuple[str, str, str | None]]) -> None:
    assert [(unit.text, unit.kind.name, unit.lead) for unit in split_units(text, "en")] == expected


def test_sentences_are_the_texts_of_the_units_on_every_real_policy_version(shared: Path) -> None:
    # split_sentences does not build the units (the claims engine splits every new version): the same sentences.
    versions = sorted((shared / "ota-data").rglob("*.md"))
    assert len(versions) > 900
    for path in versions:
        text = path.read_text(encoding="utf-8")
        assert split_only(text, "en") == [unit.text for unit in split_units(text, "en")], path.name


def test_classify_sentence_is_cached_and_pure() -> None:
    first = classify_sentence("We retain logs for 30 days.", "en")
    second = classify_sentence("We retain logs for 30 days.", "en")
    assert first == second
    assert first[0].durations[0].days == 30.0


def test_rules_compile_once() -> None:
    assert language_data("en") is language_data("en")


def test_negation_is_scoped_to_its_clause() -> None:
    result = classify(
        "When history is disabled, the conversation will not appear in your history and we will delete it after 30 days.",
        "en",
    )
    retention = next(e for e in result.evidence if e.category == "retention")
    assert retention.polarity == "affirmative"


def test_data_categories_prefer_the_longest_name() -> None:
    (evidence, *_) = classify("Temporary chats are deleted after 30 days.", "en").evidence
    assert "temporary chats" in evidence.data_categories
    assert "chats" not in evidence.data_categories


def test_prefilter_never_changes_results() -> None:
    texts = [c["text"] for language in LANGUAGES for c in _load(language)]
    for language in LANGUAGES:
        data = language_data(language)
        for text in texts:
            for sentence in split_sentences(text, language):
                lowered = sentence.lower()
                candidates = data.rule_index.candidates(lowered)
                for index, rule in enumerate(data.rules):
                    fast = rule.find(sentence, lowered) if index in candidates else None
                    assert fast == rule.find(sentence), (rule.id, sentence)


def test_every_bundled_rules_expressions_compile() -> None:
    # A rule's case-insensitive expressions are compiled when first searched with (the lower-cased ones serve
    # almost every sentence; `test_prefilter_never_changes_results` holds the two to the same answers): each
    # must compile all the same.
    searched = 0
    for language in LANGUAGES:
        for rule in language_data(language).rules:
            for expression in (rule.pattern, rule.requires, rule.unless):
                if expression is not None:
                    expression.search("")  # compiles it, or raises
                    searched += 1
    assert searched >= sum(len(language_data(language).rules) for language in LANGUAGES)


def test_patterns_use_word_boundaries_or_stems() -> None:
    # Every English pattern is anchored by \b, a stem loop or a lookbehind:
    # a bare "train" would also match "restrained".
    for rule in language_data("en").rules:
        for alternative in rule.pattern.pattern.split("|(?:"):
            assert re.search(r"\\b|\\w\*|\(\?<", alternative), (rule.id, alternative)


@pytest.mark.parametrize("path", sorted(RULES_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_yaml_reads_each_rules_file_as_the_pure_python_loader_does(path: Path) -> None:
    # The C loader is used for speed only: it must not read a single value of these files differently.
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("this PyYAML has no libyaml: bundled_yaml uses the pure-Python loader, nothing to compare")
    expected = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    assert bundled_yaml(path) == expected
    assert repr(bundled_yaml(path)) == repr(expected)  # the same types too (True is not 1, 1.0 is not 1)
