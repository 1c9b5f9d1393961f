"""What a change means: formatting vs substantive, severity and the one-line summary."""

from __future__ import annotations


import pytest

from analysis.align import align_sentences
from analysis.budget import Budget
from analysis.meaning import ChangeAnalysis, analyse_change, is_formatting_change

POLICY = """\
EU privacy policy | OpenAI

Retention
=========

We retain your chats for 30 days. After that they are deleted.

* We may share your Personal Data with vendors and service providers.
* You can opt out of training in Settings.

Please read our [notice\u2060(opens in a new window)](https://help.openai.com/a?openaicom-did=1&openaicom_referred=true).
"""


def _replace(old: str, new: str, text: str = POLICY) -> str:
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize(
    "new",
    [
        _replace("?openaicom-did=1&openaicom_referred=true", "?openaicom-did=2&openaicom_referred=true"),
        _replace("notice\u2060(opens in a new window)", "notice"),
        _replace("We retain your chats", "We **retain** your chats"),
        _replace("You can opt out", "You can\u00a0opt out"),
        _replace("Personal Data", "personal data"),
        _replace("We retain your chats for 30 days.", "We retain your chats for 30 days ."),
        _replace("* We may share", "- We may share"),
        _replace("Retention\n=========", "## Retention"),
        _replace("EU privacy policy | OpenAI", "OpenAI"),
        _replace("EU privacy policy | OpenAI\n\n", ""),
        "Privacy policy\n\n" + POLICY,
    ],
    ids=[
        "link-parameter",
        "word-joiner-and-new-window",
        "emphasis",
        "no-break-space",
        "case",
        "punctuation-spacing",
        "bullet-style",
        "heading-style",
        "title-flip",
        "title-removed",
        "title-added",
    ],
)
def test_noise_is_formatting_without_flags(new: str) -> None:
    result = analyse_change(POLICY, new)
    assert result == ChangeAnalysis("formatting", (), (), "formatting only", "none")
    assert is_formatting_change(POLICY, new)


def test_quotes_and_dashes_are_formatting() -> None:
    old = "Chats won't appear in history - they are deleted."
    new = "Chats won\u2019t appear in history \u2014 they are deleted."
    assert analyse_change(old, new).kind == "formatting"


def test_a_changed_first_sentence_is_not_a_title() -> None:
    old = "We keep logs for 30 days.\n\nMore text here."
    new = "We keep logs for 90 days.\n\nMore text here."
    assert not is_formatting_change(old, new)


def test_changed_duration_is_high_with_both_durations_in_summary() -> None:
    new = _replace("We retain your chats for 30 days.", "We retain your chats for 90 days.")
    result = analyse_change(POLICY, new)
    assert result.kind == "substantive"
    assert result.severity == "high"
    assert result.flags == ("retention",)
    assert "30 days → 90 days" in result.summary
    assert result.summary.startswith("retention: chats 30 days → 90 days")
    sides = {(e.side, e.durations[0].days) for e in result.evidence}
    assert sides == {("old", 30.0), ("new", 90.0)}


def test_summary_names_what_the_period_applies_to() -> None:
    result = analyse_change("Temporary chats are kept up to 30 days.", "Temporary chats are kept up to 90 days.")
    assert result.summary == "retention: temporary chats 30 days → 90 days"
    assert result.severity == "high"


def test_duration_in_words_to_unbounded_is_high() -> None:
    old = "Temporary chats are deleted after thirty days."
    new = "Temporary chats are retained indefinitely."
    result = analyse_change(old, new)
    assert result.severity == "high"
    assert "thirty days → indefinitely" in result.summary


def test_polarity_flip_is_high() -> None:
    old = "We do not use your business data to train our models."
    new = "We use your business data to train our models."
    result = analyse_change(old, new)
    assert result.severity == "high"
    assert result.flags == ("training",)
    assert [e.polarity for e in result.evidence] == ["negated", "affirmative"]
    assert [e.side for e in result.evidence] == ["old", "new"]
    assert result.summary.startswith("training: 'We do not use your business data")


def test_removed_negated_training_sentence_is_reported() -> None:
    old = "Intro text.\n\nWe do not train on business data.\n\nOutro text."
    new = "Intro text.\n\nOutro text."
    result = analyse_change(old, new)
    # A negated promise dropped without a replacement is high (issue 11; it used to be medium).
    assert result.severity == "high"
    assert result.summary == "training: 'We do not train on business data.' removed"
    assert result.evidence[0].side == "old"
    assert result.evidence[0].polarity == "negated"


def test_added_sharing_sentence_is_medium() -> None:
    new = POLICY + "\nWe share your conversations with our affiliates.\n"
    result = analyse_change(POLICY, new)
    assert result.severity == "medium"
    assert result.flags == ("sharing",)
    assert result.summary == "sharing: 'We share your conversations with our affiliates.' added"
    assert all(e.side == "new" for e in result.evidence)


