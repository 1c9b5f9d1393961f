"""Data-driven tests of change analysis: tests/data/meaning/<lang>.yaml, one case per change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from analysis.meaning import analyse_change

DATA = Path(__file__).resolve().parent / "data" / "meaning"
FILES = sorted(DATA.glob("*.yaml"))


def _cases() -> list[Any]:
    params = []
    for path in FILES:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in document["cases"]:
            language = case.get("language", document["language"])
            params.append(pytest.param(language, case, id=f"{path.stem}-{case['id']}"))
    return params


def test_every_language_file_has_cases() -> None:
    assert {p.stem for p in FILES} >= {"en", "de", "fr"}


@pytest.mark.parametrize(("language", "case"), _cases())
def test_change(language: str, case: dict[str, Any]) -> None:
    result = analyse_change(case["old"], case["new"], language)
    shown = (result.severity, result.flags, result.summary)
    assert result.kind == "substantive", shown
    if "severity" in case:
        assert result.severity == case["severity"], shown
    if "flags" in case:
        assert set(result.flags) == set(case["flags"]), shown
    assert set(case.get("flags_include", [])) <= set(result.flags), shown
    assert not set(case.get("flags_exclude", [])) & set(result.flags), shown
    for text in case.get("summary_includes", []):
        assert text in result.summary, shown
    for text in case.get("summary_excludes", []):
        assert text not in result.summary, shown
    if "summary_starts" in case:
        assert result.summary.startswith(case["summary_starts"]), shown
    assert "\n" not in result.summary
    assert result.analysed is case.get("analysed", True), shown
    if "note" in case:
        assert result.note == case["note"]
        assert result.summary == case["note"]
    if not result.analysed:
        assert result.to_json()["analysed"] is False and result.to_json()["note"].startswith("not analysed: ")
