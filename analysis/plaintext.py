"""Markdown-to-plain-text helpers shared by the sentence splitter and the change analysis.

The versions the crawler stores are Markdown converted from policy pages, so
the same sentence can come back with a different link target, a word joiner
(U+2060), an "(opens in a new window)" suffix, curly instead of straight
quotes, or other Markdown escaping. These helpers remove exactly that kind of
noise and nothing that changes the words a reader sees.
"""

from __future__ import annotations

import re
import string

# Link text that screen-reader helpers add to external links; it is not part
# of the policy wording, and its presence flips from one capture to the next.
_NEW_WINDOW = re.compile(
    r"\(\s*(?:opens in a new (?:window|tab)|wird in einem neuen (?:fenster|tab) geöffnet"
    r"|s['’]ouvre dans une nouvelle (?:fenêtre|fenetre|page|onglet))\s*\)",
    re.IGNORECASE,
)
_INVISIBLE = re.compile("[\u2060\u200b\u200c\u200d\ufeff\u00ad]")
_SPACES = re.compile("[\u00a0\u202f\u2007\u2009\u200a\t]")
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
    }
)
# [text](target "title") and ![alt](target); targets may hold one level of parentheses.
# (Written to start with a character set, "!" or "[", rather than an optional "!", so it is scanned for quickly.)
_LINK = re.compile(r"[!\[](?:(?<=!)\[|(?<=\[))([^\[\]]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_REF_LINK = re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_URL_TAIL = re.compile(r"(https?://[^\s?#)\]]*)[?#][^\s)\]]*")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
# CommonMark lets a backslash escape any ASCII punctuation character. An escaped character is literal text: it is
# set aside (as one of the 32 Unicode noncharacters U+FDD0…U+FDEF, reserved for a program's internal use) while
# links and emphasis are removed, so that an escaped `\*` is never read as an emphasis marker, then put back.
_PUNCTUATION = string.punctuation
_ESCAPE = re.compile(r"\\([" + re.escape(_PUNCTUATION) + r"])")
_SET_ASIDE = {character: chr(0xFDD0 + i) for i, character in enumerate(_PUNCTUATION)}
_PUT_BACK = str.maketrans({held: character for character, held in _SET_ASIDE.items()})
_EMPHASIS = re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1")
# The next three start with the marker and look behind it after: an expression that starts with a
# character is scanned for quickly, one that starts with a lookbehind is tried at every position.
_EMPH_STAR = re.compile(r"\*(?<![\w*]\*)(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_EMPH_UNDERSCORE = re.compile(r"_(?<![\w_]_)(?=\S)([^_]+?)(?<=\S)_(?![\w_])")
_CODE = re.compile(r"`([^`]*)`")
# A run of underscores not after a word character, or not before one.
_STRAY_UNDERSCORE = re.compile(r"_(?:(?<!\w_)_*|_*(?!\w))")
_MULTISPACE = re.compile(r" {2,}")


# str.translate looks every character of a non-ASCII text up in the table; replacing each of its few
# characters in turn scans the text in C.
_PLAIN_CHARACTERS = tuple((chr(code), plain) for code, plain in _TYPOGRAPHY.items())


def normalise_typography(text: str) -> str:
    """Straight quotes, plain hyphens, plain spaces; invisible characters removed."""
    if text.isascii():
        return text.replace("\t", " ")  # the only one of them in ASCII
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    for character, plain in _PLAIN_CHARACTERS:
        if character in text:
            text = text.replace(character, plain)
    return text


def inline_to_plain(text: str) -> str:
    """One line or paragraph of Markdown as the plain text a reader sees.

    Link targets, emphasis markers, inline code ticks, HTML tags, backslash
    escapes, word joiners and "(opens in a new window)" are removed; curly
    quotes and dashes become ASCII. Block markers (headings, bullets) are the
    splitter's business, not this function's.
    """
    text = normalise_typography(text)
    # Each substitution only runs when its marker character occurs: most
    # sentences have no links, emphasis or escapes, and this runs on every block.
    escaped = "\\" in text
    if escaped:
        text = _ESCAPE.sub(lambda m: _SET_ASIDE[m.group(1)], text)
    if "(" in text:
        text = _NEW_WINDOW.sub("", text)
    if "[" in text:
        text = _LINK.sub(r"\1", text)
        text = _REF_LINK.sub(r"\1", text)
    if "<" in text:
        text = _AUTOLINK.sub(r"\1", text)
        text = _HTML_TAG.sub(" ", text)
    if "http" in text:
        text = _URL_TAIL.sub(r"\1", text)
    if "`" in text:
        text = _CODE.sub(r"\1", text)
    if "*" in text or "_" in text or "~" in text:
        text = _EMPHASIS.sub(r"\2", text)
        text = _EMPH_STAR.sub(r"\1", text)
        text = _EMPH_UNDERSCORE.sub(r"\1", text)
    if escaped:
        text = text.translate(_PUT_BACK)
    if "_" in text:
        # Escaped emphasis around punctuation ("However\_,\_ we") leaves stray marks.
        text = _STRAY_UNDERSCORE.sub("", text)
    if "  " in text:
        text = _MULTISPACE.sub(" ", text)
    return text.strip()


_WORD = re.compile(r"\w+")
_INNER_APOSTROPHE = re.compile(r"'(?<=\w')(?=\w)")


def word_sequence(text: str) -> list[str]:
    """The words of a Markdown text, lower-cased, with all punctuation and markup dropped.

    Two texts with the same word sequence differ only in formatting: link
    targets, emphasis, bullets, headings underlines, table pipes, quotes,
    whitespace, case.
    """
    return plain_words(inline_to_plain(text))


def plain_words(plain: str) -> list[str]:
    """``word_sequence`` of a text that is already plain and normalised (a sentence from ``analysis.sentences``)."""
    if "'" in plain:
        plain = _INNER_APOSTROPHE.sub("", plain)
    words = _WORD.findall(plain.casefold())
    if "_" not in plain:
        return words
    return [w.replace("_", "") for w in words if w.strip("_")]
