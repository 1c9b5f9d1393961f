"""Change titles say what changed, from the cases in tests/data/titles/cases.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from reports.titles import MAX_SUMMARY_CHARS, change_title, joined

CASES = yaml.safe_load((Path(__file__).parent / "data" / "titles" / "cases.yaml").read_text(encoding="utf-8"))["cases"]


@dataclass(frozen=True)
class Change:
    summary: str
    severity: str
    flags: tuple[str, ...]
    words_added: int
    words_removed: int


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_change_title(case: dict[str, Any]) -> None:
    change = Change(**{**case["change"], "flags": tuple(case["change"]["flags"])})
    title = change_title(change, case["vendor"], case["document"])
    assert title == case["title"]
    assert "\n" not in title and len(title) < len(case["vendor"]) + len(case["document"]) + MAX_SUMMARY_CHARS + 20


@pytest.mark.parametrize("head", ["Is it kept?", "Terms!", "FAQ:", "Notice…", "Policy."])
def test_a_title_ending_in_punctuation_gets_no_colon(head: str) -> None:
    assert joined(head, "v1 → v2") == f"{head} v1 → v2"
    assert joined("Privacy Policy (EU)", "v1 → v2") == "Privacy Policy (EU): v1 → v2"
