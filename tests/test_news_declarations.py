"""News declarations: the bundled outlets and rules, and errors that name the file, the id and the field."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from ingest.news.declarations import BUNDLED_DIR, NewsDeclarationError, NewsKind, OutletType, load_news, select_news
from ingest.safeyaml import YamlLimitError, load_bounded
from news_support import NEWS_DATA

ERRORS = yaml.safe_load((NEWS_DATA / "declarations" / "errors.yaml").read_text(encoding="utf-8"))["cases"]
GOOD = "news: [{id: a/b, kind: feed, url: 'https://x.example/rss', language: en, outlet: X, type: press}]\n"


def test_the_bundled_declarations_cover_three_languages_and_every_kind_of_outlet() -> None:
    config = load_news()
    enabled = select_news(config.sources)
    assert len({s.outlet for s in enabled}) >= 15
    assert Counter(s.language for s in enabled).keys() == {"en", "de", "fr"}
    assert min(Counter(s.language for s in enabled).values()) >= 5
    assert {s.type for s in enabled} == set(OutletType)
    for source in config.sources.values():
        if source.kind is NewsKind.GDELT:
            assert not source.enabled and source.query and source.url is None
        else:
            assert urlsplit(source.url).scheme == "https" and source.query is None  # type: ignore[arg-type]
            assert "news.google." not in source.url  # type: ignore[operator]
        if not source.enabled and source.kind is not NewsKind.GDELT:
            assert source.note, f"{source.id} is off without saying why"
    assert config.relevance_from.endswith("relevance.yaml") and config.markers_from.endswith("markers.yaml")
    assert {"en", "de", "fr"} <= set(config.relevance.languages) and {"en", "de", "fr"} <= set(config.markers.corrections)


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c["id"])
def test_errors_name_the_file_the_id_and_the_field(tmp_path: Path, case: dict[str, Any]) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(case["yaml"], encoding="utf-8")
    with pytest.raises(NewsDeclarationError) as caught:
        load_news(tmp_path)
    assert str(caught.value).startswith(str(path))
    assert case["error"] in str(caught.value)


def test_a_location_without_rules_uses_the_bundled_rules_and_markers(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(GOOD, encoding="utf-8")
    config = load_news(tmp_path)
    assert list(config.sources) == ["a/b"]
    assert Path(config.relevance_from).parent == BUNDLED_DIR


def test_rules_declared_twice_are_an_error(tmp_path: Path) -> None:
    rules = "relevance: {vendors: [{vendor: X, patterns: [X]}], topics: {retention: {en: [keep]}}}\n"
    (tmp_path / "a.yaml").write_text(GOOD + rules, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(rules, encoding="utf-8")
    with pytest.raises(NewsDeclarationError, match=r"b.yaml: 'relevance' is declared twice \(first in .*a.yaml\)"):
        load_news(tmp_path)


def test_select_news_takes_the_enabled_or_exactly_the_named(tmp_path: Path) -> None:
    config = load_news()
    assert all(s.enabled for s in select_news(config.sources))
    assert [s.id for s in select_news(config.sources, ["gdelt/openai-privacy-de"])] == ["gdelt/openai-privacy-de"]
    with pytest.raises(NewsDeclarationError, match="unknown news source id\\(s\\): nope/x"):
        select_news(config.sources, ["nope/x"])


def test_a_missing_location_is_named(tmp_path: Path) -> None:
    with pytest.raises(NewsDeclarationError, match="no such file or directory"):
        load_news(tmp_path / "absent")


def test_deep_nesting_is_refused_before_the_parser_recurses() -> None:
    with pytest.raises(YamlLimitError, match="nested deeper than 40 levels"):
        load_bounded("[" * 10_000 + "]" * 10_000)


def test_a_large_file_is_refused_and_ordinary_anchors_still_work() -> None:
    with pytest.raises(YamlLimitError, match="bytes, more than"):
        load_bounded("x: " + "y" * 100, max_bytes=50)
    assert load_bounded("a: &x {b: 1}\nc: *x") == {"a": {"b": 1}, "c": {"b": 1}}


@pytest.mark.parametrize("text", ["news: []\n", "news:\n"])
def test_an_empty_news_list_reads_no_news(tmp_path: Path, text: str) -> None:
    from ingest.news.declarations import load_news

    (tmp_path / "news.yaml").write_text(text, encoding="utf-8")
    assert load_news(tmp_path / "news.yaml").sources == {}


def test_a_news_file_without_a_news_list_is_refused_saying_how_to_declare_none(tmp_path: Path) -> None:
    from ingest.news.declarations import NewsDeclarationError, load_news

    (tmp_path / "news.yaml").write_text("# no news here\n", encoding="utf-8")
    with pytest.raises(NewsDeclarationError, match=r"declares no news sources \(no 'news:' list; `news: \[\]` for "
                                                   r"none\)"):
        load_news(tmp_path / "news.yaml")
