"""HTML elements to Markdown text, walking the lxml tree without recursion.

The walk uses ``lxml.etree.iterwalk`` (start/end events produced in C), so
nesting depth costs no Python stack. Text is gathered into an inline buffer of
tokens; a block boundary renders the buffer as one paragraph. Rendering
collapses whitespace as a browser does, so markup-only edits (wrapper elements,
attributes, line breaks in the source) give the same Markdown.

Choices where Markdown offers several:

* headings ATX (``#``), bullets ``-`` with 2-space continuation, numbered
  items ``1.`` (numbering from ``<ol start>``) with 4-space continuation;
* ``<br>`` is a plain newline (a soft break: the text keeps its lines without
  the noise of trailing spaces or backslashes);
* ``<strong>``/``<b>`` is ``**``, ``<em>``/``<i>`` is ``_``, nested repeats
  and adjacent runs of the same emphasis merge; ``<code>``, ``<kbd>``,
  ``<samp>``, ``<tt>`` are code spans, ``<pre>`` a fenced block;
* links keep their ``href`` as written (after query filtering), never
  resolved against a host; a link without text disappears, one without a
  usable ``href`` (none, empty, ``javascript:``) becomes its text;
* images with alt text are ``![alt](src)``; without alt text they are dropped
  (decorative images and tracking pixels carry no wording); a ``data:`` or
  missing ``src`` leaves the alt text alone;
* tables are pipe tables, the first row being the header; a table of one
  cell is layout, read as a plain block;
* ``<dt>`` is a line, ``<dd>`` a ``: `` definition beneath it;
* ``<summary>`` is a plain paragraph; ``<hr>`` is ``---``.
"""

from __future__ import annotations

from itertools import count
from typing import Callable, Iterable

from lxml import etree

from . import markdown_syntax as md

UrlRewriter = Callable[[str], str]

# Token kinds besides plain text (str): raw Markdown that is already escaped,
# an opening marker, a closing marker and a line break.
_RAW, _OPEN, _CLOSE, _BREAK = 0, 1, 2, 3
_BR_TOKEN = (_BREAK,)
_SPACE = " "

_BLOCK = frozenset((
    "address", "article", "aside", "body", "center", "dialog", "dir", "div", "fieldset", "figcaption",
    "figure", "footer", "form", "header", "hgroup", "html", "legend", "main", "menu", "nav", "p", "section",
    "search", "summary", "details", "caption", "dt", "tr", "td", "th", "thead", "tbody", "tfoot", "option",
    "optgroup", "frameset", "noframes", "listing", "plaintext", "xmp",
))
_SKIP = frozenset(("script", "style", "noscript", "template", "svg", "head", "title", "meta", "link", "base"))
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_CODE = frozenset(("code", "kbd", "samp", "tt"))
_STRONG = frozenset(("strong", "b"))
_EMPHASIS = frozenset(("em", "i"))

_ROWS = etree.XPath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
_CELLS = etree.XPath("./td | ./th")

# Frames pushed on start and popped on end for elements that need an end action.
_F_SPACE = 0  # a block read inline: a space on both sides
_F_BLOCK = 1
_F_HEADING = 2
_F_LIST = 3
_F_ITEM = 4
_F_QUOTE = 5
_F_DL = 6
_F_DD = 7
_F_MARK = 8  # an inline marker was opened
_F_PLAIN = 9  # an inline element that opened nothing
_F_ATOMIC = 10  # rendered whole at start


class _Container:
    """A block prefix: ``first`` on its first emitted line, ``rest`` on the others."""

    __slots__ = ("first", "rest", "used", "is_item", "blocks_at_start", "list_state")

    def __init__(self, first: str, rest: str, blocks_at_start: int, is_item: bool = False, list_state=None):
        self.first = first
        self.rest = rest
        self.used = False
        self.is_item = is_item
        self.blocks_at_start = blocks_at_start
        self.list_state = list_state


