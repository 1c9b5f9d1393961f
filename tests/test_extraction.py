"""The extraction engine: data-driven cases from tests/data/extraction/*.yaml plus properties."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.extraction import (
    BUILTIN_FILTERS,
    COMBINED_SEPARATOR,
    ExtractionError,
    ExtractionRules,
    FilterSpec,
    FilterSpecError,
    combine,
    extract_html,
    extract_markdown,
    normalize_text,
    parse_filter,
    validate_selector,
)

CASES_DIR = Path(__file__).parent / "data" / "extraction"
INPUT_KEYS = ("html", "html_base64", "markdown", "parts")
CASE_KEYS = {"id", *INPUT_KEYS, "select", "remove", "filters", "encoding", "expected", "expect_error", "error_contains"}


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            case["_file"] = path.name
            params.append(pytest.param(case, id=f"{path.stem}/{case['id']}"))
    return params


CASES = _load_cases()


def _filters(raw: list[Any]) -> tuple[FilterSpec, ...]:
    specs = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            specs.append(BUILTIN_FILTERS[item])
        else:
            specs.append(parse_filter(f"inline-{i}", item))
    return tuple(specs)


def _rules(case: dict[str, Any]) -> ExtractionRules:
    return ExtractionRules(
        select=tuple(case.get("select", ())),
        remove=tuple(case.get("remove", ())),
        filters=_filters(case.get("filters", [])),
    )


def _outputs(case: dict[str, Any]) -> list[str]:
    """Run the case's input(s) through the engine; ExtractionError propagates."""
    rules = _rules(case)
    if "markdown" in case:
        return [extract_markdown(case["markdown"], rules)]
    if "parts" in case:
        return [combine(case["parts"])]
    if "html_base64" in case:
        inputs = [base64.b64decode(case["html_base64"])]
    else:
        html = case["html"]
        inputs = [h.encode("utf-8") for h in (html if isinstance(html, list) else [html])]
    return [extract_html(data, rules, encoding=case.get("encoding")) for data in inputs]


def test_case_files_are_well_formed():
    ids = [p.values[0]["id"] for p in CASES]
    assert len(ids) >= 40
    assert len(ids) == len(set(ids)), "case ids must be unique across files"
    for param in CASES:
        case = param.values[0]
        assert set(case) - {"_file"} <= CASE_KEYS, (case["id"], set(case) - CASE_KEYS)
        assert sum(k in case for k in INPUT_KEYS) == 1, case["id"]
        assert ("expected" in case) != ("expect_error" in case), case["id"]


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any]):
    if "expect_error" in case:
        with pytest.raises(ExtractionError) as info:
            _outputs(case)
        assert info.value.kind == case["expect_error"], info.value
        if "error_contains" in case:
            assert case["error_contains"] in info.value.detail
        return
    for i, output in enumerate(_outputs(case)):
        assert output == case["expected"], f"input #{i}:\n{output}"


# -- determinism and robustness --------------------------------------------------

RICH_PAGE = (CASES_DIR / "blocks.yaml").read_bytes()  # stable bytes; the YAML's text reads as one paragraph
MIXED = b"""<main><h1>T</h1><ul><li>a<ul><li>b</li></ul></li></ul><table><tr><th>x</th><th>y</th></tr>
<tr><td>1</td><td>2</td></tr></table><div class="a">A<div class="b">B</div></div><p><a href="/x?utm_source=1&k=2">l</a>
<b>bold</b> <i>it</i> <code>c</code></p><pre> p  re</pre><dl><dt>t</dt><dd>d</dd></dl></main>"""
MIXED_RULES = ExtractionRules(select=(".b", "main", ".a"), remove=("pre",),
                              filters=(BUILTIN_FILTERS["tracking-params"], BUILTIN_FILTERS["typography"]))


def test_same_bytes_same_text_twice():
    first = extract_html(MIXED, MIXED_RULES)
    second = extract_html(MIXED, MIXED_RULES)
    assert first == second
    assert "[l](/x?k=2)" in first
    assert extract_html(RICH_PAGE, ExtractionRules()) == extract_html(RICH_PAGE, ExtractionRules())


