"""Choosing a page's character encoding and decoding it, strictly.

Order, as in browsers: a byte-order mark, then the charset of the HTTP
Content-Type header, then a ``<meta charset>`` / ``http-equiv`` declaration in
the first 4 KB, then UTF-8. Labels are read as the WHATWG Encoding Standard
reads them where Python differs (``iso-8859-1`` means windows-1252, ``gb2312``
means GB18030...). Bytes the chosen encoding cannot decode are an error, never
replaced: a wrongly decoded page must not become a version.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from storage.vocabulary import FailureKind

from .errors import ExtractionError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_META_CHARSET = re.compile(rb"<meta\b[^>]*?\bcharset\s*=\s*[\"']?\s*([A-Za-z0-9_.:+-]+)", re.IGNORECASE)
_PRESCAN_BYTES = 4096

_WINDOWS_1252 = "windows-1252"
_WHATWG_LABELS = {
    **dict.fromkeys(("ascii", "us-ascii", "ansi_x3.4-1968", "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1",
                     "latin-1", "l1", "cp819", "ibm819", "csisolatin1", "iso-ir-100", "x-cp1252", "cp1252",
                     "windows-1252"), _WINDOWS_1252),
    **dict.fromkeys(("iso-8859-9", "iso8859-9", "latin5", "l5", "iso-ir-148"), "cp1254"),
    **dict.fromkeys(("tis-620", "iso-8859-11", "iso8859-11", "windows-874"), "cp874"),
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "chinese", "csgb2312", "iso-ir-58"), "gb18030"),
    **dict.fromkeys(("euc-kr", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601", "windows-949"), "cp949"),
}
# A meta tag that could be read as ASCII cannot truthfully declare UTF-16.
_UTF16_LABELS = {"utf-16", "utf-16le", "utf-16be", "utf-16-le", "utf-16-be"}

# WHATWG windows-1252 maps the five bytes Python's cp1252 leaves undefined to the C1 controls.
_C1_PASSTHROUGH = frozenset((0x81, 0x8D, 0x8F, 0x90, 0x9D))


def _c1_passthrough(error: UnicodeError) -> tuple[str, int]:
    if isinstance(error, UnicodeDecodeError) and error.object[error.start] in _C1_PASSTHROUGH:
        return chr(error.object[error.start]), error.start + 1
    raise error


codecs.register_error("policywatch-c1-passthrough", _c1_passthrough)


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # Python codec name actually used
    origin: str  # where the choice came from, for error messages


def _codec(label: str, origin: str) -> str:
    name = label.strip().strip("\"'").lower()
    name = _WHATWG_LABELS.get(name, name)
    if origin == "<meta>" and name in _UTF16_LABELS:
        name = "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ExtractionError(FailureKind.DECODE_ERROR, f"unknown charset {label!r} (from {origin})") from None


def sniff_meta_charset(html: bytes) -> str | None:
    match = _META_CHARSET.search(html, 0, _PRESCAN_BYTES)
    return match.group(1).decode("ascii") if match else None


def choose_encoding(html: bytes, declared: str | None) -> tuple[str, str, int]:
    """(codec name, origin, number of BOM bytes to skip)."""
    for bom, name in _BOMS:
        if html.startswith(bom):
            return name, "byte-order mark", len(bom)
    if declared and declared.strip().strip("\"'"):
        return _codec(declared, "HTTP Content-Type"), "HTTP Content-Type", 0
    meta = sniff_meta_charset(html)
    if meta:
        return _codec(meta, "<meta>"), "<meta>", 0
    return "utf-8", "default", 0


# The pieces `_is_utf8` checks: large enough that cutting costs little, small enough that a page whose
# non-ASCII characters are few leaves most pieces ASCII.
_UTF8_PIECE = 8192


def _is_utf8(data: bytes) -> bool:
    """Whether `data` is strict UTF-8, as `data.decode("utf-8")` finds it, without building its text.

    Decoding a whole page builds a string of it, several times the cost of
    the check alone once one non-ASCII character appears. The bytes are cut
    into pieces, each cut moved back to a byte that begins a character (UTF-8
    continuation bytes are 0x80-0xBF), so that every character of valid text
    lies whole in one piece; a piece that is all ASCII is valid, the others
    are decoded. A piece ending inside a character, or holding a stray byte,
    fails to decode as the whole would.
    """
    size, start = len(data), 0
    while start < size:
        end = start + _UTF8_PIECE
        if end < size:
            cut = end
            # A character is at most four bytes: more continuation bytes than that is no character's tail.
            while cut > end - 4 and 0x80 <= data[cut] < 0xC0:
                cut -= 1
            end = cut if cut > start else end
        piece = data[start:end]
        if not piece.isascii():
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError:
                return False
        start = end
    return True


def utf8_html(html: bytes, declared: str | None = None) -> tuple[bytes, str, str]:
    """The page as UTF-8 bytes for the parser, with the codec it was read with and where that choice came from.

    A UTF-8 page is checked strictly, without its text being built; bytes in
    another encoding are decoded and encoded again. Bytes the chosen encoding
    cannot decode raise `ExtractionError`, as `decode_html` does.
    """
    codec, origin, skip = choose_encoding(html, declared)
    if codec != "utf-8":
        return _decoded(html, codec, origin, skip).text.encode("utf-8"), codec, origin
    data = html[skip:] if skip else html
    if not _is_utf8(data):
        _decoded(html, codec, origin, skip)  # raises, naming the offset and the bytes
    return data, codec, origin


def decode_html(html: bytes, declared: str | None = None) -> Decoded:
    return _decoded(html, *choose_encoding(html, declared))


def _decoded(html: bytes, codec: str, origin: str, skip: int) -> Decoded:
    """The page decoded with the codec `choose_encoding` chose, strictly."""
    errors = "policywatch-c1-passthrough" if codec == "cp1252" else "strict"
    try:
        text = html[skip:].decode(codec, errors)
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start:exc.start + 4].hex(" ")
        raise ExtractionError(
            "decode_error",
            f"bytes not valid {codec} (charset from {origin}) at offset {exc.start + skip}: {exc.reason} (bytes {bad})",
        ) from None
    return Decoded(text=text, encoding=codec, origin=origin)
