"""What a notification says: a one-line title and a plain-text body.

Bodies are plain text: Apprise escapes them for each service (HTML for mail,
Markdown for chat services), so nothing from a tracked page can become markup
there. Control characters and bidirectional overrides from the web are shown
as visible escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from reports.excerpt import Sentence

MAX_TITLE_CHARS = 250

# C0 and C1 controls (line breaks and tabs excepted) and the bidirectional overrides that could reorder a line.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def plain(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}" if ord(m.group()) > 0xff else f"\\x{ord(m.group()):02x}",
                       text)


def one_line(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    line = " ".join(plain(text).split())
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def change_title(severity: str, vendor: str, document: str, summary: str, words_added: int,
                 words_removed: int) -> str:
    """`[high] OpenAI — Privacy Policy (EU): retention: 30 days → 90 days`."""
    what = summary or f"{words_added} word(s) added, {words_removed} removed"
    return one_line(f"[{severity}] {vendor} — {document}: {what}")


def _marked(sentence: Sentence) -> str:
    """A sentence with its changed words marked as `policywatch diff` marks them when piped."""
    parts = []
    for piece in sentence.pieces:
        text = plain(piece.text)
        if piece.op == "equal" or not text.strip():
            parts.append(text)
            continue
        core = text.strip()
        lead, trail = text[:len(text) - len(text.lstrip())], text[len(text.rstrip()):]
        parts.append(lead + ("{+" + core + "+}" if piece.op == "insert" else "[-" + core + "-]") + trail)
    return " ".join("".join(parts).split())


def change_body(*, vendor: str, document: str, source_id: str, from_number: int, to_number: int, detected: str,
                flags: Sequence[str], severity: str, summary: str, words_added: int, words_removed: int,
                sentences: Sequence[Sentence], link: str) -> str:
    lines = [plain(f"{vendor} — {document} ({source_id}): version {from_number} → {to_number}, detected {detected}"),
             f"Severity {severity}; flags: {', '.join(flags) or 'none'}; +{words_added} / -{words_removed} words"]
    if summary:
        lines.append(plain(f"Summary: {summary}"))
    if sentences:
        lines += ["", "Changed sentences (added words in {+…+}, removed words in [-…-]):"]
        lines += [("+ " if s.side == "new" else "- ") + _marked(s) for s in sentences]
    lines += ["", f"The change: {link}"]
    return "\n".join(lines) + "\n"


def health_title(name: str, failing: bool, since: str, failure_kind: str | None, failed_runs: int) -> str:
    if failing:
        return one_line(f"{name}: failing since {since} ({failure_kind or 'unknown'})")
    return one_line(f"{name}: recovered after {failed_runs} failed fetch{'es' if failed_runs != 1 else ''}")


def health_body(*, name: str, source_id: str, failing: bool, since: str, at: str, failure_kind: str | None,
                detail: str | None, failed_runs: int, link: str) -> str:
    if failing:
        lines = [plain(f"{name} ({source_id}) has failed {failed_runs} fetches in a row since {since}."),
                 plain(f"Latest failure ({at}): {failure_kind or 'unknown'}: {detail or ''}".rstrip(": "))]
    else:
        lines = [plain(f"{name} ({source_id}) was fetched again on {at}, after failing since {since} "
                       f"({failed_runs} failed fetch{'es' if failed_runs != 1 else ''})."),
                 plain(f"Last failure: {failure_kind or 'unknown'}: {detail or ''}".rstrip(": "))]
    return "\n".join(lines + ["", f"The source: {link}"]) + "\n"


def claim_title(vendor: str, statement: str, previous: str, status: str) -> str:
    """`OpenAI: “OpenAI deletes temporary chats after 30 days.” — supported → contradicted`."""
    return one_line(f"{vendor}: “{statement}” — {previous} → {status}")


def claim_body(*, vendor: str, statement: str, claim_id: str, previous: str, status: str, since: str,
               document: str, version: int | None, removed: Sequence[str], added: Sequence[str], claim_link: str,
               change_link: str | None) -> str:
    lines = [plain(f"{vendor}: “{statement}” ({claim_id})"),
             plain(f"Status: {previous} → {status} on {since}, because {document} changed its wording"
                   + (f" (version {version})" if version is not None else "") + ".")]
    if removed:
        lines += ["", "No longer said:"] + [plain(f"- {sentence}") for sentence in removed]
    if added:
        lines += ["", "Now said:"] + [plain(f"+ {sentence}") for sentence in added]
    lines += ["", f"The claim, its evidence and its timeline: {claim_link}"]
    if change_link:
        lines.append(f"The change: {change_link}")
    return "\n".join(lines) + "\n"
