"""The Jinja2 environment: autoescaping everywhere, strict about missing values, bidi controls made visible."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

import analysis.diff
import analysis.moves
from reports.titles import change_title, joined
from reports.urls import imported_file_name, is_web_url

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def human(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


_CODE_SPAN = re.compile(r"`([^`]+)`")


def code_spans(text: str) -> Markup:
    """Our own one-line descriptions, written with Markdown code spans, as HTML: escaped, `x` as <code>x</code>."""
    return Markup(_CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


# Bidirectional controls: a right-to-left override taken from a page would reverse what a reader sees after it
# ("30 days" shown for "syad 03"). The terminal and JSON output escape the same characters (policywatch.terminal).
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_bidi(text: str) -> str:
    """`text` with each bidi control written out as a visible marker, `<U+202E>`: shown, never obeyed."""
    return BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def _finalize(value: Any) -> Any:
    """Every value a template prints passes here before it is escaped: so no template can forget it."""
    if not isinstance(value, str) or BIDI.search(value) is None:
        return value
    if isinstance(value, Markup):  # already HTML (rendered Markdown, a diff): the marker goes in escaped
        return Markup(BIDI.sub(lambda m: f"&lt;U+{ord(m.group()):04X}&gt;", str(value)))
    return visible_bidi(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    # autoescape=True for every template, not only *.html: a template added
    # later under another name must not silently stop escaping.
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, finalize=_finalize)
    env.filters.update(iso=iso, human=human, is_web_url=is_web_url, imported_file_name=imported_file_name,
                       code_spans=code_spans)
    env.globals.update(joined=joined, change_title=change_title)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of everything that shapes the output (templates, static files, this package's code).

    It is part of every page's key, so changing a template or the renderer
    re-renders every page on the next build without anyone remembering to
    pass --full.
    """
    digest = hashlib.sha256()
    files = sorted(p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix in (".py", ".html", ".css", ".js"))
    for path in [*files, Path(analysis.diff.__file__), Path(analysis.moves.__file__)]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
