"""Shared helpers of the news tests: the saved fixtures and the bundled configuration."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from ingest.news.declarations import NewsConfig, load_news
from ingest.news.page import Page

NEWS_DATA = Path(__file__).resolve().parent / "data" / "news"


@functools.cache
def config() -> NewsConfig:
    return load_news()


def article_cases() -> list[dict[str, Any]]:
    return yaml.safe_load((NEWS_DATA / "articles.yaml").read_text(encoding="utf-8"))["articles"]


def page(name: str, url: str) -> Page:
    return Page((NEWS_DATA / "articles" / f"{name}.html").read_bytes(), url)


def feed_bytes(name: str) -> bytes:
    return (NEWS_DATA / "feeds" / name).read_bytes()