class _ListState:
    __slots__ = ("ordered", "number", "blocks_at_start")

    def __init__(self, ordered: bool, number: int, blocks_at_start: int):
        self.ordered = ordered
        self.number = number
        self.blocks_at_start = blocks_at_start


def render_inline(tokens: list) -> str:
    """One paragraph's tokens as Markdown: whitespace collapsed, markers hugging their text, empty markers gone."""
    out: list[str] = []
    space = False
    breaks = 0
    started = False
    pending: list[tuple] = []  # opening markers not yet followed by content
    for tok in tokens:
        if type(tok) is str:
            words = tok.split()
            if not words:
                if tok:
                    space = True
                continue
            if tok[0].isspace():
                space = True
            content = " ".join(words)
            trailing = tok[-1].isspace()
        else:
            kind = tok[0]
            if kind == _RAW:
                content = tok[1]
                trailing = False
            elif kind == _OPEN:
                pending.append(tok)
                continue
            elif kind == _CLOSE:
                for i in range(len(pending) - 1, -1, -1):
                    if pending[i][1] == tok[1]:
                        del pending[i]
                        break
                else:
                    out.append(tok[2])
                continue
            else:
                if started:
                    breaks += 1
                space = False
                continue
        if started:
            if breaks:
                out.append("\n" if breaks == 1 else "\n\n")
            elif space:
                out.append(" ")
        breaks = 0
        for opener in pending:
            # "**a**" directly followed by "**b**" reads as "**ab**": merge rather than emit "****".
            if not space and out and opener[3] and out[-1] == opener[3]:
                out.pop()
            else:
                out.append(opener[2])
        pending.clear()
        out.append(content)
        started = True
        space = trailing
    return "".join(out)


def _raw_text(root) -> str:
    """All text under ``root`` as written, <br> as a newline, comments and scripts left out."""
    pieces: list[str] = []
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag
        if event == "start":
            if tag == "br":
                pieces.append("\n")
            elif type(tag) is str and tag not in _SKIP:
                text = el.text
                if text:
                    pieces.append(text)
        elif el is not root:
            tail = el.tail
            if tail:
                pieces.append(tail)
    return "".join(pieces)


def _pre_text(pre) -> str:
    """The text of a <pre>, spacing kept, surrounding blank lines dropped."""
    text = _raw_text(pre)
    # The HTML parser keeps the newline that directly follows <pre>; browsers don't show it.
    if text.startswith("\n"):
        text = text[1:]
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines)


def _read_inline_as_space(start: Callable[["MarkdownConverter", object], bool]) -> Callable[["MarkdownConverter", object], bool]:
    """A block element met where only inline content can go (in a heading or a table cell) is read as its
    text with a space on each side; otherwise its own start handler runs."""
    def handler(self: "MarkdownConverter", el: object) -> bool:
        if self._inline_depth:
            self._tokens.append(_SPACE)
            self._frames.append(_F_SPACE)
            return False
        return start(self, el)
    return handler


def _ended_inline_as_space(end: Callable[["MarkdownConverter", object, int], None]) -> Callable[["MarkdownConverter", object], None]:
    """The end of an element started by a `_read_inline_as_space` handler: the closing space, or the
    element's own end handler with the frame its start pushed."""
    def handler(self: "MarkdownConverter", el: object) -> None:
        frame = self._frames.pop()
        if frame == _F_SPACE:
            self._tokens.append(_SPACE)
            return
        end(self, el, frame)
    return handler


