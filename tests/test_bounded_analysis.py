"""Analysis stays near-linear on long and repetitive text: work is counted, never timed (timings: bench/)."""

from __future__ import annotations

from analysis.rules import language_data
from analysis.sentences import _split_block, split_sentences


class CountingText(str):
    """A text that counts the characters copied out of it by slicing."""

    copied = 0

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        part = str.__getitem__(self, key)
        CountingText.copied += len(part)
        return part


def test_splitting_a_long_block_copies_each_character_a_bounded_number_of_times() -> None:
    sentence = "We keep chats for 30 days, e.g. to find abuse, unless you delete them. "
    block = CountingText((sentence * 20_000).strip())  # 1.4 MB, one paragraph
    CountingText.copied = 0
    sentences = _split_block(block, language_data("en"))
    assert len(sentences) == 20_000
    assert CountingText.copied <= 3 * len(block)


def test_a_long_block_without_sentence_breaks_is_read_once() -> None:
    # Every candidate break is refused ("e.g. x"), so the sentence under way grows to the whole block.
    block = CountingText("We keep " + "e.g. x " * 100_000 + "data.")
    CountingText.copied = 0
    assert len(_split_block(block, language_data("en"))) == 1
    assert CountingText.copied <= 3 * len(block)



def test_analysing_repetitive_text_takes_work_linear_in_its_length() -> None:
    # Issue 12's shapes (tests/data/diff/repetitive.yaml): each is analysed completely within a budget of
    # a few steps per piece, so it never reaches the crawl's time budget; alignment's own work is bounded
    # by analysis.sequence's limits.
    from pathlib import Path

    import yaml

    from analysis.budget import Budget
    from analysis.meaning import analyse_change
    from test_diff import repetitive_pair

    cases = yaml.safe_load((Path(__file__).parent / "data" / "diff" / "repetitive.yaml").read_text(encoding="utf-8"))
    for case in cases:
        old, new = repetitive_pair(case)
        budget = Budget(steps=3 * case["count"] + 1000)
        result = analyse_change(old, new, "en", budget)
        assert result.analysed, (case["id"], budget.spent)


def test_a_rewrite_whose_comparisons_pass_the_budget_is_marked_incomplete() -> None:
    from analysis.budget import Budget
    from analysis.meaning import analyse_change

    old = "\n\n".join(f"We keep record {i} for {i % 90 + 1} days." for i in range(3000)) + "\n"
    new = "\n\n".join(f"We store entry {i} for {i % 89 + 2} days." for i in range(3000)) + "\n"
    result = analyse_change(old, new, "en", Budget(steps=3 * 3000))
    assert not result.analysed and result.note.startswith("analysis incomplete")