def test_same_text_in_another_process_with_another_hash_seed():
    script = (
        "import sys\n"
        "from ingest.extraction import extract_html, ExtractionRules, BUILTIN_FILTERS as B\n"
        "rules = ExtractionRules(select=('.b', 'main', '.a'), remove=('pre',),"
        " filters=(B['tracking-params'], B['typography']))\n"
        "sys.stdout.write(extract_html(sys.stdin.buffer.read(), rules))\n"
    )
    repo = Path(__file__).resolve().parents[1]
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(repo)}
        done = subprocess.run([sys.executable, "-c", script], input=MIXED, capture_output=True, env=env,
                              cwd=repo, check=True)
        outputs.add(done.stdout.decode("utf-8"))
    assert outputs == {extract_html(MIXED, MIXED_RULES)}


DEEP = [
    ("<div>", "</div>"),
    ("<span>", "</span>"),
    ("<blockquote>", "</blockquote>"),
    ("<ul><li>", "</li></ul>"),
    ("<b><i>", "</i></b>"),
    ("<table><tr><td>", "</td><td>x</td></tr></table>"),
]


@pytest.mark.parametrize("open_tag,close_tag", DEEP)
def test_deep_nesting_converts_without_recursion(open_tag: str, close_tag: str):
    # Deeper than Python's recursion limit, within the parser's nesting limit.
    levels = 1900 // open_tag.count("<")
    html = ("<body>" + open_tag * levels + "deep text" + close_tag * levels + "<p>after</p></body>").encode()
    text = extract_html(html, ExtractionRules())
    assert "deep text" in text
    assert text.rstrip().endswith("after")


@pytest.mark.parametrize("open_tag,close_tag", DEEP[:2])
def test_nesting_beyond_the_parser_limit_fails_instead_of_truncating(open_tag: str, close_tag: str):
    html = ("<body>" + open_tag * 5000 + "deep text" + close_tag * 5000 + "<p>after</p></body>").encode()
    with pytest.raises(ExtractionError) as info:
        extract_html(html, ExtractionRules())
    assert info.value.kind == "decode_error"
    assert "2048 levels" in info.value.detail


def test_fifty_megabyte_page():
    paragraph = "<p>We keep <b>your data</b> for 30 days. " + "Lorem ipsum dolor sit amet. " * 30 + "</p>\n"
    count = 50_000_000 // len(paragraph)
    html = ("<html><body><main>" + paragraph * count + "</main></body></html>").encode()
    started = time.perf_counter()
    text = extract_html(html, ExtractionRules(select=("main",)))
    elapsed = time.perf_counter() - started
    assert text.count("We keep **your data** for 30 days.") == count
    assert elapsed < 30, f"took {elapsed:.1f} s"


def _utf8_cases() -> list[tuple[str, bytes]]:
    """Bytes around the cuts `_is_utf8` makes: characters of every length across a cut, and each way UTF-8
    goes wrong (a stray continuation byte, a truncated or overlong character, a surrogate, a byte never used)."""
    from ingest.extraction.decode import _UTF8_PIECE

    characters = {"two": "é".encode(), "three": "’".encode(), "four": "😀".encode()}
    wrong = {"stray continuation": b"\x80", "truncated three": b"\xe2\x80", "overlong slash": b"\xc0\xaf",
             "surrogate": b"\xed\xa0\x80", "never used": b"\xff", "five continuations": b"\xf0" + b"\x80" * 5,
             "lead before ASCII": b"\xe2A\x80\x99"}
    cases = [("empty", b""), ("ASCII", b"a" * (3 * _UTF8_PIECE)), ("truncated at the end", b"a" * 10 + b"\xe2\x80")]
    for shift in range(-5, 6):
        for name, encoded in {**characters, **wrong}.items():
            # The character (or wrong bytes) placed so that each of its bytes in turn falls on the first cut.
            data = b"a" * (_UTF8_PIECE + shift) + encoded + b"b" * 100 + "’".encode() * 2
            cases.append((f"{name} at cut{shift:+d}", data))
            cases.append((f"{name} at cut{shift:+d}, at the end", data[: _UTF8_PIECE + shift + len(encoded)]))
    # Continuation bytes only, across several pieces.
    cases.append(("a run of continuation bytes", b"a" + b"\x80" * (2 * _UTF8_PIECE)))
    cases.append(("many characters", "Wir speichern Ihre Daten — nicht länger als nötig. ".encode() * 2000))
    return cases


