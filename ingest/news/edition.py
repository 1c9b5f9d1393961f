"""What a readable article page amounts to as a version: its text's flags, its corrections, its diff from
the previous version and its syndication signature — and what of it may be kept.

The flagged sentences are found the way a policy change's are (``analysis.classify``
on the article text in its own language); they are all the published site
ever quotes. Under a TDM reservation the text itself is not kept: the
version keeps the sha256 of its text (to tell editions apart), the flagged
sentences, the correction notices and the MinHash signature.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from analysis.classify import classify
from analysis.diff import diff_texts
from analysis.rules import LANGUAGES
from analysis.syndication import SCHEME, signature, signature_bytes
from ingest.news.article import Article
from storage.news_models import ArticleVersion
from storage.news_record import EditionFacts
from storage.record import text_sha256


def flagger_language(language: str | None) -> str | None:
    """The flagger's language for an article's (`de-AT` → `de`); None when it has no rules for it."""
    code = (language or "").split("-")[0].lower()
    return code if code in LANGUAGES else None


def declared_time(value: str | None) -> datetime | None:
    """A declared date or time (ISO 8601) in UTC; a bare date is taken as midnight UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _notices(corrections: list[dict[str, str]] | tuple[dict[str, str], ...]) -> set[str]:
    return {str(c.get("notice", "")) for c in corrections}


def edition_facts(article: Article, *, tdm_reserved: bool, previous: ArticleVersion | None) -> EditionFacts:
    """The version `article` would be, after `previous` (the article's current version, if any)."""
    language = flagger_language(article.language)
    classification = classify(article.text, language) if language else None
    evidence = classification.evidence if classification else ()
    corrections = tuple(asdict(c) for c in article.corrections)
    sha = text_sha256(article.text)
    added = removed = None
    if previous is not None and previous.text is not None and not tdm_reserved and previous.sha256 != sha:
        diff = diff_texts(previous.text, article.text)
        added, removed = diff.words_added, diff.words_removed
    # A correction is a notice the previous edition did not carry; a first version that already carries one
    # keeps the notice without being called a correction of anything this record holds.
    is_correction = (previous is not None and previous.sha256 != sha
                     and bool(_notices(corrections) - _notices(previous.corrections or [])))
    return EditionFacts(
        sha256=sha,
        text=None if tdm_reserved else article.text,
        tdm_reserved=tdm_reserved,
        words=article.words,
        title=article.title,
        published=article.published,
        modified=article.modified,
        language=article.language,
        words_added=added,
        words_removed=removed,
        is_correction=is_correction,
        corrections=corrections,
        flags=classification.flags if classification else (),
        evidence=tuple(e.to_json() for e in evidence),
        minhash=signature_bytes(signature(article.text)),
        minhash_scheme=SCHEME,
    )
