"""Language detection by counting each supported language's stop words."""

from __future__ import annotations

import re
from collections import Counter

from analysis.rules import LANGUAGES, language_data

# Words, with French elisions ("l'utilisation", "d'entraîner") counted as their article.
_WORD = re.compile(r"[^\W\d_]+['’]?")
# Enough text to decide; reading a whole 8,000-word policy adds nothing.
_SAMPLE_CHARS = 20_000


def detect_language(text: str) -> str:
    """``"en"``, ``"de"`` or ``"fr"``: the language whose stop words occur most; ``"en"`` on a tie or no evidence."""
    counts = Counter(w.replace("’", "'") for w in _WORD.findall(text[:_SAMPLE_CHARS].lower()))
    best, best_count = "en", 0
    for code in LANGUAGES:
        found = sum(counts[w] for w in language_data(code).stopwords)
        if found > best_count:
            best, best_count = code, found
    return best
