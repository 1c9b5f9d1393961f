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


# Scripts by Unicode block, for the letters that decide which script a text is in.
_SCRIPTS: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "Latin"),
    (0x0370, 0x03FF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x1100, 0x11FF, "Hangul"),
    (0x1E00, 0x1EFF, "Latin"),
    (0x3040, 0x30FF, "Kana"),
    (0x3400, 0x4DBF, "Han"),
    (0x4E00, 0x9FFF, "Han"),
    (0xAC00, 0xD7AF, "Hangul"),
    (0xF900, 0xFAFF, "Han"),
)


def _script(char: str) -> str | None:
    code = ord(char)
    for low, high, name in _SCRIPTS:
        if low <= code <= high:
            return name
    return None


_LETTER = re.compile(r"[^\W\d_]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
# Letters looked at one by one once the text is known not to be mostly Latin.
_SCRIPT_SAMPLE = 4_000


def dominant_script(text: str) -> str | None:
    """The script most of the text's letters are written in ("Latin", "Han", "Cyrillic" …), or None without letters."""
    sample = text[:_SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    if not letters:
        return None
    if 2 * len(_LATIN_LETTER.findall(sample)) >= letters:
        return "Latin"
    counts: Counter[str] = Counter()
    for char in sample[:_SCRIPT_SAMPLE]:
        if char.isalpha():
            name = _script(char)
            if name is not None:
                counts[name] += 1
    return counts.most_common(1)[0][0] if counts else None
