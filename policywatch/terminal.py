"""Showing recorded text in a terminal safely.

Text taken from the web may carry escape sequences that would repaint or
hijack a terminal; every string shown passes through `safe()` first.
"""

from __future__ import annotations

import json
import re
from typing import TextIO

from analysis.diff import Diff, hunks, is_spacing, trailing_spacing

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# What JSON text may still carry raw once json.dumps has escaped C0 controls: DEL, C1 controls, bidi marks and
# overrides, and the line and paragraph separators.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

RED, GREEN, DIM, BOLD, RESET = "\x1b[31m", "\x1b[32m", "\x1b[2m", "\x1b[1m", "\x1b[0m"
STRIKE, UNDERLINE = "\x1b[9m", "\x1b[4m"


def safe(text: str) -> str:
    """Replace control characters (ESC included) and bidi overrides with visible escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}", text)


def json_safe(text: str) -> str:
    """JSON text with every character that could reorder or hide text in a terminal or viewer written as a
    \\u escape, as `safe` shows it in plain output. Outside its strings JSON is ASCII, so these characters only
    occur inside strings, where \\u is valid."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_text(data: object) -> str:
    """`data` as indented JSON, readable (non-ASCII kept) and safe to show (`json_safe`)."""
    return json_safe(json.dumps(data, ensure_ascii=False, indent=2))


def use_colour(stream: TextIO, choice: str = "auto") -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def render_diff(diff: Diff, colour: bool, context: int = 2) -> str:
    """Word diff for a terminal: coloured, or `[-removed-]{+added+}` when plain."""
    out: list[str] = []
    for hunk in hunks(diff, context):
        # Spacing is never marked in the text: a hunk that changed nothing else says so, or it would read as
        # unchanged lines shown for no reason.
        layout = all(is_spacing(s.text) for s in hunk.segments if s.op != "equal")
        note = "line breaks or spacing only" if layout else ""
        if hunk.skipped_before or layout:
            skipped = f"… {hunk.skipped_before} unchanged line(s) …" if hunk.skipped_before else ""
            marker = f"@@ {' '.join(filter(None, (skipped, note)))} @@\n"
            out.append(f"{DIM}{marker}{RESET}" if colour else marker)
        segments = hunk.segments
        for index, seg in enumerate(segments):
            text = safe(seg.text)
            if seg.op == "equal":
                out.append(text)
                continue
            if is_spacing(seg.text):
                # Only spacing changed here: show the new spacing, mark nothing.
                out.append(text if seg.op == "insert" else "")
                continue
            # Spacing after a changed word goes outside the marks; a deletion
            # followed by its replacement leaves the spacing to the replacement.
            space = trailing_spacing(text)
            body = text[:len(text) - len(space)]
            if seg.op == "delete":
                if index + 1 < len(segments) and segments[index + 1].op == "insert":
                    space = ""
                elif "<" in space:
                    space = " "  # a removed `<br>`: shown after the marks, it would read as still there
                out.append((f"{RED}{STRIKE}{body}{RESET}" if colour else f"[-{body}-]") + space)
            else:
                out.append((f"{GREEN}{UNDERLINE}{body}{RESET}" if colour else f"{{+{body}+}}") + space)
        if out and not out[-1].endswith("\n"):
            out.append("\n")
    return "".join(out)
