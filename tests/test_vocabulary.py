"""The fixed vocabularies have one home, and what the README says of them is what they say."""

from __future__ import annotations

import re

from analysis.vocabulary import ChangeKind, Severity, is_announced
from conftest import REPO
from storage.vocabulary import FailureKind


def test_the_readme_failure_table_is_the_enum() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| kind | meaning |"):]
    table = table[: table.index("\n\n")]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", table, re.M))
    assert rows == {kind.value: kind.description for kind in FailureKind}


def test_only_a_change_in_wording_is_announced() -> None:
    assert [kind for kind in ChangeKind if is_announced(kind)] == [ChangeKind.SUBSTANTIVE]
    assert is_announced("substantive") and not is_announced("revert")


def test_severities_sort_from_the_most_severe() -> None:
    assert sorted(["low", "none", "high", "medium"], key=lambda s: Severity(s).rank) == ["high", "medium", "low", "none"]
