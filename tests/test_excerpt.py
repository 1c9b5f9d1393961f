"""The changed sentences a feed entry quotes: cut around the change, never inside a word."""

from __future__ import annotations

import re

import pytest

from analysis.diff import diff_texts
from reports.excerpt import MAX_CHARS, important_sentences

FILLER = "and partners who help us provide the services to you "
TAIL = "and we will delete Personal Data after thirty days unless the law requires otherwise and more words follow "


@pytest.mark.parametrize("shift", range(0, 12))
def test_a_long_sentence_is_cut_at_words(shift: int) -> None:
    # A word of 1 to 12 letters before the change moves both cuts across the letters of the words there.
    old = "We may share information with vendors " + FILLER * 4 + "x" * (shift + 1) + " " + TAIL * 3 + "end."
    (new_side, old_side) = important_sentences(diff_texts(old, old.replace("thirty days", "ninety days")))
    for sentence, words in ((new_side, old.replace("thirty", "ninety")), (old_side, old)):
        text = sentence.text
        assert len(text) <= MAX_CHARS + 4 and text.startswith("… ") and text.endswith(" …")
        inner = text[2:-2]
        assert re.search(rf"(?:^| ){re.escape(inner)}(?: |$)", words), inner
