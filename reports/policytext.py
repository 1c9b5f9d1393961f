"""A version's stored Markdown as HTML for its page, safe to show whatever the vendor's page contained.

markdown-it-py (CommonMark, plus tables and strikethrough) does the parsing.
What the tracked page put in its text is never trusted:

- raw HTML in the Markdown is escaped, never passed through (`html: False`);
- a link is resolved against the snapshot's final URL and kept only when it
  is then an http(s) or mailto URL; anything else (`javascript:`, `data:`, a
  relative link with no web address to resolve it against) shows as its text;
- every link carries `rel="nofollow noopener"`;
- images are never loaded: an image shows as its alt text, a link to it when
  its address is a web address;
- headings move down two levels (`#` becomes `<h3>`) so they sit under the
  page's own `<h1>` and `<h2>` in the outline.

Pure: the same text and base URL give the same HTML.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence
from urllib.parse import urljoin, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

LINK_REL = "nofollow noopener"
LINK_SCHEMES = ("http", "https", "mailto")
HEADING_SHIFT = 2


def resolve_link(href: str, base_url: str) -> str | None:
    """`href` as an absolute http(s) or mailto URL, resolved against `base_url`; None when it cannot be one."""
    href = href.strip()
    if not href:
        return None
    base_is_web = urlsplit(base_url).scheme in ("http", "https")
    try:
        scheme = urlsplit(href).scheme.lower()
        if not scheme:
            if not base_is_web:
                return None
            href = urljoin(base_url, href)
            scheme = urlsplit(href).scheme.lower()
    except ValueError:  # a malformed address (an unbalanced IPv6 bracket) is text, not a link
        return None
    if scheme not in LINK_SCHEMES:
        return None
    try:
        if scheme != "mailto" and not urlsplit(href).hostname:
            return None
    except ValueError:
        return None
    return href


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    target = resolve_link(str(token.attrGet("href") or ""), env.get("base_url", ""))
    # The matching link_close renders nothing for a link that was dropped.
    token.meta["dropped"] = target is None
    _close_for(tokens, idx).meta["dropped"] = target is None
    if target is None:
        return ""
    title = token.attrGet("title")
    title_attr = f' title="{escape(str(title))}"' if title else ""
    return f'<a href="{escape(target)}" rel="{LINK_REL}"{title_attr}>'


def _close_for(tokens: Sequence[Token], idx: int) -> Token:
    depth = 0
    for token in tokens[idx:]:
        if token.type == "link_open":
            depth += 1
        elif token.type == "link_close":
            depth -= 1
            if depth == 0:
                return token
    return tokens[idx]


def _link_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    return "" if tokens[idx].meta.get("dropped") else "</a>"


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    alt = "".join(child.content for child in token.children or () if child.type in ("text", "code_inline"))
    label = f"[image: {alt}]" if alt else "[image]"
    target = resolve_link(str(token.attrGet("src") or ""), env.get("base_url", ""))
    if target is None:
        return f'<span class="image-alt">{escape(label)}</span>'
    return f'<a class="image-alt" href="{escape(target)}" rel="{LINK_REL}">{escape(label)}</a>'


def _heading(tag_of: str) -> Any:
    def render(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
        token = tokens[idx]
        level = min(6, int(token.tag[1:]) + HEADING_SHIFT)
        return f"<h{level}>" if tag_of == "open" else f"</h{level}>\n"
    return render


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    # markdown-it's own check already refuses javascript:, vbscript:, file: and data: URLs; the renderer
    # below decides the rest once the link is resolved against the page's address.
    rules = md.add_render_rule
    rules("link_open", _link_open)
    rules("link_close", _link_close)
    rules("image", _image)
    rules("heading_open", _heading("open"))
    rules("heading_close", _heading("close"))
    return md


def render_markdown(text: str, base_url: str) -> Markup:
    """The text as HTML; links resolved against `base_url` (the snapshot's final URL)."""
    return Markup(_parser().render(text, {"base_url": base_url}))
