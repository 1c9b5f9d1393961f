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

