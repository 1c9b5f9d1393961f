"""The noise filters on real OpenAI history (../shared/ota-data).

Cloudflare's e-mail decoding is on for every source: on the 13 real snapshots
(which have no obfuscated addresses) extraction is byte for byte what it was
without it. The date-format filter, replayed over the real series in which
OpenAI's pages flipped between `December 1, 2025` and `1 December 2025`,
removes exactly the versions that differed only by that.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

import ingest.extraction.extract as extract_module
from ingest.declarations import load_sources
from ingest.extraction import extract_html
from ingest.extraction.noise import normalise_dates
from ingest.importer import import_manifest
from storage import texts
from storage.db import make_engine, reading, session_factory, upgrade
from storage.models import Version
from test_broken_captures import series
from test_extraction_ota import EU_RULES, US_RULES, US_UNTIL, _snapshot_groups, ota_dir

# The series in which a version differed from the one before only by the format of its dates.
FLIPPING = [("genai-contrib", "Data Processor Agreement"), ("genai-contrib", "In-App Purchases Policy"),
            ("genai-contrib", "Vulnerability Disclosure Policy"), ("genai-eu", "Developer Terms"),
            ("genai-eu", "In-App Purchases Policy"), ("genai-eu", "Vulnerability Disclosure Policy")]


def test_decoding_cloudflare_emails_leaves_pages_without_them_byte_identical(shared: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    groups = _snapshot_groups()
    assert groups
    pages = [(ota_dir() / row["snapshot_path"], US_RULES if date < US_UNTIL else EU_RULES)
             for (_, date), rows in groups.items() for row in rows]
    with_default = [extract_html(path.read_bytes(), rules) for path, rules in pages]
    monkeypatch.setattr(extract_module, "DEFAULT_FILTERS", ())
    without = [extract_html(path.read_bytes(), rules) for path, rules in pages]
    assert len(pages) == 13 and with_default == without


def _versions(shared: Path, tmp: Path, collection: str, document: str, filters: list[str]) -> list[str]:
    """The versions an import of the real series records with these filters."""
    entries = series(shared, document, collection)
    folder = tmp / ("filtered" if filters else "plain")
    folder.mkdir()
    (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": [
        {"id": "ota/doc", "vendor": "OpenAI", "title": document, "document_type": document, "language": "en",
         "urls": ["https://openai.com/policies/"], "filters": filters}]}), encoding="utf-8")
    lines = []
    for n, (at, text) in enumerate(entries):
        (folder / f"{n:03d}.md").write_text(text, encoding="utf-8")
        lines.append(json.dumps({"source": "ota/doc", "at": at.isoformat(), "path": f"{n:03d}.md"}))
    (folder / "m.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    engine = make_engine(f"sqlite:///{folder / 'pw.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    import_manifest(factory, folder / "m.jsonl", load_sources(folder / "sources.yaml"))
    with reading(factory) as session:
        found = list(texts.of_versions(session, session.scalars(select(Version).order_by(Version.number))).values())
    engine.dispose()
    return found


@pytest.mark.parametrize("collection,document", FLIPPING)
def test_date_format_flips_in_real_series_are_not_versions(shared: Path, tmp_path: Path, collection: str,
                                                            document: str) -> None:
    plain = _versions(shared, tmp_path, collection, document, [])
    filtered = _versions(shared, tmp_path, collection, document, ["date-formats"])
    flips = sum(a != b and normalise_dates(a) == normalise_dates(b) for a, b in zip(plain, plain[1:]))
    assert flips >= 1
    assert len(filtered) == len(plain) - flips
    assert all(a != b for a, b in zip(filtered, filtered[1:]))


def test_the_bundled_declarations_use_the_new_filters() -> None:
    from ingest.declarations import BUNDLED_SOURCES, load_sources as load

    for source in load(BUNDLED_SOURCES).values():
        names = set(source.filter_names)
        assert "ui-strings" in names
        assert ("date-formats-day-first" if source.language in ("de", "fr") else "date-formats") in names


def _reads_as_ui(line: str) -> bool:
    """`is_ui_line` without its quick refusal: every line made what it reads."""
    from ingest.extraction.noise import _UI_LINES, _bare, _languages_only

    bare = _bare(line)
    return bool(bare) and (bare in _UI_LINES or _languages_only(bare))


def test_the_quick_refusal_of_interface_lines_changes_no_answer(shared: Path) -> None:
    # is_ui_line refuses most lines by their characters alone, many by their last one; on every line of
    # OpenAI's real history and on lines built from names, interface strings, markup, the characters whose case
    # is special and those a line may end with, it must say what making each line what it reads says.
    import random

    from ingest.extraction.noise import _LANGUAGE_NAMES, _UI_LINES, is_ui_line

    lines = {line for path in (ota_dir() / "versions").rglob("*.md")
             for line in path.read_text(encoding="utf-8").split("\n")}
    assert len(lines) > 3_000
    pieces = (sorted(_UI_LINES | _LANGUAGE_NAMES) + [name.upper() for name in sorted(_LANGUAGE_NAMES)]
              + ["- ", "1. ", "* ", "## ", "**", "_", "`", ":", " | ", " · ", ", ", " / ", "[", "](/x.1)", "](#a)",
                 "![", ".", "2", "x", "İ", "Σ", "σ", "ς", "ß", "K", "\u0307", " ", "\t", "\u00a0",
                 "!", "?", ";", "'", '"', ")", "1) "])
    rng = random.Random(16)
    built = {"".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(100_000)}
    found = {line: is_ui_line(line) for line in lines | built}
    assert found == {line: _reads_as_ui(line) for line in found}
    assert sum(found.values()) > 1_000  # interface lines among them, not refusals only


def _dates_scanned_whole(text: str, order: str) -> str:
    """`normalise_dates` as each expression's scan of the whole text reads it, without looking for years first."""
    from ingest.extraction.noise import date_passes

    for pattern, _, replace in date_passes(order):
        text = pattern.sub(replace, text)
    return text


