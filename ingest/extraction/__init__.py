"""The extraction engine: raw HTML bytes (or imported Markdown) to normalised Markdown text.

Pure functions, deterministic: the same bytes and rules always give the same
text, whatever server the bytes came from.
"""

from .errors import ExtractionError, FilterSpecError
from .extract import ExtractionRules, Selection, extract_html, extract_markdown, select_content
from .filters import BUILTIN_FILTERS, FilterSpec, parse_filter
from .html_markdown import html_to_markdown
from .normalize import COMBINED_SEPARATOR, combine, normalize_text
from .selectors import validate_selector

__all__ = [
    "BUILTIN_FILTERS",
    "COMBINED_SEPARATOR",
    "ExtractionError",
    "ExtractionRules",
    "Selection",
    "FilterSpec",
    "FilterSpecError",
    "combine",
    "extract_html",
    "extract_markdown",
    "html_to_markdown",
    "normalize_text",
    "parse_filter",
    "select_content",
    "validate_selector",
]
