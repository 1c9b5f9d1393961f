"""Hostile text in tracked pages reaches every page and feed of the report only as text.

Two sources are crawled twice from a local server: an HTML page whose visible
text spells out markup, and a Markdown document (served as text/markdown, so
its text is kept verbatim) full of script tags, event handlers, javascript:
links, a closing </textarea>, text that closes a CDATA section and Markdown
that tries to smuggle HTML. The declarations' titles are hostile too, since
they end up in page titles and feed entries.
"""

from __future__ import annotations

import json
import re
import mimetypes
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import feedparser

from conftest import write_declarations
from policywatch.localserver import Page

BASE = "https://watch.example.org/"
VENDOR = 'Evil "Co" <b onmouseover=alert(10)>'
TITLE = "Policy <script>alert('title')</script>"

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "[click me](javascript:alert(3))",
    "</textarea><script>alert(4)</script>",
    "]]><script>alert(5)</script><![CDATA[",
    '<a href="javascript:alert(6)">a link</a>',
    "<svg onload=alert(7)>",
    "</pre></div><iframe src=javascript:alert(8)></iframe>",
    "![pic](x\" onerror=\"alert(9))",
    "<javascript:alert(11)>",
    "--><!-- <style>body{display:none}</style>",
    "{{ 7 * 7 }} {% raw %}",
]
ALERTS = [f"alert({n})" for n in range(1, 12) if n != 10]


def markdown(edition: int) -> bytes:
    lines = [f"# Terms, edition {edition}", ""]
    for index, snippet in enumerate(HOSTILE):
        lines += [f"Clause {index}: {snippet} (edition {edition})" if index % 2 == edition % 2 else
                  f"Clause {index}: {snippet}", ""]
    return "\n".join(lines).encode()


def html_page(edition: int) -> bytes:
    escaped = "".join(f"<p>Rule {i}: {s.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}"
                      f"{' (new)' if edition == 2 and i % 3 == 0 else ''}</p>" for i, s in enumerate(HOSTILE))
    live = ('<script>alert("live")</script><img src=x onerror=alert("live-img")>'
            '<p><a href="javascript:alert(\'live-link\')">a live link</a></p>')
    return f"<html><head><title>T</title></head><body><main><h1>Policy</h1>{escaped}{live}</main></body></html>".encode()