def test_looking_for_dates_from_their_years_changes_no_answer(shared: Path) -> None:
    # normalise_dates tries its expressions only back from each year, as far as a date can reach; on OpenAI's
    # real history and on texts built from months, days, years, separators and whitespace of any length, it
    # must write what scanning the whole text writes.
    import random

    from ingest.extraction.noise import DATE_ORDERS, normalise_dates

    # Every distinct paragraph of OpenAI's history, and one whole version in ten.
    versions = [path.read_text(encoding="utf-8") for path in sorted((ota_dir() / "versions").rglob("*.md"))]
    assert len(versions) > 900
    texts = sorted({paragraph for text in versions for paragraph in text.split("\n\n")}) + versions[::10]
    pieces = ["January", "jan.", "Sept", "septembre", "SEPTEMBRE.", "Mai", "märz", "déc", "1er", "12.", "31st", "3",
              "03", "12", "2025", "1999", "2020", "19", "20", "200", "20251", "2٠٢٥", "٣", ",", ", ", ".", "-", "/",
              " ", "\n", "\t", "\u00a0", "\u2003", " " * 40, "\n\n  \n", "x", "_", "é", "-2025", ".5", "1.2.2025",
              "11-04-2023", "12/31/1999", "13/12/2020", "1920"]
    rng = random.Random(16)
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(40_000)]
    # The longest dates each expression can match, whitespace of any length between their parts.
    for space in (" ", "\n \t", " " * 300):
        texts += [f"x Septembre.{space}31st,{space}2025 y", f"x (31st{space}Septembre.,{space}2025)",
                  f"Le 31/12/2025.", f"0 31-12-2025 0", "31.12.2025"]
    written = changed = 0
    for text in texts:
        for order in DATE_ORDERS:
            expected = _dates_scanned_whole(text, order)
            assert normalise_dates(text, order) == expected, (text, order)
            changed += expected != text
            written += 1
    assert changed > written // 50  # dates among them, not texts without any only


def test_the_relative_dates_quick_gates_change_no_answer(shared: Path) -> None:
    # The gates of the relative dates look for their word in the lower-cased text and try an anchored core only
    # where its word is; on OpenAI's history and on texts built from the words in every case, the characters
    # `re` folds to ASCII letters and those lower-casing lengthens, they must say what searching ignoring case
    # says, and the filter must write what its patterns write without gates.
    import random

    from ingest.extraction.filters import BUILTIN_FILTERS, PATTERN_GATES
    from ingest.extraction.transforms import _lowered, _may_change, apply_text_filters

    versions = [path.read_text(encoding="utf-8") for path in sorted((ota_dir() / "versions").rglob("*.md"))]
    texts = sorted({paragraph for text in versions for paragraph in text.split("\n\n")}) + versions[::10]
    pieces = ["Updated", "UPDATED", "upDated", "updat", "ed", "Last ", "**", "_", ":", " ", "\n", "2 days ago",
              "an hour ago", "yesterday", "Today", "just now", "Aktualisiert", "aktualiſiert", "AKTUALISIERT",
              "vor 3 Tagen", "vor einem Monat", "Mis à jour", "MIS À JOUR", "il y a 2 jours", "jour", "ſ", "K", "İ",
              "ı", "Σ", "ß", "ﬁ", "x", "3", "Updated: 2 days ago", "updated YESTERDAY", "vor 3 Tagen aktualisiert",
              "Aktualisiert: vor einer Woche", "mis à jour il y a 2 jours"]
    rng = random.Random(16)
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 10))) for _ in range(30_000)]
    spec = BUILTIN_FILTERS["relative-dates"]
    passed = 0
    for text in texts:
        lowered = _lowered(text)
        for gate in PATTERN_GATES.values():
            searched = all(re.search(f"(?i:{part})", text) for part in (gate.word, gate.core))
            assert _may_change(text, lowered, gate) == bool(searched), (text, gate.word)
            passed += bool(searched)
        ungated = text
        for pattern, replacement in spec.replace:
            ungated = re.sub(pattern, replacement, ungated)
        assert apply_text_filters(text, (spec,)) == ungated, text
    assert passed > 5_000  # texts the gates let through, not refusals only