@pytest.mark.parametrize("name,data", _utf8_cases(), ids=[name for name, _ in _utf8_cases()])
def test_the_piecewise_utf8_check_agrees_with_decoding(name: str, data: bytes):
    from ingest.extraction.decode import _is_utf8

    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert _is_utf8(data) is valid


def test_a_page_with_a_bad_byte_past_the_first_piece_names_its_offset():
    from ingest.extraction.decode import _UTF8_PIECE

    html = b"<p>" + "’".encode() * _UTF8_PIECE + b"caf\xe9</p>"
    with pytest.raises(ExtractionError) as info:
        extract_html(html, ExtractionRules())
    assert info.value.kind == "decode_error"
    assert f"at offset {3 + 3 * _UTF8_PIECE + 3}" in info.value.detail
    assert extract_html(html.replace(b"\xe9", "é".encode()), ExtractionRules()).endswith("café\n")


def test_only_the_first_4kb_are_searched_for_a_meta_charset():
    late = b"<!-- " + b"x" * 5000 + b' --><meta charset="windows-1251"><p>caf\xc3\xa9</p>'
    assert extract_html(late, ExtractionRules()) == "caf\u00e9\n"


# -- normalisation -----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "a\u00a0\u00a0b\r\n\r\n\r\n- x\n\n    code-ish   line\t\n",
    "```\n  keep   this\n```\n\n\n> q  \n>\n",
    "\ufeff\u200b\n\n",
    "x",
])
def test_normalize_is_idempotent_and_ends_with_one_newline(text: str):
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert once == "" or (once.endswith("\n") and not once.endswith("\n\n") and not once.startswith("\n"))
    assert "\n\n\n" not in once


def test_normalize_keeps_indentation_but_not_trailing_spaces():
    assert normalize_text("- a\n  b   c  \n") == "- a\n  b c\n"


def test_every_character_normalisation_replaces_is_one_isprintable_refuses():
    # normalize_text scans only the lines `str.isprintable` refuses: that is exact only while this holds.
    from ingest.extraction.normalize import _INVISIBLE, _SPACES

    everything = "".join(map(chr, range(0x110000)))
    for expression in (_INVISIBLE, _SPACES):
        replaced = "".join(expression.findall(everything))
        assert replaced, expression.pattern
        assert [c for c in replaced if c.isprintable()] == []


NORMALISED = [
    # Invisible characters go, space separators become spaces, on lines among printable ones.
    ("plain line\nsoft\u00adhy\u200bphen\u2060 and\ufeff joiners\nlast", "plain line\nsofthyphen and joiners\nlast\n"),
    ("a\u00a0b\u202fc\u3000d\nok", "a b c d\nok\n"),
    ("vertical\x0btab and form\x0cfeed\x1f\x00 stay one line", "verticaltab and formfeed stay one line\n"),
    # A soft hyphen between a letter and its combining accent: removed before NFC composes them.
    ("caf\u0065\u00ad\u0301\nnext", "caf\u00e9\nnext\n"),
    ("e\u0301 composed on a printable line\n\u00a0", "\u00e9 composed on a printable line\n"),
    # A line separator is not printable but neither expression's: it stays.
    ("one\u2028two", "one\u2028two\n"),
    # Tabs: runs inside a line become one space, leading ones four columns; inside a fence, spacing is content.
    ("\tindented\tand\t\ttabbed\n```\n\tcode\u00a0\u00a0here\n```", "    indented and tabbed\n```\n    code  here\n```\n"),
    ("\r\nwindows\r\n\r\n\r\nand mac\rlines\u200b\r", "windows\n\nand mac\nlines\n"),
    # A fence whose marker a control character splits is a fence once it is gone, in ASCII text too.
    ("~\x00~~\na  b\n~\x00~~", "~~~\na  b\n~~~\n"),
    ("`\x7f``\nc  d\n``\u200b`\n", "```\nc  d\n```\n"),
]


@pytest.mark.parametrize("text,expected", NORMALISED)
def test_normalize_text(text: str, expected: str):
    assert normalize_text(text) == expected