class MarkdownConverter:
    """Converts elements to Markdown; one instance per conversion (it keeps state)."""

    def __init__(self, rewrite_url: UrlRewriter | None = None, *, inline_only: bool = False):
        self._rewrite = rewrite_url
        self._ids = count()
        self._tokens: list = []
        self._open: list[list] = []  # inline markers currently open: [id, open, close, merge-key]
        self._lines: list[str] = []
        self._pending_sep = 0
        self._sep_fixed = False
        self._blocks = 0
        self._containers: list[_Container] = []
        self._lists: list[_ListState] = []
        self._dls: list[int] = []
        self._frames: list[int] = []
        self._inline_depth = 1 if inline_only else 0
        self._heading = 0
        self._depth = {"strong": 0, "em": 0}

    # -- public -----------------------------------------------------------

    def convert(self, roots: Iterable) -> str:
        """Markdown for ``roots`` in order, each a separate block.

        Comments and processing instructions are removed from the trees first:
        ``iterwalk`` does not visit them, and would lose the text that follows them.
        """
        for root in roots:
            etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
            self._walk(root)
            self._boundary(2)
        self._flush()
        return "\n".join(self._lines)

    def convert_inline(self, root) -> str:
        """``root``'s content on one line (table cells, captions)."""
        self._walk(root)
        self._close_open_markers()
        return render_inline(self._tokens).replace("\n", " ")

    # -- output -------------------------------------------------------------

    def _request(self, sep: int) -> None:
        if sep > self._pending_sep and not self._sep_fixed:
            self._pending_sep = sep

    def _fix_sep(self, sep: int) -> None:
        """Impose the separation before the next block (tight list items), whatever its own blocks ask."""
        self._pending_sep = sep
        self._sep_fixed = True

    def _end_container(self) -> None:
        # A tight separation imposed for content that never came must not glue what follows to the container.
        self._sep_fixed = False
        self._request(2)

    def _emit(self, lines: list[str]) -> None:
        containers = self._containers
        out = self._lines
        if out and self._pending_sep >= 2:
            out.append("".join(c.rest for c in containers if c.used).rstrip())
        for line in lines:
            if containers:
                prefix = "".join(c.rest if c.used else c.first for c in containers)
                for c in containers:
                    c.used = True
                out.append(prefix + line if line else prefix.rstrip())
            else:
                out.append(line)
        self._pending_sep = 0
        self._sep_fixed = False
        self._blocks += 1

    def _close_open_markers(self) -> None:
        for entry in reversed(self._open):
            self._tokens.append((_CLOSE, entry[0], entry[2]))

    def _flush(self) -> None:
        tokens = self._tokens
        if not tokens:
            return
        reopen = bool(self._open)
        if reopen:
            # Inline elements that span a block boundary close here and reopen after it.
            self._close_open_markers()
        text = render_inline(tokens)
        self._tokens = []
        if reopen:
            for entry in self._open:
                entry[0] = next(self._ids)
                self._tokens.append((_OPEN, entry[0], entry[1], entry[3]))
        if not text:
            return
        if self._heading:
            self._emit([md.heading(self._heading, text.replace("\n", " "))])
            return
        self._emit([md.escape_line_start(line) for line in text.split("\n")])

    def _boundary(self, sep: int) -> None:
        if self._inline_depth:
            self._tokens.append(_SPACE)
        else:
            self._flush()
            self._request(sep)

    # -- walk ---------------------------------------------------------------

    def _walk(self, root) -> None:
        walker = etree.iterwalk(root, events=("start", "end"))
        tokens_text = md.escape_text
        for event, el in walker:
            tag = el.tag
            if event == "start":
                if type(tag) is not str:  # entities
                    continue
                if tag in _BLOCK:
                    self._boundary(2)
                    self._frames.append(_F_BLOCK)
                else:
                    handler = _START.get(tag)
                    if handler is not None and handler(self, el):
                        walker.skip_subtree()
                        continue
                # lxml builds a new string from the tree on every read of .text or .tail: each is read once.
                text = el.text
                if text:
                    self._tokens.append(tokens_text(text))
            else:
                if type(tag) is str:
                    if tag in _BLOCK:
                        self._frames.pop()
                        self._boundary(2)
                    else:
                        handler = _END.get(tag)
                        if handler is not None:
                            handler(self, el)
                if el is not root:
                    tail = el.tail
                    if tail:
                        self._tokens.append(tokens_text(tail))

    # -- start handlers: return True to skip the element's subtree ------------

    def _start_skip(self, el) -> bool:
        return True

    @_read_inline_as_space
    def _start_heading(self, el) -> bool:
        self._flush()
        self._request(2)
        self._heading = _HEADINGS[el.tag]
        self._inline_depth += 1
        self._frames.append(_F_HEADING)
        return False

    @_ended_inline_as_space
    def _end_heading(self, el, frame: int) -> None:
        self._flush()
        self._heading = 0
        self._inline_depth -= 1
        self._request(2)

    @_read_inline_as_space
    def _start_list(self, el) -> bool:
        self._flush()
        parent = self._containers[-1] if self._containers else None
        if parent is not None and parent.is_item and self._blocks > parent.blocks_at_start:
            self._fix_sep(1)  # a list nested in an item hugs the item's text
        else:
            self._request(2)
        number = 1
        if el.tag == "ol":
            try:
                number = int(el.get("start", "1").strip())
            except ValueError:
                number = 1
        self._lists.append(_ListState(el.tag == "ol", number, self._blocks))
        self._frames.append(_F_LIST)
        return False

    @_ended_inline_as_space
    def _end_list(self, el, frame: int) -> None:
        self._flush()
        self._lists.pop()
        self._end_container()

    @_read_inline_as_space
    def _start_item(self, el) -> bool:
        self._flush()
        state = self._lists[-1] if self._lists else None
        if state is not None and self._blocks > state.blocks_at_start:
            self._fix_sep(1)  # items of one list are tight
        else:
            self._request(2)
        if state is not None and state.ordered:
            marker = f"{state.number}. "
            rest = " " * max(4, len(marker))
            state.number += 1
        else:
            marker, rest = "- ", "  "
        self._containers.append(_Container(marker, rest, self._blocks, is_item=True, list_state=state))
        self._frames.append(_F_ITEM)
        return False

    @_ended_inline_as_space
    def _end_item(self, el, frame: int) -> None:
        self._flush()
        item = self._containers.pop()
        if not item.used and item.list_state is not None and item.list_state.ordered:
            item.list_state.number -= 1  # an empty item shows nothing and takes no number
        self._end_container()

    @_read_inline_as_space
    def _start_quote(self, el) -> bool:
        self._flush()
        self._request(2)
        self._containers.append(_Container("> ", "> ", self._blocks))
        self._frames.append(_F_QUOTE)
        return False

    @_ended_inline_as_space
    def _end_quote(self, el, frame: int) -> None:
        self._flush()
        self._containers.pop()
        self._request(2)

    def _start_dl(self, el) -> bool:
        self._boundary(2)
        if self._inline_depth:
            self._frames.append(_F_SPACE)
            return False
        self._dls.append(self._blocks)
        self._frames.append(_F_DL)
        return False

    def _end_dl(self, el) -> None:
        frame = self._frames.pop()
        self._boundary(2)
        if frame == _F_DL:
            self._dls.pop()

    @_read_inline_as_space
    def _start_dd(self, el) -> bool:
        self._flush()
        if self._dls and self._blocks > self._dls[-1]:
            self._fix_sep(1)  # the definition sits right under its term
        else:
            self._request(2)
        self._containers.append(_Container(": ", "  ", self._blocks))
        self._frames.append(_F_DD)
        return False

    @_ended_inline_as_space
    def _end_dd(self, el, frame: int) -> None:
        self._flush()
        self._containers.pop()
        self._end_container()

    def _start_pre(self, el) -> bool:
        text = _pre_text(el)
        if self._inline_depth:
            collapsed = " ".join(text.split())
            if collapsed:
                self._tokens.append((_RAW, md.code_span(collapsed)))
            return True
        self._flush()
        self._request(2)
        if text:
            fence = md.code_fence(text)
            self._emit([fence, *text.split("\n"), fence])
            self._request(2)
        return True

    def _start_br(self, el) -> bool:
        self._tokens.append(_SPACE if self._inline_depth else _BR_TOKEN)
        return True

    def _start_hr(self, el) -> bool:
        if self._inline_depth:
            self._tokens.append(_SPACE)
            return True
        self._flush()
        self._request(2)
        self._emit(["---"])
        self._request(2)
        return True

    def _start_code(self, el) -> bool:
        text = _raw_text(el)
        collapsed = " ".join(text.split())
        if collapsed:
            if text[0].isspace():
                self._tokens.append(_SPACE)
            self._tokens.append((_RAW, md.code_span(collapsed)))
            if text[-1].isspace():
                self._tokens.append(_SPACE)
        elif text:
            self._tokens.append(_SPACE)
        return True

    def _start_img(self, el) -> bool:
        alt = " ".join((el.get("alt") or "").split())
        if not alt:
            return True
        src = md.clean_url(el.get("src"))
        if src and self._rewrite is not None:
            src = self._rewrite(src)
        if not src or src[:5].lower() == "data:":
            self._tokens.append(md.escape_text(alt))
        else:
            self._tokens.append((_RAW, md.image(alt, src)))
        return True

    def _open_marker(self, opener: str, closer: str, merge_key: str | None) -> None:
        ident = next(self._ids)
        self._open.append([ident, opener, closer, merge_key])
        self._tokens.append((_OPEN, ident, opener, merge_key))

    def _close_marker(self) -> None:
        entry = self._open.pop()
        self._tokens.append((_CLOSE, entry[0], entry[2]))

    def _start_emphasis(self, kind: str, marker: str) -> bool:
        # Nested bold inside bold (or italic inside italic) adds no second marker.
        self._depth[kind] += 1
        if self._depth[kind] == 1:
            self._open_marker(marker, marker, marker)
            self._frames.append(_F_MARK)
        else:
            self._frames.append(_F_PLAIN)
        return False

    def _end_emphasis(self, kind: str) -> None:
        self._depth[kind] -= 1
        if self._frames.pop() == _F_MARK:
            self._close_marker()

    def _start_strong(self, el) -> bool:
        return self._start_emphasis("strong", "**")

    def _end_strong(self, el) -> None:
        self._end_emphasis("strong")

    def _start_em(self, el) -> bool:
        return self._start_emphasis("em", "_")

    def _end_em(self, el) -> None:
        self._end_emphasis("em")

    def _start_link(self, el) -> bool:
        href = md.clean_url(el.get("href"))
        if href and href[:11].lower() != "javascript:":
            if self._rewrite is not None:
                href = self._rewrite(href)
            self._open_marker("[", "](" + md.destination(href) + ")", None)
            self._frames.append(_F_MARK)
        else:
            self._frames.append(_F_PLAIN)
        return False

    def _end_link(self, el) -> None:
        if self._frames.pop() == _F_MARK:
            self._close_marker()

    @_read_inline_as_space
    def _start_table(self, el) -> bool:
        rows = [_CELLS(row) for row in _ROWS(el)]
        rows = [cells for cells in rows if cells]
        if sum(len(cells) for cells in rows) <= 1:
            # One cell is a layout table: its content is read as ordinary blocks.
            self._boundary(2)
            self._frames.append(_F_BLOCK)
            return False
        self._flush()
        self._request(2)
        self._frames.append(_F_ATOMIC)
        caption = el.find("caption")
        if caption is not None:
            text = self._cell(caption)
            if text:
                self._emit([md.escape_line_start(text)])
                self._request(2)
        grid = [[md.table_cell(self._cell(cell)) for cell in cells] for cells in rows]
        if not any(any(cells) for cells in grid):
            return True
        width = max(len(cells) for cells in grid)
        lines = []
        for i, cells in enumerate(grid):
            cells = cells + [""] * (width - len(cells))
            lines.append("| " + " | ".join(cells) + " |")
            if i == 0:
                lines.append("|" + " --- |" * width)
        self._emit(lines)
        self._request(2)
        return True

    @_ended_inline_as_space
    def _end_table(self, el, frame: int) -> None:
        if frame == _F_BLOCK:
            self._boundary(2)

    def _cell(self, cell) -> str:
        return MarkdownConverter(self._rewrite, inline_only=True).convert_inline(cell)


