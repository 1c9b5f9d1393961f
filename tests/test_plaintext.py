"""Markdown as the plain text a reader sees (`analysis.plaintext.inline_to_plain`): tests/data/plaintext."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from analysis.plaintext import inline_to_plain

CASES = yaml.safe_load((Path(__file__).parent / "data/plaintext/cases.yaml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_inline_to_plain(case: dict[str, Any]) -> None:
    assert inline_to_plain(case["markdown"]) == case["plain"]
