"""Real OpenAI snapshots from Open Terms Archive: our text must match the version OTA recorded.

Reads ../shared/ota-data (or $POLICYWATCH_SHARED/ota-data); skips when absent.
Both texts are compared after a normaliser that forgets Markdown spelling
(headings, bullets, emphasis, escapes), so only the wording and its order count.
The comparison runs on words, not characters: as strict (one changed letter
costs the whole word) and a hundred times faster on these 3,000-6,000-word texts.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import shared_dir
from ingest.extraction import BUILTIN_FILTERS, ExtractionRules, combine, extract_html, extract_markdown

MIN_RATIO = 0.9

_FILTERS = (BUILTIN_FILTERS["opens-in-new-window"], BUILTIN_FILTERS["tracking-params"])
# The declarations OTA used: the US page until 2024-05, then the EU page(s), fetched with a browser.
US_RULES = ExtractionRules(select=("#landings-privacy-policy",), remove=("header", "footer", "[aria-hidden=true]"),
                           filters=_FILTERS)
EU_RULES = ExtractionRules(select=("main",), remove=('select[name="Locale Select"]', "main .sr-only"),
                           filters=_FILTERS)
US_UNTIL = "2024-05"
# Pages of a combined document, in declaration order.
PAGE_ORDER = ("eu-privacy-policy", "how-your-data-is-used-to-improve-model-performance")



def ota_dir() -> Path:
    return (shared_dir() or Path("/nonexistent")) / "ota-data"


def _snapshot_groups() -> dict[tuple[str, str], list[dict[str, str]]]:
    index = ota_dir() / "snapshots" / "index.csv"
    if not index.is_file():
        return {}
    groups: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    with index.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            groups[(row["collection"], row["snapshot_fetch_date"])].append(row)
    return dict(groups)


def _page_rank(row: dict[str, str]) -> int:
    path = row["snapshot_path"]
    for rank, page_id in enumerate(PAGE_ORDER):
        if f"__policies-{page_id}" in path:
            return rank
    return 0


_ESCAPE = re.compile(r"\\(.)")
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_MARKDOWN_PUNCTUATION = re.compile(r"[#*_>|\-=\[\]()`]")


def comparable(text: str) -> str:
    """Wording only: escapes resolved, Markdown punctuation and invisible characters dropped, whitespace collapsed, lower case."""
    text = _INVISIBLE.sub("", _ESCAPE.sub(r"\1", text))
    text = _MARKDOWN_PUNCTUATION.sub(" ", text)
    return " ".join(text.lower().split())


def test_comparable_forgets_markdown_spelling():
    ours = "## 1. Data\n\n- _Account_ [info](/x)\n"
    theirs = "1\\. Data\n-------\n\n*   _Account_ [info](/x)\n"
    assert comparable(ours) == comparable(theirs) == "1. data account info /x"
    assert comparable("data retention") != comparable("data deletion")


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, comparable(a).split(), comparable(b).split(), autojunk=False).ratio()


def test_similarity_sees_changed_wording():
    text = " ".join(f"word{i}" for i in range(100))
    assert similarity(text, text) == 1.0
    assert similarity(text, text.replace("word5 ", "changed ")) == pytest.approx(0.99)


GROUPS = _snapshot_groups()


@pytest.mark.parametrize("key", sorted(GROUPS) or [None], ids=lambda k: f"{k[0]}/{k[1]}" if k else "absent")
def test_snapshot_text_matches_ota_version(key):
    if key is None:
        pytest.skip(f"../shared/ota-data not found: {ota_dir()} has no snapshots/index.csv")
    rows = sorted(GROUPS[key], key=_page_rank)
    base = ota_dir()
    rules = US_RULES if key[1] < US_UNTIL else EU_RULES
    parts = [extract_html((base / row["snapshot_path"]).read_bytes(), rules) for row in rows]
    ours = parts[0] if len(parts) == 1 else combine(parts)
    theirs = (base / rows[0]["version_copy"]).read_text(encoding="utf-8")
    ratio = similarity(ours, theirs)
    assert ratio >= MIN_RATIO, f"{key}: similarity {ratio:.4f} < {MIN_RATIO}"
    if len(parts) > 1:
        assert ours.count("\n- - -\n") == len(parts) - 1


def test_html_only_churn_gives_identical_text():
    """The 2024-08-21 snapshot changed its HTML but not its text: it must extract to the same text as 2024-08-20."""
    if not GROUPS:
        pytest.skip(f"../shared/ota-data not found: {ota_dir()} has no snapshots/index.csv")
    rows = [row for group in GROUPS.values() for row in group
            if "HTML changed, extracted Markdown identical" in row["note"]]
    assert rows, "index.csv no longer marks the HTML-only snapshot"
    for row in rows:
        previous = [r for group in GROUPS.values() for r in group
                    if r["version_path"] == row["version_path"] and r["snapshot_path"] != row["snapshot_path"]]
        assert previous
        base = ota_dir()
        texts = {extract_html((base / r["snapshot_path"]).read_bytes(), EU_RULES) for r in [row, *previous]}
        assert len(texts) == 1


_RELATIVE_DATE_LINE = re.compile(r"^Updated: \d+ days? ago$")


def test_relative_dates_filter_removes_bogus_versions():
    """OTA's genai-eu Acceptable Use Policy recorded a new version whenever "Updated: N days ago" ticked."""
    series = ota_dir() / "versions" / "genai-eu" / "ChatGPT" / "Acceptable Use Policy"
    if not series.is_dir():
        pytest.skip(f"../shared/ota-data not found: {series} is missing")
    rules = ExtractionRules(filters=(BUILTIN_FILTERS["relative-dates"],))
    plain = ExtractionRules()
    versions = [path.read_text(encoding="utf-8") for path in sorted(series.glob("*.md"))]
    only_the_date_changed = 0
    for before, after in zip(versions, versions[1:]):
        old, new = extract_markdown(before, plain).splitlines(), extract_markdown(after, plain).splitlines()
        changed = [line[1:] for line in difflib.unified_diff(old, new, lineterm="", n=0)
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        if changed and all(_RELATIVE_DATE_LINE.match(line) for line in changed):
            only_the_date_changed += 1
            assert extract_markdown(before, rules) == extract_markdown(after, rules)
    assert only_the_date_changed >= 10
    assert not any("days ago" in extract_markdown(text, rules) for text in versions)


def test_tracking_params_filter_removes_bogus_versions():
    """Per-request ?openaicom-did=<uuid> links made about 100 versions of each of these documents."""
    series = ota_dir() / "versions" / "genai-eu" / "ChatGPT" / "Business Privacy Policy"
    if not series.is_dir():
        pytest.skip(f"../shared/ota-data not found: {series} is missing")
    rules = ExtractionRules(filters=(BUILTIN_FILTERS["tracking-params"],))
    texts = [path.read_text(encoding="utf-8") for path in sorted(series.glob("*.md"))]
    assert sum("openaicom-did=" in text for text in texts) > 50
    filtered = [extract_markdown(text, rules) for text in texts]
    assert not any("openaicom" in text for text in filtered)
    assert len(set(filtered)) <= len(texts) // 5