def test_combine_joins_with_the_separator():
    assert COMBINED_SEPARATOR == "\n\n- - -\n\n"
    assert combine(["one\n", "two\n", "three"]) == "one\n\n- - -\n\ntwo\n\n- - -\n\nthree\n"


# -- filters and selectors -----------------------------------------------------------

def test_builtin_filters_exist():
    assert {"typography", "tracking-params", "opens-in-new-window", "relative-dates", "redirect-ids"} <= set(BUILTIN_FILTERS)
    for name, spec in BUILTIN_FILTERS.items():
        assert spec.name == name


def test_parse_filter_builds_a_spec():
    spec = parse_filter("noise", {
        "strip_query_params": ["utm_*"], "drop": [".banner"],
        "replace": [{"pattern": "Build (\\w+)", "with": "Build \\1"}], "typography": True,
    })
    assert spec == FilterSpec("noise", ("utm_*",), (".banner",), (("Build (\\w+)", "Build \\1"),), True)


@pytest.mark.parametrize("data,field,words", [
    ({"strip_query_params": ["utm_*"], "colour": "red"}, "colour", "unknown key"),
    ({"drop": ".banner"}, "drop", "list of strings"),
    ({"drop": ["main >> p"]}, "drop[0]", "invalid CSS selector"),
    ({"drop": [""]}, "drop[0]", "non-empty string"),
    ({"strip_query_params": [3]}, "strip_query_params[0]", "non-empty string"),
    ({"replace": [{"pattern": "(unclosed", "with": ""}]}, "replace[0].pattern", "invalid regular expression"),
    ({"replace": [{"pattern": "\\bdon't (x", "with": ""}]}, "replace[0].pattern",
     "invalid regular expression '\\bdon''t (x': missing )"),
    ({"replace": [{"pattern": "a", "with": "x"}, {"pattern": "b", "with": "\\2"}]}, "replace[1].with", "invalid replacement"),
    ({"replace": [{"pattern": "a", "by": "x"}]}, "replace[0].by", "unknown key"),
    ({"replace": ["a"]}, "replace[0]", "mapping"),
    ({"replace": {"pattern": "a"}}, "replace", "list"),
    ({"replace": [{"with": "x"}]}, "replace[0].pattern", "regular expression"),
    ({"typography": "yes"}, "typography", "true or false"),
])
def test_parse_filter_errors_name_the_field(data: dict, field: str, words: str):
    with pytest.raises(FilterSpecError) as info:
        parse_filter("bad", data)
    assert isinstance(info.value, ValueError)
    assert info.value.field == field
    assert words in str(info.value)
    assert str(info.value).startswith(field + ":")


def test_validate_selector():
    validate_selector('select[name="Locale Select"]')
    validate_selector("main .sr-only")
    with pytest.raises(ValueError, match=r"^invalid CSS selector 'main >> p': "):
        validate_selector("main >> p")
    with pytest.raises(ValueError, match="invalid CSS selector"):
        validate_selector("")


def test_rules_accept_lists_and_stay_hashable():
    rules = ExtractionRules(select=["main"], remove="nav", filters=[BUILTIN_FILTERS["typography"]])
    assert rules.select == ("main",) and rules.remove == ("nav",)
    assert hash(rules) == hash(ExtractionRules(select=("main",), remove=("nav",), filters=(BUILTIN_FILTERS["typography"],)))


def test_extraction_error_carries_kind_and_detail():
    with pytest.raises(ExtractionError) as info:
        extract_html(b"<p>x</p>", ExtractionRules(select=("#nothing",)))
    assert info.value.kind == "selector_miss"
    assert "'#nothing'" in info.value.detail
    with pytest.raises(ValueError):
        ExtractionError("no_such_kind", "x")