_START: dict[str, Callable[[MarkdownConverter, object], bool]] = {
    **dict.fromkeys(_SKIP, MarkdownConverter._start_skip),
    **dict.fromkeys(_HEADINGS, MarkdownConverter._start_heading),
    **dict.fromkeys(_CODE, MarkdownConverter._start_code),
    **dict.fromkeys(_STRONG, MarkdownConverter._start_strong),
    **dict.fromkeys(_EMPHASIS, MarkdownConverter._start_em),
    "ul": MarkdownConverter._start_list,
    "ol": MarkdownConverter._start_list,
    "li": MarkdownConverter._start_item,
    "blockquote": MarkdownConverter._start_quote,
    "dl": MarkdownConverter._start_dl,
    "dd": MarkdownConverter._start_dd,
    "pre": MarkdownConverter._start_pre,
    "br": MarkdownConverter._start_br,
    "hr": MarkdownConverter._start_hr,
    "img": MarkdownConverter._start_img,
    "a": MarkdownConverter._start_link,
    "table": MarkdownConverter._start_table,
}

_END: dict[str, Callable[[MarkdownConverter, object], None]] = {
    **dict.fromkeys(_HEADINGS, MarkdownConverter._end_heading),
    **dict.fromkeys(_STRONG, MarkdownConverter._end_strong),
    **dict.fromkeys(_EMPHASIS, MarkdownConverter._end_em),
    "ul": MarkdownConverter._end_list,
    "ol": MarkdownConverter._end_list,
    "li": MarkdownConverter._end_item,
    "blockquote": MarkdownConverter._end_quote,
    "dl": MarkdownConverter._end_dl,
    "dd": MarkdownConverter._end_dd,
    "a": MarkdownConverter._end_link,
    "table": MarkdownConverter._end_table,
}


