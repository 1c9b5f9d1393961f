"""The flagger on the real history of OpenAI's privacy policy (Open Terms Archive data, ODC-BY 1.0).

Reads ../shared/ota-data (or $POLICYWATCH_SHARED/ota-data); skips when absent.
For every consecutive pair of `ChatGPT/Privacy Policy` versions, each
collection kept apart:

- a pair whose only differences are the known noise (link targets and their
  tracking parameters, U+2060, "(opens in a new window)", a `<title>` line,
  typographic quotes, Markdown table line breaks and whitespace) must be
  `formatting` with no flags; every other pair must be `substantive`;
- the genai-contrib change of 2024-11-05 (the EU policy of 4 November 2024,
  which rewrote what happens to chats when history is off) must carry a
  retention flag whose old-side evidence names the old 30-day period.

The noise test below is deliberately simpler than analysis.meaning: it is the
reference the implementation is checked against.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from analysis.meaning import analyse_change
from conftest import shared_dir


OTA = (shared_dir() or Path("/nonexistent")) / "ota-data"
INDEX = OTA / "versions" / "index.csv"

pytestmark = pytest.mark.skipif(not INDEX.is_file(), reason=f"real history not available: {INDEX} not found")


def _pairs() -> list[tuple[str, Path, Path, str]]:
    if not INDEX.is_file():
        return []
    series: dict[str, list[tuple[str, Path]]] = {}
    with INDEX.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["service"] == "ChatGPT" and row["document_type"] == "Privacy Policy":
                series.setdefault(row["collection"], []).append((row["fetch_date"], OTA / row["path"]))
    pairs = []
    for collection, versions in sorted(series.items()):
        versions.sort()
        for (_, old), (date, new) in zip(versions, versions[1:]):
            pairs.append((collection, old, new, date))
    return pairs


PAIRS = _pairs()


def _reference_words(text: str) -> list[str]:
    text = re.sub(r"\]\([^)\s]*\)", "]", text)
    text = text.replace("\u2060", "").replace("(opens in a new window)", "")
    text = re.sub(r"<br\s*/?>", " ", text)
    text = text.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'}))
    return re.findall(r"\w+", text.lower())


def _without_title(text: str) -> str:
    first, _, rest = text.lstrip().partition("\n")
    return rest if len(first.split()) <= 12 and not re.search(r"[.!?:;]", first) else text


def _only_known_noise(old: str, new: str) -> bool:
    if _reference_words(old) == _reference_words(new):
        return True
    variants_old = {tuple(_reference_words(old)), tuple(_reference_words(_without_title(old)))}
    variants_new = {tuple(_reference_words(new)), tuple(_reference_words(_without_title(new)))}
    return bool(variants_old & variants_new)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_history_is_there() -> None:
    collections = {collection for collection, *_ in PAIRS}
    assert collections == {"genai-contrib", "genai-eu"}
    noise = [p for p in PAIRS if _only_known_noise(_read(p[1]), _read(p[2]))]
    # The history holds a dozen pairs of pure noise; a test that found none would prove nothing.
    assert len(noise) >= 10
    assert len(PAIRS) - len(noise) >= 8


@pytest.mark.parametrize(
    ("collection", "old", "new", "date"),
    PAIRS,
    ids=[f"{c}-{d.replace(':', '')}" for c, _, _, d in PAIRS],
)
def test_consecutive_versions(collection: str, old: Path, new: Path, date: str) -> None:
    old_text, new_text = _read(old), _read(new)
    result = analyse_change(old_text, new_text, "en")
    if _only_known_noise(old_text, new_text):
        assert result.kind == "formatting", result.summary
        assert result.flags == ()
        assert result.evidence == ()
        assert result.severity == "none"
    else:
        assert result.kind == "substantive"
        assert result.severity in ("high", "medium", "low")


def test_title_flip_flop_is_formatting() -> None:
    flips = [p for p in PAIRS if p[0] == "genai-contrib" and p[3].startswith(("2025-05-20", "2025-05-21"))]
    assert len(flips) == 2
    for _, old, new, _ in flips:
        first_old = _read(old).splitlines()[0]
        first_new = _read(new).splitlines()[0]
        assert {first_old, first_new} == {"EU privacy policy | OpenAI", "OpenAI"}
        assert analyse_change(_read(old), _read(new)).kind == "formatting"


def test_november_2024_rewrite_of_chat_history_retention() -> None:
    (pair,) = [p for p in PAIRS if p[0] == "genai-contrib" and p[3].startswith("2024-11-05")]
    result = analyse_change(_read(pair[1]), _read(pair[2]), "en")
    assert result.kind == "substantive"
    assert "retention" in result.flags
    old_periods = [
        e
        for e in result.evidence
        if e.category == "retention" and e.side == "old" and any(d.days == 30 for d in e.durations)
    ]
    assert old_periods, "the old 30-day deletion of chats with history off must be cited"
    assert any("chat history" in e.sentence and "30 days" in e.sentence for e in old_periods)
    new_periods = [
        e for e in result.evidence if e.category == "retention" and e.side == "new" and any(d.days == 30 for d in e.durations)
    ]
    assert any("temporary chats" in e.sentence for e in new_periods)
    assert result.severity == "high"
