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
