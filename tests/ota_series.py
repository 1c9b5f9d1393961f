"""Open Terms Archive's OpenAI history (../shared/ota-data) as claim-engine events.

Used by the claim history test and by bench/claims_speed.py. Each series of
``versions/index.csv`` (collection, service, document type) becomes one
source, ``ota/<collection>/<service>/<document type>``, with these readings
of the data (see ota-data/README.md):

- the ``OpenAI`` service (2023-10 → 2024-02) is the US pages; the
  ``ChatGPT`` service continues the same documents from 2024-02-20, so in
  genai-contrib the two make one source (the first ChatGPT version repeats
  the last OpenAI one and adds no version);
- the genai-contrib privacy-policy series (ChatGPT and DALL·E) changed the
  page they track: the US policy until 2024-06-10, the EU policy
  (``eu-privacy-policy``) from then; the ChatGPT one is combined with the "how
  your data is used to improve model performance" page from 2025-07-31. These
  are declaration changes (``declaration_changed``);
- ``technical_upgrade`` rows are re-derivations by a new extraction engine:
  ``technical`` changes;
- other steps are ``formatting`` or ``substantive`` by ``analysis.meaning``;
  a text identical to the previous one adds no version.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from analysis.claims import SourceInfo, SourceVersion
from analysis.meaning import analyse_change
from analysis.vocabulary import ChangeKind

PRIVACY_SERIES = ("genai-contrib", "ChatGPT", "Privacy Policy")
# When a series started tracking another page (or pages): the privacy policies
# of genai-contrib moved from the US to the EU policy, and the ChatGPT one was
# combined with the model-improvement page.
TRACKING_CHANGES = {
    ("genai-contrib", "ChatGPT", "Privacy Policy"): ("2024-06-10", "2025-07-31"),
    ("genai-contrib", "DALL·E", "Privacy Policy"): ("2024-06-10",),
}


@dataclass(frozen=True)
class Row:
    collection: str
    service: str
    document_type: str
    at: dt.datetime
    kind: str
    path: Path


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def rows(ota: Path) -> list[Row]:
    with (ota / "versions" / "index.csv").open(encoding="utf-8", newline="") as handle:
        return [Row(r["collection"], r["service"], r["document_type"], parse_time(r["fetch_date"]), r["kind"],
                    ota / r["path"]) for r in csv.DictReader(handle)]


def source_id(collection: str, service: str, document_type: str) -> str:
    service = "chatgpt" if (collection, service) == ("genai-contrib", "OpenAI") else service
    parts = ("".join(c if c.isalnum() else "-" for c in part.lower()).strip("-")
             for part in (collection, service, document_type))
    return "ota/" + "/".join(parts)


def series(ota: Path) -> dict[str, list[Row]]:
    """Rows per source id, in time order (the OpenAI-service rows joined to their ChatGPT series)."""
    out: dict[str, list[Row]] = {}
    for row in rows(ota):
        out.setdefault(source_id(row.collection, row.service, row.document_type), []).append(row)
    for versions in out.values():
        versions.sort(key=lambda r: r.at)
    return out


def privacy_source_id() -> str:
    return source_id(*PRIVACY_SERIES)


def events(sid: str, versions: list[Row], vendor: str = "OpenAI", classify: bool = True) -> Iterator[SourceVersion]:
    """The versions of one series as ``SourceVersion`` events, numbered from 1.

    ``classify=False`` calls every non-technical change substantive instead of
    asking ``analysis.meaning``: the kind decides what is announced, not what
    the engine does, and benchmarks need not pay for it.
    """
    info = SourceInfo(id=sid, vendor=vendor, language="en")
    switches = next((dates for key, dates in TRACKING_CHANGES.items() if source_id(*key) == sid), ())
    previous: str | None = None
    number = 0
    for row in versions:
        text = row.path.read_text(encoding="utf-8")
        if text == previous:
            continue
        number += 1
        declaration_changed = row.at.date().isoformat() in switches
        if previous is None:
            kind = None
        elif row.kind == "technical_upgrade":
            kind = ChangeKind.TECHNICAL
        elif classify:
            kind = ChangeKind(analyse_change(previous, text, "en").kind)
        else:
            kind = ChangeKind.SUBSTANTIVE
        yield SourceVersion(source=info, number=number, at=row.at, text=text, change_kind=kind,
                            declaration_changed=declaration_changed)
        previous = text