class Markup(HTMLParser):
    """Everything a browser would treat as markup in a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.script_text: list[str] = []
        self.data_blocks: list[str] = []  # <script type="application/ld+json">: data, never run
        self._in_script = False
        self._in_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        self._in_data = tag == "script" and dict(attrs).get("type") == "application/ld+json"
        if self._in_data:
            self.data_blocks.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_data = False

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.data_blocks[-1] += data
            return
        (self.script_text if self._in_script else self.text).append(data)

    def handle_comment(self, data: str) -> None:
        raise AssertionError(f"a comment reached the output: {data[:80]!r}")


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "link", "body", "a", "header", "nav", "ul", "ol", "li", "main", "footer", "p",
    "h1", "h2", "h3", "section", "dl", "dt", "dd", "time", "span", "br", "code", "strong", "table", "caption",
    "colgroup", "col", "thead", "tbody", "tr", "th", "td", "div", "details", "summary", "ins", "del", "pre", "form",
    "label", "select", "option", "button", "noscript", "script", "mark", "q", "output", "input", "fieldset", "legend",
    # A version's text rendered from its Markdown (reports/policytext.py).
    "h4", "h5", "h6", "em", "s", "blockquote", "hr",
    "figure", "figcaption", "abbr", "svg", "line", "rect", "polygon",  # the timeline strips and month grids
}
# Our own scripts, and where they may appear.
SCRIPTS = {"static/compare.js": ("sources/",), "static/claims.js": ("claims/index.html",),
           "static/coverage.js": ("coverage/index.html",), "static/search.js": ("search.html",),
           "static/changes.js": ("index.html", "changes.html", "sources/")}
# Our own inline SVG: the timeline strips and their legend (reports/templates/_macros.html).
OWN_SVG = re.compile(r'<svg (class="timeline [a-z]+" xmlns="http://www.w3.org/2000/svg"|viewBox="0 0 10 14" )')


def check_markup(where: str, html: str, scripts_allowed: bool) -> str:
    """Assert that `html` holds only our own markup; return its text."""
    parser = Markup()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, f"{where}: unexpected <{tag}>"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"{where}: <{tag} {name}=…>"
            if name in ("href", "src", "action"):
                scheme = (value or "").strip().lower().split(":", 1)[0]
                assert scheme not in ("javascript", "data", "vbscript"), f"{where}: <{tag} {name}={value!r}>"
        if tag == "script" and attrs.get("type") == "application/ld+json" and "src" not in attrs:
            continue  # a data block, parsed below
        if tag == "script":
            src = attrs.get("src") or ""
            own = next((name for name in SCRIPTS if src.endswith(name)), None)
            assert scripts_allowed and own is not None and where.startswith(SCRIPTS[own]), f"{where}: a script"
        if tag == "meta" and "http-equiv" in attrs:
            assert attrs["http-equiv"] == "Content-Security-Policy", f"{where}: {attrs}"
    assert not "".join(parser.script_text).strip(), f"{where}: inline script"
    for block in parser.data_blocks:
        json.loads(block)
    foreign = OWN_SVG.sub("", html)
    for raw in ("<script>alert", "<img", "</textarea>", "<iframe", "<svg", 'href="javascript:', "<style>", "<!--"):
        assert raw not in foreign, f"{where}: {raw!r} unescaped"
    return "".join(parser.text)


def test_hostile_text_is_escaped_in_every_page_and_feed(server, make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decl = write_declarations(tmp_path / "sources.yaml", server.base_url, [
        {"id": "evil/terms", "vendor": VENDOR, "title": TITLE, "urls": ["https://evil.example/terms.md"]},
        {"id": "evil/policy", "vendor": VENDOR, "title": TITLE, "urls": ["/policy"], "select": "main"},
    ])
    cli = make_cli(decl)
    entries = []
    for edition in (1, 2):
        server.routes["/policy"] = Page(html_page(edition))
        cli("crawl", "--only", "evil/policy", "--now", f"2026-05-0{edition}T00:00:00Z")
        # A live crawl only accepts HTML; saved Markdown comes in through `import`, the same pipeline.
        saved = tmp_path / f"terms-{edition}.md"
        saved.write_bytes(markdown(edition))
        entries.append({"source": "evil/terms", "at": f"2026-05-0{edition}T00:00:00Z", "path": saved.name})
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    cli("import", "--manifest", str(manifest))
    assert len(cli.json("changes")) == 2
    stored = cli("show", "evil/terms").stdout
    assert all(snippet in stored for snippet in HOSTILE), "the Markdown text keeps every snippet verbatim"

    out = tmp_path / "site"
    cli("report", "--out", str(out), "--base-url", BASE)

    seen_alerts: set[str] = set()
    checked = {"html": 0, "js": 0, "feed": 0}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        claims_file = rel.startswith(("claims/", "feeds/claims"))  # the bundled claims, about another vendor
        if rel.startswith("raw/"):
            # The evidence itself, byte for byte: only ever as text/plain.
            assert path.suffix == ".txt" and mimetypes.guess_type(path.name)[0] == "text/plain", rel
            continue
        if rel == "ledger.jsonl":
            # The tamper-evident log: hashes, ids, numbers and times, one JSON object a line.
            assert all(json.loads(line)["hash"] for line in path.read_text(encoding="utf-8").splitlines())
            continue
        if rel.startswith(("static/", "pagefind/")) or rel in (".policywatch-site.json", "verify-ledger.py"):
            continue  # our own files, and Pagefind's index (its excerpts are rebuilt as text by static/search.js)
        if rel.startswith("data/"):
            # The published export: the record's texts as data, verbatim, in JSON lines inside a ZIP.
            assert rel.endswith((".zip", "/.policywatch-export.json")), rel
            continue
        data = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            # A version's text as stored, verbatim; served as Markdown, never as HTML.
            assert rel.startswith("versions/") and mimetypes.guess_type(path.name)[0] == "text/markdown", rel
            if rel.startswith("versions/evil/terms/"):
                assert all(snippet in data for snippet in HOSTILE), f"{rel}: the Markdown as stored, verbatim"
            checked["md"] = checked.get("md", 0) + 1
            continue
        if path.suffix == ".html":
            text = check_markup(rel, data, scripts_allowed=rel.startswith(tuple(p for ps in SCRIPTS.values() for p in ps)))
            seen_alerts.update(a for a in ALERTS if a in text)
            # Claim pages name a source only where its text bears on the claim (test_claims_report.py).
            assert "<script>alert('title')</script>" in text or rel in ("runs.html", "coverage/index.html",
                                                                       "search.html") or rel.startswith("claims/"), \
                f"{rel}: the title is shown as text"
            checked["html"] += not claims_file
        elif path.suffix == ".json" and claims_file:
            json.loads(data)
        elif path.suffix == ".js":
            assert "<" not in data and ">" not in data, rel
            payload = json.loads(data[len("policywatchVersions("):-len(");\n")])
            assert set(payload) == {"1", "2"} and all(isinstance(t, str) for t in payload.values())
            checked["js"] += 1
        elif path.suffix in (".atom", ".rss"):
            raw = path.read_bytes()
            parsed = feedparser.parse(raw)
            assert not parsed.bozo, f"{rel}: {parsed.get('bozo_exception')}"
            for forbidden in (b"<script", b"<img", b"]]>", b"<![CDATA[", b"javascript:alert(3)</"):
                assert forbidden not in raw, f"{rel}: {forbidden!r} unescaped"
            root = ElementTree.fromstring(raw)
            for element in root.iter():
                tag = element.tag.split("}")[-1]
                if tag in ("content", "description") and element.text and element.text.lstrip().startswith("<"):
                    check_markup(f"{rel} <{tag}>", element.text, scripts_allowed=False)
                if tag == "title" and element.text and "—" in element.text:
                    assert element.text.startswith((f"{VENDOR} — {TITLE}: ", f"policywatch: {VENDOR} — {TITLE}")), \
                        f"{rel}: {element.text!r}"
            checked["feed"] += not claims_file
        else:
            raise AssertionError(f"unexpected file {rel}")
    # the Coverage index (empty here) and the coverage feeds come on top of the pages and feeds above
    # … and the search page, the page of all latest changes and the vendor's page
    assert checked == {"html": 2 + 2 + 2 + 4 + 1 + 1 + 2, "js": 2, "feed": 2 + 2 + 2 + 2 + 4, "md": 2 + 2}
    assert seen_alerts == set(ALERTS), "every hostile snippet was shown, as text"
