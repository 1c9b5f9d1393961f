"""The word diff, fed text directly (cases in tests/data/diff/cases.yaml)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from analysis.diff import WORD_DIFF_LIMIT, diff_texts, hunks
from policywatch.terminal import render_diff, safe

CASES = yaml.safe_load((Path(__file__).parent / "data" / "diff" / "cases.yaml").read_text(encoding="utf-8"))


def rebuild(diff, side: str) -> str:  # type: ignore[no-untyped-def]
    keep = {"old": ("equal", "delete"), "new": ("equal", "insert")}[side]
    return "".join(s.text for s in diff.segments if s.op in keep)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_diff_cases(case: dict) -> None:
    diff = diff_texts(case["old"], case["new"])
    assert [s.text for s in diff.segments if s.op == "delete"] == case["deleted"]
    assert [s.text for s in diff.segments if s.op == "insert"] == case["inserted"]
    assert (diff.words_added, diff.words_removed) == (case["words_added"], case["words_removed"])
    if "terminal" in case:
        assert render_diff(diff, colour=False, context=10) == case["terminal"], "spacing alone is never marked"


@pytest.mark.parametrize("seed", range(20))
def test_segments_rebuild_both_sides(seed: int) -> None:
    rng = random.Random(seed)
    words = "we keep share delete data days chats images train models thirty ninety".split()
    old = "\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(30)) + "\n"
    lines = old.splitlines(keepends=True)
    for _ in range(5):
        i = rng.randrange(len(lines))
        lines[i] = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) + "\n"
    new = "".join(lines)
    diff = diff_texts(old, new)
    assert rebuild(diff, "old") == old
    assert rebuild(diff, "new") == new


def test_complete_rewrite_of_a_large_page_falls_back_to_blocks() -> None:
    rng = random.Random(1)
    old = "\n".join(" ".join(f"a{rng.randrange(5000)}" for _ in range(20)) for _ in range(1000)) + "\n"
    new = "\n".join(" ".join(f"b{rng.randrange(5000)}" for _ in range(20)) for _ in range(1000)) + "\n"
    assert 20000 * 20000 > WORD_DIFF_LIMIT
    diff = diff_texts(old, new)
    assert [s.op for s in diff.segments] == ["delete", "insert"]
    assert diff.words_added == diff.words_removed == 20000


def test_hunks_fold_unchanged_stretches() -> None:
    old = "".join(f"line {i}\n" for i in range(100))
    new = old.replace("line 50\n", "line fifty\n")
    found = hunks(diff_texts(old, new), context=2)
    assert len(found) == 1
    assert found[0].skipped_before == 48
    shown = "".join(s.text for s in found[0].segments)
    assert "line 48" in shown and "line 52" in shown and "line 10\n" not in shown


def test_terminal_diff_marks_words_and_neutralises_escapes() -> None:
    diff = diff_texts("keep 30 days\nend\n", "keep 90 days\n\x1b[2J end\n")
    plain = render_diff(diff, colour=False)
    assert "keep [-30-]{+90+} days" in plain
    assert "\x1b" not in plain and "\\x1b[2J" in plain
    coloured = render_diff(diff, colour=True)
    assert "\x1b[31m" in coloured and "\x1b[2J" not in coloured
    assert safe("a\u202eb") == "a\\u202eb"


REPETITIVE = yaml.safe_load((Path(__file__).parent / "data" / "diff" / "repetitive.yaml").read_text(encoding="utf-8"))


def repetitive_pair(case: dict) -> tuple[str, str]:
    rng = random.Random(case["id"])
    pieces = [rng.choice(case["pieces"]) for _ in range(case["count"])]
    changed = list(pieces)
    changed[case["at"]] = case["to"]
    return case["separator"].join(pieces) + "\n", case["separator"].join(changed) + "\n"


@pytest.mark.parametrize("case", REPETITIVE, ids=[c["id"] for c in REPETITIVE])
def test_repetitive_text_gives_the_real_edit(case: dict) -> None:
    old, new = repetitive_pair(case)
    diff = diff_texts(old, new)
    assert [diff.words_added, diff.words_removed] == case["words"]
    assert [diff.lines_added, diff.lines_removed] == case["lines"]
    assert rebuild(diff, "old") == old and rebuild(diff, "new") == new


@pytest.mark.parametrize("case", REPETITIVE, ids=[c["id"] for c in REPETITIVE])
def test_repetitive_text_is_diffed_with_work_independent_of_its_length(case: dict, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # difflib is refused (its work grows with the pairs of equal items), and the search for the smallest
    # edit finds it within 50 steps, however long the text.
    monkeypatch.setattr("analysis.sequence.EDIT_STEPS_LIMIT", 50)
    old, new = repetitive_pair(case)
    diff = diff_texts(old, new)
    assert [diff.words_added, diff.words_removed] == case["words"]


@pytest.mark.parametrize("seed", range(5))
def test_word_count_is_the_runs_with_a_letter_or_digit(seed: int) -> None:
    """`count_words` (counting runs and taking away those without a letter or digit, in two linear passes) agrees
    with counting each run that has one, on random text of words, markup, CJK and `<br>` tags."""
    import re

    from analysis.diff import count_words

    pieces = list("ab1 \n-|#•—_*[]()。データ、x.,;") + ["<br>", "<BR/>", "  ", "---"]
    has_word = re.compile(r"[^\W_]")
    unspaced = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")
    rng = random.Random(seed)
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        plain = re.sub(r"<(?i:br)\s*/?>", " ", text)
        runs = re.findall(r"[^\s\u3000-\u303f]+", plain)
        expected = sum(len(unspaced.findall(r)) + sum(1 for part in unspaced.split(r) if has_word.search(part))
                       for r in runs)
        assert count_words(text) == expected, text


def test_a_change_of_spacing_alone_keeps_a_line_around_it_with_no_context_asked() -> None:
    old = "# P\n\nIntro.\n\nWe keep data:\n\n- name\n\n- email\n\nWe share data.\n\nMore.\n\nEnd.\n"
    new = "# P\n\nIntro.\n\nWe keep data:\n\n- name\n- email\n\nWe share data.\n\nMore.\n\nEnd.\n"
    shown = render_diff(diff_texts(old, new), colour=False, context=0)
    assert shown.startswith("@@ … 6 unchanged line(s) … line breaks or spacing only @@\n")
    assert "- name\n- email\n" in shown and "Intro." not in shown
    # A change of words keeps none, as asked.
    words = render_diff(diff_texts("A b c.\nWe keep our data.\nX y z.\n", "A b c.\nWe keep your data.\nX y z.\n"),
                        colour=False, context=0)
    assert words == "@@ … 1 unchanged line(s) … @@\nWe keep [-our-]{+your+} data.\n"
