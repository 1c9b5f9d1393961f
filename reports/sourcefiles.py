"""Everything the site holds for one source: its pages, texts script, raw snapshots and feeds.

Sources are independent of each other, which is what lets a large build
spread them over several processes (reports.parallel).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from sqlalchemy.orm import Session

from reports import pages, urls
from reports.data import SourceInfo, load_texts
from reports.feedfiles import Excerpts, write_source_feed
from reports.output import SiteWriter
from reports.render import render
from storage import blobs


def texts_script(texts: dict[int, str]) -> str:
    """A source's version texts as a script for the compare form; `<`, `>`, `&` are escaped so no markup survives."""
    data = json.dumps({str(n): texts[n] for n in sorted(texts)}, ensure_ascii=True)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"policywatchVersions({data});\n"


def write_raw(session: Session, writer: SiteWriter, sha256: str) -> None:
    """A raw snapshot's file. Content-addressed: a file named by the sha256 of its bytes is kept when it
    exists; --full checks that hash instead of decompressing and rewriting every snapshot."""
    path = urls.raw_snapshot(sha256)
    if path in writer.written_paths:
        return
    if writer.exists(path) and (
            not writer.full or hashlib.sha256((writer.out / path).read_bytes()).hexdigest() == sha256):
        return
    try:
        data = blobs.read(session, sha256)
    except blobs.BlobIntegrityError as exc:
        # One damaged snapshot must not stop the report: its file is left out and the damage is named.
        writer.problems.append(f"raw snapshot left out: {exc}")
        return
    writer.write(path, data)


def _raw_snapshots(session: Session, writer: SiteWriter, source: SourceInfo) -> None:
    for version in source.versions:
        for snap in version.snapshots:
            write_raw(session, writer, snap.sha256)


def write_source(session: Session, writer: SiteWriter, source: SourceInfo, base_url: str, excerpts: Excerpts) -> None:
    # Every file of a source is a function of its record, except the last
    # check, which changes every night and is shown on the index only.
    unit = f"source:{source.id}"
    key = writer.key("source", replace(source, last_checked=None), base_url)
    if writer.keep_unit(unit, key):
        return
    writer.begin_unit()
    _write_files(session, writer, source, base_url, excerpts)
    writer.end_unit(unit, key)


def _write_files(session: Session, writer: SiteWriter, source: SourceInfo, base_url: str, excerpts: Excerpts) -> None:
    stale: list[tuple[pages.Page, str]] = []
    for page in pages.version_pages(source) + pages.change_pages(source, base_url):
        key = writer.key(page.template, page.context)
        if writer.fresh(page.path, key):
            writer.keep(page.path, key)
        else:
            stale.append((page, key))
    script_path = urls.version_texts(source.id)
    script_key = writer.key("texts", [(v.number, v.sha256) for v in source.versions])
    script_stale = bool(source.versions) and not writer.fresh(script_path, script_key)
    if source.versions and not script_stale:
        writer.keep(script_path, script_key)
    needed = {n for page, _ in stale for n in page.texts}
    texts = load_texts(session, source.id, None if script_stale else needed) if needed or script_stale else {}
    for page, key in stale:
        diff = None
        if page.kind == "change":
            diff = pages.change_diff(page, texts)
            excerpts.remember(page.context["change"], diff.plain)
        writer.write(page.path, render(page.template, **pages.text_context(page, texts, diff)))
        writer.own(page.path, key)
    if script_stale:
        writer.write(script_path, texts_script(texts))
        writer.own(script_path, script_key)
    _raw_snapshots(session, writer, source)
    page = pages.source_page(source)
    writer.produce(page.path, writer.key(page.template, page.context), lambda: render(page.template, **page.context))
    write_source_feed(writer, source, base_url, excerpts)
