"""Moved paragraphs (analysis.moves): tests/data/moves/cases.yaml, and how the change page's views show them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from analysis import moves
from analysis.diff import diff_texts
from analysis.moves import Moved, MovedDiff, diff_with_moves, find_moves
from reports.diffview import MovedBlock, Row, inline_view, side_by_side

CASES = yaml.safe_load((Path(__file__).resolve().parent / "data" / "moves" / "cases.yaml").read_text(encoding="utf-8"))


def rebuilt(diff: MovedDiff, side: str) -> str:
    own = "delete" if side == "old" else "insert"
    return "".join(item.text for item in diff.items
                   if (isinstance(item, Moved) and item.side == side) or item.op in ("equal", own))


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["id"] for c in CASES["cases"]])
def test_moves(case: dict[str, Any]) -> None:
    old, new = case["old"], case["new"]
    found = find_moves(old.splitlines(keepends=True), new.splitlines(keepends=True))
    diff = diff_with_moves(old, new)
    edited = {item.id: item.edited for item in diff.items if isinstance(item, Moved) and item.side == "new"}
    got = [[m.old_line, m.new_line, m.exact, edited[number]] for number, m in enumerate(found, 1)]
    assert got == case["moves"]
    assert diff.moves == len(found)
    assert (rebuilt(diff, "old"), rebuilt(diff, "new")) == (old, new), "both texts are rebuilt from the diff shown"
    assert diff.plain == diff_texts(old, new), "the stored diff and its counts are untouched"
    ends = [(item.id, item.side) for item in diff.items if isinstance(item, Moved)]
    assert sorted(ends) == sorted((n, side) for n in range(1, len(found) + 1) for side in ("old", "new"))


def test_a_moved_paragraph_is_shown_once_where_it_went_and_marked_where_it_was() -> None:
    case = next(c for c in CASES["cases"] if c["id"] == "a paragraph moved with a small edit shows the edit")
    diff = diff_with_moves(case["old"], case["new"])
    blocks = [b for b in inline_view(diff) if isinstance(b, MovedBlock)]
    assert [(b.end.side, b.end.later, b.end.other, b.end.edited) for b in blocks] == [
        ("old", True, 9, True), ("new", False, 3, True)]
    went = blocks[1].pieces
    assert [p.text for p in went if p.op == "delete"] == ["30"] and [p.text for p in went if p.op == "insert"] == ["90"]
    assert all(p.op == "equal" for p in blocks[0].pieces), "where it was, its old words are not marked as removed"
    inline_text = "".join(p.text for b in inline_view(diff) if not isinstance(b, MovedBlock) and hasattr(b, "pieces")
                          for p in b.pieces)
    assert "after you delete them" not in inline_text, "the paragraph is not also shown as a deletion and an insertion"

    rows = [r for r in side_by_side(diff) if isinstance(r, Row)]
    marked = [r for r in rows if r.move is not None]
    assert [(r.move.side, r.old_number, r.new_number) for r in marked] == [("old", 3, None), ("new", None, 9)]
    assert rows[-1].old_number == len(case["old"].splitlines()) and rows[-1].new_number == len(case["new"].splitlines())


def test_without_moves_the_views_are_those_of_the_plain_diff() -> None:
    case = next(c for c in CASES["cases"] if c["id"] == "a paragraph edited where it stands is no move")
    diff = diff_with_moves(case["old"], case["new"])
    assert diff.items == diff_texts(case["old"], case["new"]).segments
    assert inline_view(diff) == inline_view(diff.plain) and side_by_side(diff) == side_by_side(diff.plain)


def test_near_moves_are_not_searched_past_the_pair_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rewrite of thousands of paragraphs is bounded: past the limit, only moves with the same words are found."""
    edited = next(c for c in CASES["cases"] if c["id"] == "a paragraph moved with a small edit shows the edit")
    exact = next(c for c in CASES["cases"] if c["id"] == "a paragraph moved down unchanged")
    old, new = edited["old"] + "\n" + exact["old"], edited["new"] + "\n" + exact["new"]
    assert [m.exact for m in find_moves(old.splitlines(True), new.splitlines(True))] == [False, True]
    monkeypatch.setattr(moves, "NEAR_PAIRS_LIMIT", 0)
    assert [m.exact for m in find_moves(old.splitlines(True), new.splitlines(True))] == [True]


def test_a_long_shuffled_document_keeps_both_texts() -> None:
    paragraphs = [f"Paragraph {n} says the service keeps item {n} for {n % 90} days." for n in range(3000)]
    shuffled = paragraphs[1500:] + paragraphs[:1500]
    old, new = "\n\n".join(paragraphs) + "\n", "\n\n".join(shuffled) + "\n"
    diff = diff_with_moves(old, new)
    assert (rebuilt(diff, "old"), rebuilt(diff, "new")) == (old, new)
    assert diff.moves == 1500


def test_the_site_is_rebuilt_when_the_move_detection_changes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Change pages show what analysis.moves finds: it is part of every page's build key (reports.render)."""
    from reports import render

    render.code_fingerprint.cache_clear()
    before = render.code_fingerprint()
    edited = tmp_path / "moves.py"
    edited.write_text(Path(moves.__file__).read_text(encoding="utf-8") + "\nNEAR_RATIO = 0.7\n", encoding="utf-8")
    monkeypatch.setattr(moves, "__file__", str(edited))
    render.code_fingerprint.cache_clear()
    try:
        assert render.code_fingerprint() != before
    finally:
        monkeypatch.undo()
        render.code_fingerprint.cache_clear()
