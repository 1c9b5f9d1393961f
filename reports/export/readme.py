"""The README inside an export: what each file and field is, and under which terms the texts are shared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from reports.export.tables import Table
from storage.models import Snapshot, SourceRow
from storage.times import utc_text

KINDS = {"text": "text", "integer": "integer", "boolean": "true/false", "time": "UTC time, ISO 8601 with Z",
         "list": "list (JSON text in CSV)", "object": "object (JSON text in CSV)"}


@dataclass(frozen=True)
class Provenance:
    vendors: tuple[str, ...]
    from_wayback: bool
    from_ota: bool


def provenance(session: Session) -> Provenance:
    vendors = tuple(sorted(set(session.scalars(select(SourceRow.vendor)))))

    def any_url(pattern: str) -> bool:
        return session.scalar(select(Snapshot.id).where(Snapshot.url.like(pattern)).limit(1)) is not None

    return Provenance(vendors, any_url("%web.archive.org/web/%"), any_url("%OpenTermsArchive%"))


def readme(tables: Sequence[Table], fmt: str, dated: datetime, origin: Provenance) -> str:
    suffix = "jsonl" if fmt == "jsonl" else "csv"
    lines = [
        "# policywatch dataset",
        "",
        f"The record kept by policywatch, exported as {'JSON lines (one JSON object per line)' if fmt == 'jsonl' else 'CSV (RFC 4180, UTF-8, a header row)'}.",
        f"Its newest fetch or import: {utc_text(dated)}. Exporting the same record again gives the same bytes.",
        "",
        "Open it with pandas (`pandas.read_json(\"versions.jsonl\", lines=True)`, `pandas.read_csv(\"versions.csv\")`),",
        f"or load it into SQLite for Datasette: `sqlite-utils insert pw.db versions versions.{suffix} "
        + ("--nl" if fmt == "jsonl" else "--csv") + "` (one table per file), then `datasette pw.db`.",
        "",
        "## Files",
        "",
    ]
    for table in tables:
        lines += [f"### {table.name}.{suffix}", "", table.description, "", "| field | type | meaning |", "|---|---|---|"]
        lines += [f"| `{f.name}` | {KINDS.get(f.kind, f.kind)} | {f.description or '—'} |" for f in table.fields]
        lines.append("")
    lines += [
        "## Licences",
        "",
        "The tracked texts (`versions.text`, the sentences quoted in `changes.summary` and `changes.evidence`) are the",
        "work of their publishers" + (f" ({', '.join(origin.vendors)})" if origin.vendors else "") + ", who hold",
        "their copyright. They are included as collected evidence of what was published and when, for research,",
        "journalism, quotation and archiving. Re-publishing them beyond what copyright exceptions allow where you",
        "are (quotation, text and data mining, research) needs the publisher's permission.",
        "",
    ]
    if origin.from_ota:
        lines += ["Versions whose snapshot URL points at an Open Terms Archive repository come from Open Terms Archive's",
                  "data, shared under the Open Database License's attribution variant ODC-BY 1.0: credit \"Open Terms",
                  "Archive contributors\".", ""]
    if origin.from_wayback:
        lines += ["Versions whose snapshot URL is a `web.archive.org/web/…id_/` address were back-filled from the",
                  "Internet Archive's Wayback Machine; the archive's terms of use apply to those captures.", ""]
    lines += ["Everything else in this dataset (versions' metadata, diffs' sizes, flags, severities, summaries'",
              "structure, outcomes, runs) is data produced by policywatch from those texts; whoever publishes the",
              "export chooses its licence.", ""]
    return "\n".join(lines)
