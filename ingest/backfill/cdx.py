"""The Wayback Machine's CDX index: the query for a URL's captures, and its answer read as captures.

Pure functions: no network. The CDX server answers JSON rows, the first
naming the fields; with `showResumeKey=true` a page that stops early ends with
an empty row and the key to ask for the next page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode

from analysis.errors import UserInputError

FIELDS = ("timestamp", "original", "statuscode", "digest", "mimetype")
PAGE_SIZE = 1000


class CdxError(UserInputError):
    pass


@dataclass(frozen=True)
class Capture:
    timestamp: str  # 14 digits, UTC, as the archive writes it
    original: str  # the URL as captured
    status: str  # the HTTP status the archive received ("200", "301", …; "-" for a revisit record)
    digest: str  # the archive's hash of the captured body
    mimetype: str

    @property
    def at(self) -> datetime:
        return datetime.strptime(self.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)

    @property
    def is_redirect(self) -> bool:
        return self.status.startswith("3") and len(self.status) == 3

    @property
    def is_page(self) -> bool:
        """A capture that can hold the page: an HTML 200, or a redirect the replay leads on from."""
        if self.is_redirect:
            return True
        return self.status == "200" and "html" in self.mimetype.lower()


def archive_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def query_url(cdx_url: str, url: str, since: datetime | None = None, until: datetime | None = None,
              resume_key: str | None = None, limit: int = PAGE_SIZE) -> str:
    params: list[tuple[str, str]] = [("url", url), ("output", "json"), ("fl", ",".join(FIELDS)),
                                     ("collapse", "digest"), ("limit", str(limit)), ("showResumeKey", "true")]
    if since is not None:
        params.append(("from", archive_time(since)))
    if until is not None:
        params.append(("to", archive_time(until)))
    if resume_key:
        params.append(("resumeKey", resume_key))
    return f"{cdx_url}?{urlencode(params)}"


def parse_page(body: bytes, where: str) -> tuple[list[Capture], str | None]:
    """The captures of one CDX answer and the resume key for the next page (None on the last page)."""
    if not body.strip():
        return [], None
    try:
        rows = json.loads(body)
    except ValueError:
        raise CdxError(f"{where}: the CDX answer is not JSON") from None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise CdxError(f"{where}: the CDX answer is not a list of rows")
    if not rows:
        return [], None
    header = [str(h) for h in rows[0]]
    missing = [f for f in FIELDS if f not in header]
    if missing:
        raise CdxError(f"{where}: the CDX answer has no field {missing[0]!r}")
    resume = None
    body_rows = rows[1:]
    if len(body_rows) >= 2 and body_rows[-2] == [] and len(body_rows[-1]) == 1:
        resume = str(body_rows[-1][0])
        body_rows = body_rows[:-2]
    index = {name: header.index(name) for name in FIELDS}
    captures = []
    for row in body_rows:
        if len(row) != len(header):
            continue
        values = {name: str(row[i]) for name, i in index.items()}
        if len(values["timestamp"]) != 14 or not values["timestamp"].isdigit():
            continue
        captures.append(Capture(values["timestamp"], values["original"], values["statuscode"], values["digest"],
                                values["mimetype"]))
    return captures, resume


def distinct(captures: list[Capture]) -> list[Capture]:
    """Captures in time order, each one differing from the one before: a run of captures with the same digest
    is one state of the page (what the server's `collapse=digest` does, kept here whatever the server did)."""
    kept: list[Capture] = []
    for capture in sorted(captures, key=lambda c: c.timestamp):
        if kept and (kept[-1].digest == capture.digest or kept[-1].timestamp == capture.timestamp):
            continue
        kept.append(capture)
    return kept