def html_to_markdown(roots: Iterable, rewrite_url: UrlRewriter | None = None) -> str:
    """Markdown for the elements ``roots``, in order (not normalised)."""
    return MarkdownConverter(rewrite_url).convert(roots)


# The only attributes the converter reads: `_start_link`'s href, `_start_img`'s src and alt, `_start_list`'s start.
READ_ATTRIBUTES = frozenset({"href", "src", "alt", "start"})
_READ_URLS = etree.XPath("descendant-or-self::a[@href] | descendant-or-self::img[@src]")


def _url_as_read(raw: str, rewrite_url: UrlRewriter) -> str:
    # What `_start_link` and `_start_img` make of an address; the converter reads nothing else of it.
    url = md.clean_url(raw)
    return rewrite_url(url) if url and url[:11].lower() != "javascript:" else url


def converter_input(roots: Iterable, rewrite_url: UrlRewriter | None = None) -> bytes:
    """Everything of ``roots`` that ``html_to_markdown`` reads, as bytes: equal bytes give equal Markdown.

    The elements are serialised with the attributes the converter reads
    (`READ_ATTRIBUTES`) and no others, which are removed from the tree: ids,
    classes and styles that a site renews on every build or request do not
    make a page read as new. Link and image addresses appear as the converter
    uses them (per-request tracking parameters removed), so a page that only
    changed those serialises the same.
    """
    parts = []
    for root in roots:
        unread = {name for element in root.iter(etree.Element) for name in element.keys()} - READ_ATTRIBUTES
        if unread:
            etree.strip_attributes(root, *unread)
        restore = []
        if rewrite_url is not None:
            for element in _READ_URLS(root):
                name = "href" if element.tag == "a" else "src"
                raw = element.get(name)
                read = _url_as_read(raw, rewrite_url)
                if read != raw:
                    restore.append((element, name, raw))
                    element.set(name, read)
        parts.append(etree.tostring(root, encoding="utf-8", with_tail=False))
        for element, name, raw in restore:
            element.set(name, raw)
    return b"\0".join(parts)
