"""A small fictional vendor for the claims tests: its pages, its claims, and reading the record back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import yaml

from conftest import CLI, write_declarations

HELP = ("Temporary chats do not appear in your history. We keep a copy for up to {days} days to monitor for abuse, "
        "then delete it.")
SALE = "We do not sell personal data."


def page(*paragraphs: str, title: str = "Policy") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><body><main><h1>{title}</h1>{body}</main></body></html>".encode()


def help_page(days: int = 30, extra: str = "") -> bytes:
    return page("Your chat history is saved until you delete it.", HELP.format(days=days), extra or "Thanks.",
                title="Help")


def privacy_page(*sentences: str) -> bytes:
    return page("This policy explains how we handle personal data.", *(sentences or (SALE,)))


CLAIMS: list[dict[str, Any]] = [
    {"id": "acme/temporary-chats-deleted-after-30-days", "vendor": "Acme AI", "topics": ["retention"],
     "statement": {"en": "Acme AI deletes temporary chats after 30 days.",
                   "de": "Acme AI löscht temporäre Chats nach 30 Tagen."},
     "said_by": "Acme AI", "scope": ["acme/help"],
     "evidence": {"supports": [{"id": "copy-kept-30-days", "expect": {"max_days": 30},
                                "en": {"patterns": [r"\bwe keep a copy\b(?:\W+\w+){0,6}?\W+days\b"]}}]}},
    {"id": "acme/no-sale", "vendor": "Acme AI", "topics": ["sharing"],
     "statement": {"en": "Acme AI does not sell personal data."},
     "said_by": "Acme AI", "scope": ["acme/privacy"],
     "evidence": {"supports": [{"id": "does-not-sell", "expect": {"polarity": "negated"},
                                "en": {"patterns": [r"\bsell personal data\b"]}}]}},
]


def write_claims(path: Path, claims: list[dict[str, Any]] | None = None) -> Path:
    path.write_text(yaml.safe_dump({"claims": claims if claims is not None else CLAIMS}, sort_keys=False,
                                   allow_unicode=True), encoding="utf-8")
    return path


def sources(root: Path, base_url: str, help_path: str = "/help", select: str = "main",
            privacy: bool = True, name: str = "sources.yaml") -> Path:
    entries = [{"id": "acme/help", "vendor": "Acme AI", "title": "Help: chats", "urls": [help_path], "select": select}]
    if privacy:
        entries.append({"id": "acme/privacy", "vendor": "Acme AI", "title": "Privacy Policy", "urls": ["/privacy"],
                        "select": "main"})
    return write_declarations(root / name, base_url, entries)


class ClaimsCLI(CLI):
    """The CLI with a claims file, and the record read back."""

    def __init__(self, root: Path, sources_file: Path, claims_file: Path):
        super().__init__(root / "policywatch.db", sources_file, root)
        self.claims_file = claims_file
        self.imported = ""

    def __call__(self, *args: str, **kwargs: Any):  # type: ignore[no-untyped-def, override]
        return super().__call__("--claims", str(self.claims_file), *args, **kwargs)

    def sql(self, statement: str, *args: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(statement, args).fetchall()

    def statuses(self) -> dict[str, str]:
        return {c["id"]: c["status"] if c["tracked"] else "not tracked" for c in self.json("claims")}

    def show(self, claim_id: str, *extra: str) -> dict[str, Any]:
        return json.loads(self("claims", "show", claim_id, *extra, "--json").stdout)

    def timeline(self, claim_id: str) -> list[tuple[str, str, bool]]:
        return [(e["since"], e["status"], e["announce"]) for e in self.show(claim_id)["timeline"]]


HOSTILE_SENTENCE = "We keep </script><script>alert(1)</script> logs for 10 days."
HOSTILE_CLAIM = {
    "id": "acme/hostile", "vendor": "Acme AI", "topics": ["retention"],
    "statement": {"en": "Acme keeps <script>alert('claim')</script> logs </script> briefly & safely.",
                  "fr": "Acme garde les journaux « peu » de temps <b>."},
    "said_by": "Someone <img src=x onerror=alert(2)>",
    "first_appearance": {"url": 'https://acme.example/said?q="><script>alert(3)</script>', "date": "2025-01-01", "title": "<i>a title</i>"},
    "note": "A note with <style>body{display:none}</style>",
    "scope": ["acme/privacy"],
    "evidence": {"supports": [{"id": "logs-kept", "en": {"patterns": [r"\blogs for \d+ days\b"]}}]},
}
NIGHTS = [
    ("2026-03-01T06:00:00Z", {"acme/help": HELP.format(days=30), "acme/privacy": f"{SALE} {HOSTILE_SENTENCE}"}),
    ("2026-03-02T06:00:00Z", {"acme/help": HELP.format(days=90)}),
    ("2026-03-03T06:00:00Z", {"acme/privacy": "We do not sell or share personal data."}),
]


def import_record(root: Path) -> ClaimsCLI:
    """Three nights of Acme AI, imported as Markdown files: the help article weakens the 30-day claim (night 2),
    the privacy policy rewords its no-sale sentence and drops the hostile one (night 3)."""
    decl = root / "sources.yaml"
    decl.write_text(yaml.safe_dump({"sources": [
        {"id": "acme/help", "vendor": "Acme AI", "title": "Help: chats", "document_type": "Help article",
         "language": "en", "urls": ["https://acme.example/help"]},
        {"id": "acme/privacy", "vendor": "Acme AI", "title": "Privacy Policy", "document_type": "Privacy Policy",
         "language": "en", "urls": ["https://acme.example/privacy"]},
    ]}), encoding="utf-8")
    lines = []
    for n, (at, texts) in enumerate(NIGHTS, 1):
        for sid, text in texts.items():
            name = f"{sid.replace('/', '-')}-{n}.md"
            (root / name).write_text(f"# {sid}\n\nThis document explains how Acme AI handles your data.\n\n{text}\n",
                                     encoding="utf-8")
            lines.append(json.dumps({"source": sid, "at": at, "path": name}))
    manifest = root / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli = ClaimsCLI(root, decl, write_claims(root / "claims.yaml", CLAIMS + [HOSTILE_CLAIM]))
    cli.imported = cli("import", "--manifest", str(manifest)).stdout
    return cli
