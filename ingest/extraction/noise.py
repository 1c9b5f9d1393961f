"""Noise that changes a page's text without changing what it says: recognised and made to read the same.

- Cloudflare's e-mail obfuscation: the address is replaced in the served page
  by `[email protected]` and a hex code (`data-cfemail`, or a link to
  `/cdn-cgi/l/email-protection#…`) on some requests and not others. The code
  is the address XOR-ed with its first byte; it is decoded back.
- Date formats that flip between requests or deployments (`January 12, 2025`
  ↔ `12 January 2025` ↔ `12.01.2025`, `11-04-2023` ↔ `2023-11-04`): every
  full date is written as ISO 8601. Numeric dates with `-` or `/` are read
  month first or day first as the filter says, and whichever way a day over
  12 forces; dotted ones (`12.01.2025`) only by the day-first filter.
- Interface strings caught with the text: a lone "Close" or "×", "Other
  language versions", a language switcher (a line, or a list, of nothing but
  language names).

Pure functions on trees or text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

# --- Cloudflare e-mail obfuscation -------------------------------------------------------------------------

_PROTECTED = "/cdn-cgi/l/email-protection"
# The elements holding an obfuscated address, reached through their attributes: libxml2 walks those in about 60 % of
# the time it takes to test every element for one (0.33–0.39 against 0.57–0.66 ms a page, `bench/extract_speed.py`).
_OBFUSCATED = etree.XPath(f"//@data-cfemail/.. | //a/@href[contains(., '{_PROTECTED}')]/..")
_PLACEHOLDER = re.compile(r"\[\s*email[\s\u00a0]*protected\s*\]", re.I)
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2}){2,256}$")


def decode_cfemail(code: str) -> str | None:
    """The address Cloudflare encoded as `code`, or None when it is not such a code."""
    code = code.strip()
    if not _HEX.match(code):
        return None
    data = bytes.fromhex(code)
    try:
        address = bytes(b ^ data[0] for b in data[1:]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return address if "@" in address and address.isprintable() else None


def _code_in(href: str) -> str | None:
    if _PROTECTED not in href or "#" not in href:
        return None
    return decode_cfemail(href.rsplit("#", 1)[1])


def decode_cloudflare_emails(root: etree._Element) -> None:
    """Put the addresses back where Cloudflare obfuscated them, as a page served without obfuscation has them:
    `<a href="mailto:ADDRESS">ADDRESS</a>`."""
    for element in _OBFUSCATED(root):
        if element.tag == "a":
            address = _code_in(element.get("href", ""))
            if address is None:
                inner = next(iter(element.xpath(".//*[@data-cfemail]")), None)
                address = decode_cfemail(inner.get("data-cfemail", "")) if inner is not None else None
            if address is None:
                continue
            element.set("href", f"mailto:{address}")
            if _PLACEHOLDER.search("".join(element.itertext())):
                _replace_content(element, address)
        else:
            address = decode_cfemail(element.get("data-cfemail", ""))
            if address is not None:
                _replace_content(element, address)
                del element.attrib["data-cfemail"]


def _replace_content(element: etree._Element, text: str) -> None:
    for child in list(element):
        element.remove(child)
    element.text = text


_MARKDOWN_PROTECTED = re.compile(r"\[([^\]\n]*?(?:\\?\[)?\s*email[\s\u00a0]*protected\s*(?:\\?\])?[^\]\n]*?)\]"
                                 r"\(([^)\s]*" + re.escape(_PROTECTED) + r"#([0-9a-fA-F]+)[^)\s]*)\)", re.I)


def decode_markdown_cloudflare_emails(text: str) -> str:
    """The same for already-extracted Markdown: `[\\[email protected\\]](/cdn-cgi/l/email-protection#…)`."""
    def restore(match: re.Match[str]) -> str:
        address = decode_cfemail(match.group(3))
        return match.group(0) if address is None else f"[{address}](mailto:{address})"
    return _MARKDOWN_PROTECTED.sub(restore, text) if _PROTECTED in text else text


# --- Dates ------------------------------------------------------------------------------------------------

_MONTHS = {
    # English, German, French; abbreviations as pages write them.
    "january": 1, "jan": 1, "januar": 1, "jänner": 1, "janvier": 1, "janv": 1,
    "february": 2, "feb": 2, "februar": 2, "février": 2, "fevrier": 2, "févr": 2,
    "march": 3, "mar": 3, "märz": 3, "maerz": 3, "mars": 3,
    "april": 4, "apr": 4, "avril": 4, "avr": 4,
    "may": 5, "mai": 5,
    "june": 6, "jun": 6, "juni": 6, "juin": 6,
    "july": 7, "jul": 7, "juli": 7, "juillet": 7, "juil": 7,
    "august": 8, "aug": 8, "août": 8, "aout": 8,
    "september": 9, "sep": 9, "sept": 9, "septembre": 9,
    "october": 10, "oct": 10, "oktober": 10, "okt": 10, "octobre": 10,
    "november": 11, "nov": 11, "novembre": 11,
    "december": 12, "dec": 12, "dezember": 12, "dez": 12, "décembre": 12, "decembre": 12, "déc": 12,
}
_MONTH = "(?P<month>" + "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|\.)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_B = r"(?<![\w.-])"
_E = r"(?![\w-]|\.\d)"
# "January 12, 2025", "Jan. 12 2025"; "12 January 2025", "12. Januar 2025", "1er janvier 2025".
_MONTH_FIRST = re.compile(rf"{_B}{_MONTH}\s+{_DAY},?\s+{_YEAR}{_E}", re.I)
_DAY_FIRST = re.compile(rf"{_B}{_DAY}\s+{_MONTH},?\s+{_YEAR}{_E}", re.I)
# "11-04-2023", "11/04/2023", "12.01.2025".
_NUMERIC = re.compile(rf"{_B}(?P<a>[0-3]?\d)(?P<sep>[-/.])(?P<b>[0-3]?\d)(?P=sep){_YEAR}{_E}")
# How many characters other than whitespace each expression can match before its year: the longest month
# written (`septembre.`, 10), the longest day (`31st`, 4) and a comma; two numbers of two digits and their
# separators.
_NAMED_REACH = max(map(len, _MONTHS)) + 1 + 4 + 1
_NUMERIC_REACH = 6
_YEAR_ENDING = re.compile(rf"{_YEAR}{_E}")


def _years(text: str) -> list[re.Match[str]]:
    """`_YEAR_ENDING.finditer(text)`, a quarter of the cost: `str.find` skips to each `19` and `20` far faster
    than the expression's scan. Two years cannot overlap (the character after one is not a digit), so trying
    the expression at every such place finds the same years."""
    found = []
    for century in ("19", "20"):
        at = text.find(century)
        while at >= 0:
            if (year := _YEAR_ENDING.match(text, at)) is not None:
                found.append(year)
            at = text.find(century, at + 1)
    found.sort(key=re.Match.start)
    return found


def _sub_ending_in_years(pattern: re.Pattern[str], reach: int, replace: Callable[[re.Match[str]], str],
                         text: str) -> str:
    """`pattern.sub(replace, text)`, for a date expression that ends with a year and matches at most `reach`
    characters other than whitespace before it.

    Scanned whole, a policy's text cost the three expressions 3.1 ms a page, more than all the other filters
    together; a policy writes a handful of years, so each year is found first and the expression is tried only
    from as far back as a date ending with it can start (0.2 ms, `bench/extract_speed.py`). That is exact:
    - a date holds one year and cannot start inside the year before, so the walk back stops there;
    - the look-behind reads the character before where the search starts;
    - the search ends two characters after the year, all the closing look-ahead reads. A year longer than the
      window would have been followed by a digit, and was no year.
    Each part of the text is walked back over and searched once, however hostile the page."""
    pieces: list[str] = []
    done = after = 0  # the end of the last date replaced; of the last year
    for year in _years(text):
        start = year.start()
        counted = 0
        while start > after and counted < reach:
            start -= 1
            if not text[start].isspace():
                counted += 1
        match = pattern.search(text, start, year.end() + 2)
        if match is not None:
            pieces += (text[done:match.start()], replace(match))
            done = match.end()
        after = year.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)

MONTH_FIRST, DAY_FIRST = "month-first", "day-first"
DATE_ORDERS = (MONTH_FIRST, DAY_FIRST)


def _iso(year: int, month: int, day: int) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _named(match: re.Match[str]) -> str:
    month = _MONTHS.get(match.group("month").lower().rstrip("."))
    iso = _iso(int(match.group("year")), month, int(match.group("day"))) if month else None
    return iso or match.group(0)


def _numeric(match: re.Match[str], order: str) -> str:
    a, b, year = int(match.group("a")), int(match.group("b")), int(match.group("year"))
    if match.group("sep") == "." and order != DAY_FIRST:
        return match.group(0)  # in month-first text, 1.2.2025 is as likely a version number
    day_first = match.group("sep") == "." or a > 12 or (order == DAY_FIRST and b <= 12)
    month, day = (b, a) if day_first else (a, b)
    return _iso(year, month, day) or match.group(0)


def date_passes(order: str) -> tuple[tuple[re.Pattern[str], int, Callable[[re.Match[str]], str]], ...]:
    """The expressions `normalise_dates` replaces in turn, each with its reach and what it writes."""
    return ((_MONTH_FIRST, _NAMED_REACH, _named), (_DAY_FIRST, _NAMED_REACH, _named),
            (_NUMERIC, _NUMERIC_REACH, lambda match: _numeric(match, order)))


def normalise_dates(text: str, order: str = MONTH_FIRST) -> str:
    """Every full date written as ISO 8601 (`2025-01-12`); `order` says how to read `11-04-2023`."""
    for pattern, reach, replace in date_passes(order):
        text = _sub_ending_in_years(pattern, reach, replace, text)
    return text


# --- Interface strings ------------------------------------------------------------------------------------

_UI_LINES = {
    "close", "×", "✕", "✖", "menu", "open menu", "close menu", "toggle menu", "toggle navigation",
    "skip to content", "skip to main content", "back to top", "scroll to top", "share", "copy link", "print",
    "other language versions", "other languages", "select language", "select a language", "choose a language",
    "choose your language", "change language",
    "schließen", "sprache wählen", "fermer", "choisir la langue", "autres versions linguistiques",
}
_LANGUAGE_NAMES = {
    "english", "english (us)", "english (uk)", "deutsch", "français", "francais", "español", "espanol",
    "español (latinoamérica)", "italiano", "português", "português (brasil)", "português (portugal)", "nederlands",
    "polski", "русский", "українська", "日本語", "한국어", "中文", "简体中文", "繁體中文", "中文（简体）", "中文（繁體）",
    "türkçe", "svenska", "dansk", "norsk", "norsk bokmål", "suomi", "čeština", "magyar", "română", "ελληνικά",
    "עברית", "العربية", "हिन्दी", "bahasa indonesia", "bahasa melayu", "tiếng việt", "ไทย", "català", "hrvatski",
    "slovenčina", "slovenščina", "български", "eesti", "latviešu", "lietuvių", "српски", "srpski", "filipino",
    "বাংলা", "فارسی", "اردو", "kiswahili",
}
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"[*_`]+")
_SEPARATORS = re.compile(r"\s*(?:\||·|•|/|,)\s*")


def _link_text(link: re.Match[str]) -> str:
    return link.group(1)


def _bare(line: str) -> str:
    """A line as it reads: without list markers, link targets, emphasis, heading marks or trailing colon."""
    line = _LIST_MARK.sub("", line)
    line = _LINK.sub(_link_text, line)
    line = _EMPHASIS.sub("", line).strip().lstrip("#").strip().rstrip(":").strip()
    return " ".join(line.split()).lower()


def _separated_names(bare: str) -> bool:
    """Whether the line is two or more language names between separators ("English | Deutsch"); read part by
    part up to the first that is not a name (most lines are sentences: their first part is not)."""
    names, start = 0, 0
    for separator in _SEPARATORS.finditer(bare):
        part = bare[start:separator.start()]
        start = separator.end()
        if part:
            if part not in _LANGUAGE_NAMES:
                return False
            names += 1
    part = bare[start:]
    if part:
        if part not in _LANGUAGE_NAMES:
            return False
        names += 1
    return names > 1


def _languages_only(bare: str) -> bool:
    if bare in _LANGUAGE_NAMES:
        return True
    if _separated_names(bare):
        return True
    # Names run together with spaces only: "English Deutsch Français".
    words, names, i = bare.split(), 0, 0
    while i < len(words):
        for size in (3, 2, 1):
            if " ".join(words[i:i + size]) in _LANGUAGE_NAMES:
                i, names = i + size, names + 1
                break
        else:
            return False
    return names > 1


def _ui_character_class() -> str:
    """What an interface line may be written with, as a character class (ignoring case): the characters of the
    interface strings and language names, separators, whitespace and what `_bare` takes out wherever it is
    (emphasis, heading marks, a trailing colon)."""
    chars = {c for entry in _UI_LINES | _LANGUAGE_NAMES for c in entry} | set("|·•/,*_`#:")
    if chars & {"σ", "ς"}:
        chars |= {"σ", "ς"}  # a capital sigma lowers to either, depending on what follows it
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + r"\s]"


_UI_CHARACTER = re.compile(_ui_character_class(), re.IGNORECASE)
# A line made only of those characters, after an optional list marker: a line it refuses keeps, once `_bare` has
# made it what it reads, a character no interface string or language name has (a full stop, a digit), so
# `is_ui_line` refuses it without making it so. That is most lines of a policy.
_MAY_BE_UI = re.compile(rf"(?:\s*(?:[-*+]|\d+[.)])\s+)?{_UI_CHARACTER.pattern}*", re.IGNORECASE)
# Characters a sentence ends with that the class refuses. The list marker ends in whitespace, so a line whose last
# character is one of them is refused by `_MAY_BE_UI` whatever comes before: most lines of a policy end with a
# full stop, and are refused without the class being tried on every character of them.
_ENDS_NOT_UI = frozenset(c for c in ".!?;'\")0123456789" if not _UI_CHARACTER.fullmatch(c))


def is_ui_line(line: str) -> bool:
    if not line or line.isspace():
        return False
    # A link's target goes whatever it holds: the line is looked at as its text reads.
    seen = _LINK.sub(_link_text, line) if "](" in line else line
    if not seen or seen[-1] in _ENDS_NOT_UI or _MAY_BE_UI.fullmatch(seen) is None:
        return False
    bare = _bare(line)
    return bool(bare) and (bare in _UI_LINES or _languages_only(bare))


def drop_ui_lines(text: str) -> str:
    """The text without lines that are only interface strings or language names."""
    lines = text.split("\n")
    kept = [line for line in lines if not is_ui_line(line)]
    return text if len(kept) == len(lines) else "\n".join(kept)
