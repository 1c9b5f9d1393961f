"""Writing the export: a ZIP whose bytes depend only on the record.

Entries are sorted by name and carry a fixed timestamp and fixed
attributes; rows are read in a fixed order and serialised the same way every
time, so exporting an unchanged record gives the same file. A fingerprint of
the record (`Table.fingerprint`) is kept beside the export, so an unchanged
record is not even read again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy.orm import Session, sessionmaker

from analysis.errors import UserInputError
from reports.export.readme import provenance, readme
from reports.export.tables import DAMAGED_TEXTS, TABLES, Table, newest_record_time
from storage.db import reading

FORMATS = ("jsonl", "csv")
FORMAT_VERSION = 1
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
STAMPS = ".policywatch-export.json"
PREFIX = "policywatch-dataset-"


class ExportError(UserInputError):
    pass


@dataclass(frozen=True)
class ExportResult:
    path: Path
    written: bool  # False: the same record was already exported there
    size: int
    dated: datetime
    rows: dict[str, int]


def export_name(dated: datetime, fmt: str) -> str:
    return f"{PREFIX}{dated:%Y-%m-%d}{'' if fmt == 'jsonl' else '-' + fmt}.zip"


def _code_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(session: Session, tables: Sequence[Table], fmt: str) -> str:
    parts = [FORMAT_VERSION, fmt, _code_digest()] + [[t.name, list(t.fingerprint(session))] for t in tables]
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode("utf-8")).hexdigest()


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value)


def _write_table(archive: zipfile.ZipFile, session: Session, table: Table, fmt: str) -> int:
    count = 0
    with archive.open(_info(f"{table.name}.{fmt}"), "w", force_zip64=True) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        if fmt == "csv":
            writer = csv.writer(text, lineterminator="\n")
            names = [f.name for f in table.fields]
            writer.writerow(names)
            for row in table.rows(session):
                writer.writerow([_cell(row.get(name)) for name in names])
                count += 1
        else:
            for row in table.rows(session):
                text.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
        text.flush()
        text.detach()
    return count


def _stamps(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / STAMPS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def write_export(factory: sessionmaker[Session], folder: Path, fmt: str = "jsonl",
                 tables: Sequence[Table] = TABLES, only_latest: bool = False, force: bool = False,
                 damaged: list[tuple[str, int, str]] | None = None) -> ExportResult:
    """Export the record into `folder`; `only_latest` removes earlier exports there (the site keeps one);
    `force` writes it even when the same record was exported there already. `damaged`: a version text that
    no longer reads back is exported as null and named in this list as (source id, version number, what is
    wrong); without it, the export stops."""
    if fmt not in FORMATS:
        raise ExportError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"--out {folder}: cannot create the directory: {exc.strerror}") from None
    with reading(factory) as session:  # one consistent state of the record, whatever a crawl writes meanwhile
        if damaged is not None:
            session.info[DAMAGED_TEXTS] = damaged
        dated = newest_record_time(session)
        if dated is None:
            raise ExportError("nothing is recorded yet: run `policywatch crawl` or `policywatch import` first")
        name = export_name(dated, fmt)
        target = folder / name
        stamps = _stamps(folder)
        print_ = fingerprint(session, tables, fmt)
        if not force and target.is_file() and stamps.get(name) == print_:
            written, rows = False, {}
        else:
            temporary = folder / f".{name}.{os.getpid()}.tmp"
            rows = {}
            try:
                with zipfile.ZipFile(temporary, "w", compresslevel=6) as archive:
                    entries = [(f"{t.name}.{fmt}", t) for t in tables] + [("README.md", None)]
                    for entry, table in sorted(entries, key=lambda e: e[0]):
                        if table is None:
                            data = readme(tables, fmt, dated, provenance(session)).encode("utf-8")
                            archive.writestr(_info(entry), data)
                        else:
                            rows[table.name] = _write_table(archive, session, table, fmt)
                os.replace(temporary, target)
            except OSError as exc:
                temporary.unlink(missing_ok=True)
                raise ExportError(f"--out {folder}: cannot write {name}: {exc.strerror}") from None
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            written = True
    if only_latest:
        for old in folder.glob(f"{PREFIX}*.zip"):
            if old.name != name:
                old.unlink()
        stamps = {name: print_}
    else:
        stamps[name] = print_
    if damaged:
        del stamps[name]  # written again next time: the damage is named again, or is gone
    if written or stamps != _stamps(folder):
        temporary = folder / f".{STAMPS}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(stamps, sort_keys=True, indent=1), encoding="utf-8")
        os.replace(temporary, folder / STAMPS)
    return ExportResult(target, written, target.stat().st_size, dated, rows)