@pytest.mark.parametrize(
    ("href", "written"),
    [
        ("https://example.com/a", "https://example.com/a"),
        ("  https://example.com/a\t", "https://example.com/a"),
        ("https://exa\nmple.com/\ra\tb", "https://example.com/ab"),
        ("https://example.com/a\tb", "https://example.com/ab"),
        ("https://example.com/a\nb", "https://example.com/ab"),
        ("https://example.com/a\rb", "https://example.com/ab"),
        ("https://example.com/a_(b)", "https://example.com/a_(b)"),
        ("https://example.com/a(b", "<https://example.com/a(b>"),
        ("https://example.com/a)b(", "<https://example.com/a)b(>"),
        ("https://example.com/a b", "<https://example.com/a b>"),
        ("https://example.com/a\\b", "https://example.com/a\\\\b"),
    ],
)
def test_link_destinations_are_cleaned_and_escaped(href: str, written: str) -> None:
    # Tabs and line breaks inside an address are dropped as browsers drop them; unbalanced brackets and spaces
    # need the pointy form.
    from lxml import etree

    from ingest.extraction import html_to_markdown

    root = etree.Element("p")
    link = etree.SubElement(root, "a", href=href)
    link.text = "go"
    assert html_to_markdown([root]) == f"[go]({written})"


def test_html_to_markdown_keeps_text_after_comments():
    from lxml import etree

    from ingest.extraction import html_to_markdown

    root = etree.fromstring("<div><pre>a<!-- c -->b</pre><p>t<!-- q -->u <code>x<br>y</code></p></div>", etree.HTMLParser())
    assert html_to_markdown([root.find("body")]) == "```\nab\n```\n\ntu `x y`"


RELATIVE_DATES = [
    ("Updated: 20 days ago\nWe keep data.", "\nWe keep data."),
    ("**Last updated:** 3 hours ago\nWe keep data.", "\nWe keep data."),
    ("Updated yesterday. We keep data.", " We keep data."),
    ("_Updated today._", ""),
    ("vor 5 Tagen aktualisiert", ""),
    ("Aktualisiert: vor einem Monat", ""),
    ("mis à jour il y a 2 jours", ""),
    ("Mis à jour : il y a une semaine", ""),
    # What the gates let through but the pattern refuses (no letter before the start), and what they stop.
    ("Reupdated: 3 days ago", "Reupdated: 3 days ago"),
    ("Zuletzt aktualisiert: vor 3 Tagen", "Zuletzt "),
    ("Updated: April 2024", "Updated: April 2024"),
    ("Zuletzt aktualisiert am 1. Januar 2024", "Zuletzt aktualisiert am 1. Januar 2024"),
    ("Mis à jour le 2 avril 2024 ; nos jours ouvrés", "Mis à jour le 2 avril 2024 ; nos jours ouvrés"),
    ("UPDATED 2 WEEKS AGO", ""),
]


@pytest.mark.parametrize("text,expected", RELATIVE_DATES)
def test_relative_dates_are_removed_and_their_gates_change_nothing(text: str, expected: str) -> None:
    import re

    from ingest.extraction.filters import PATTERN_GATES
    from ingest.extraction.transforms import apply_text_filters

    spec = BUILTIN_FILTERS["relative-dates"]
    assert apply_text_filters(text, (spec,)) == expected
    ungated = text
    for pattern, replacement in spec.replace:
        ungated = re.sub(pattern, replacement, ungated)
        # Each gate is found wherever its pattern is; an anchored core starts with the word.
        gate = PATTERN_GATES[pattern]
        for match in re.finditer(pattern, text):
            assert re.search(f"(?i:{gate.word})", match.group(0)), (gate.word, match.group(0))
            found = re.search(f"(?i:{gate.core})", match.group(0))
            assert found, (gate.core, match.group(0))
            assert not gate.anchored or found.group(0).lower().startswith(gate.word)
    assert ungated == expected



def test_the_walk_back_from_a_year_counts_what_the_date_expressions_take_for_whitespace() -> None:
    # normalise_dates counts the characters before a year with str.isspace; its expressions' \s must be the same.
    import re

    assert all((re.match(r"\s", chr(c)) is not None) == chr(c).isspace() for c in range(0x110000))


def test_every_character_re_takes_for_an_ascii_letter_sends_a_text_to_the_case_insensitive_gates() -> None:
    import re
    import string

    from ingest.extraction.transforms import _FOLDS_TO_ASCII

    letters = re.compile(r"(?i)[a-z]")
    folding = {chr(c) for c in range(0x110000) if letters.fullmatch(chr(c))} - set(string.ascii_letters)
    assert folding == set(_FOLDS_TO_ASCII)
    # Without them, lower-casing keeps every character in its place: the only one it lengthens is İ.
    assert {chr(c) for c in range(0x110000) if len(chr(c).lower()) != 1} <= folding