def test_unflagged_wording_change_is_low() -> None:
    new = _replace("Please read our", "Please have a look at our")
    result = analyse_change(POLICY, new)
    assert result == ChangeAnalysis("substantive", (), (), "", "low")


def test_opt_out_replaced_by_opt_in_is_high() -> None:
    old = "You can opt out of the use of your voice data for training."
    new = "We use your voice data for training only if you opt in."
    result = analyse_change(old, new)
    assert result.severity == "high"
    assert "opt-out replaced by opt-in" in result.summary


def test_opt_out_removed_without_replacement_is_high() -> None:
    old = "Intro.\n\nYou can turn off chat history at any time.\n\nOutro."
    new = "Intro.\n\nOutro."
    result = analyse_change(old, new)
    assert result.severity == "high"
    assert "opt-out" in result.summary and "removed" in result.summary


def test_new_sensitive_category_is_high() -> None:
    old = "We collect your name and email address."
    new = "We collect your name and email address.\n\nWe also collect precise location from your device's GPS."
    result = analyse_change(old, new)
    assert result.severity == "high"
    assert "sensitive: new data category precise location" in result.summary


def test_sensitive_category_already_named_elsewhere_is_not_new() -> None:
    old = "We process images you upload.\n\nWe keep logs."
    new = "We process images you upload.\n\nWe keep logs.\n\nImages may be reviewed for abuse."
    result = analyse_change(old, new)
    assert result.severity == "medium"


def test_moved_sentence_is_not_a_change() -> None:
    old = "Alpha one here.\n\nWe share data with vendors.\n\nBeta two here."
    new = "We share data with vendors.\n\nAlpha one here.\n\nBeta two here."
    assert align_sentences(["Alpha one here.", "We share data with vendors."], ["We share data with vendors.", "Alpha one here."]) == []
    result = analyse_change(old, new)
    assert result.kind == "substantive"
    assert result.flags == ()
    assert result.severity == "low"


def test_new_table_of_contents_entry_is_not_flagged() -> None:
    old = "Intro.\n\nWe keep logs for 30 days."
    new = "Table of contents\n\n* [5\\. Retention](#retention)\n\nIntro.\n\nWe keep logs for 30 days."
    result = analyse_change(old, new)
    assert result.kind == "substantive"
    assert result.flags == ()


def test_german_change() -> None:
    old = "Wir speichern Ihre Chats für 30 Tage."
    new = "Wir speichern Ihre Chats für 90 Tage."
    result = analyse_change(old, new, "de")
    assert result.severity == "high"
    assert "30 Tage → 90 Tage" in result.summary


def test_french_polarity_flip() -> None:
    old = "Vos contenus ne sont pas utilisés pour entraîner nos modèles."
    new = "Vos contenus sont utilisés pour entraîner nos modèles."
    result = analyse_change(old, new, "fr")
    assert result.severity == "high"
    assert result.flags == ("training",)


def test_to_json_is_stable() -> None:
    result = analyse_change("We keep logs for 30 days.", "We keep logs for 60 days.")
    data = result.to_json()
    # Fields are only ever added: "analysed" and "note" came with issue 11.
    assert list(data) == ["kind", "flags", "evidence", "summary", "severity", "analysed", "note"]
    assert data["analysed"] is True and data["note"] == ""
    assert data["evidence"][0]["side"] == "old"
    assert data["evidence"][1]["durations"][0]["days"] == 60.0


def test_summary_is_one_line_with_a_bounded_number_of_items() -> None:
    old = "\n\n".join(f"We keep record type {i} for {i + 1} days." for i in range(10))
    new = "\n\n".join(f"We keep record type {i} for {i + 2} days." for i in range(10))
    result = analyse_change(old, new)
    assert "\n" not in result.summary
    assert result.summary.count(";") <= 3
    # What "+N more" hides is named by category (issue 11; it used to read "(+7 more)").
    assert result.summary.endswith("(+7 more: 7 retention)")


def test_alignment_of_large_rewrites_is_not_quadratic() -> None:
    # Counted in the analysis budget's steps, not seconds: pairing every removed paragraph with every added one
    # would take 360,000 comparisons for 600 paragraphs.
    old = "\n\n".join(f"Paragraph {i} says we keep item {i} for {i % 90 + 1} days and share it." for i in range(600))
    new = "\n\n".join(f"Section {i} explains that records {i} are retained {i % 60 + 2} weeks." for i in range(600))
    result = analyse_change(old, new, budget=Budget(steps=150_000))
    assert result.analysed, result.note
    assert result.severity == "high"


def test_a_short_promise_rewritten_into_a_longer_permission_is_a_polarity_flip() -> None:
    old = "# Use\n\nWe do not use the images you upload to train our models.\n"
    new = ("# Use\n\nWe may use the images you upload to train and improve our models, unless you turn off "
           "\u201cImprove the model for everyone\u201d in Data controls.\n")
    result = analyse_change(old, new, "en")
    assert result.severity == "high"
    assert "\u2192" in result.summary and "training" in result.summary
