"""Language detection by counting each supported language's stop words."""

from __future__ import annotations

import re

from analysis.rules import LANGUAGES, language_data

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# Enough words to decide; reading a whole 8,000-word policy adds nothing.
_SAMPLE_WORDS = 3000


def detect_language(text: str) -> str:
    """``"en"``, ``"de"`` or ``"fr"``: the language whose stop words occur most; ``"en"`` on a tie or no evidence."""
    words = [w.casefold() for w in _WORD.findall(text[: _SAMPLE_WORDS * 8])][:_SAMPLE_WORDS]
    if not words:
        return "en"
    # French elisions ("l'utilisation", "d'entraîner") count as their article.
    words = [w.split("'")[0] + "'" if "'" in w else w for w in (w.replace("’", "'") for w in words)]
    best, best_count = "en", 0
    for code in LANGUAGES:
        stopwords = language_data(code).stopwords
        count = sum(1 for w in words if w in stopwords)
        if count > best_count:
            best, best_count = code, count
    return best
