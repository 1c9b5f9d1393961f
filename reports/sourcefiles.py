"""Everything the site holds for one source: its pages, texts script, raw snapshots and feeds.

Sources are independent of each other, which is what lets a large build
spread them over several processes (reports.parallel).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from reports import pages, urls
from reports.data import Confirmation, SourceInfo, load_confirmations, load_texts
from reports.feedfiles import Excerpts, write_source_feed
from reports.output import SiteWriter, inputs_key
from reports.render import render
from storage import blobs


def texts_script(texts: dict[int, str]) -> str:
    """A source's version texts as a script for the compare form; `<`, `>`, `&` are escaped so no markup survives."""
    data = json.dumps({str(n): texts[n] for n in sorted(texts)}, ensure_ascii=True)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"policywatchVersions({data});\n"


def write_raw(session: Session, writer: SiteWriter, sha256: str) -> None:
    """A raw snapshot's file. Content-addressed: a file named by the sha256 of its bytes is kept when it
    exists; --full checks that hash instead of decompressing and rewriting every snapshot. The build owns
    it, so a snapshot no page links to any more (a confirmation no longer among a version's latest) leaves
    the site with the next build."""
    path = urls.raw_snapshot(sha256)
    if path in writer.written_paths or path in writer.current:
        writer.own(path, sha256)
        return
    if writer.exists(path) and (
            not writer.full or hashlib.sha256((writer.out / path).read_bytes()).hexdigest() == sha256):
        writer.keep(path, sha256)
        return
    try:
        data = blobs.read(session, sha256)
    except blobs.BlobIntegrityError as exc:
        # One damaged snapshot must not stop the report: its file is left out and the damage is named.
        writer.problem(f"raw snapshot left out: {exc}")
        return
    writer.write(path, data)
    writer.own(path, sha256)


def _raw_snapshots(session: Session, writer: SiteWriter, source: SourceInfo,
                   confirmed: dict[int, tuple[Confirmation, ...]]) -> None:
    for version in source.versions:
        for snap in version.snapshots:
            write_raw(session, writer, snap.sha256)
        for confirmation in confirmed.get(version.number, ()):
            for snap in confirmation.snapshots:
                write_raw(session, writer, snap.sha256)


def page_key(writer: SiteWriter, page: pages.Page) -> str:
    if not page.live:
        return writer.key(page.template, page.context)
    settled = {k: v for k, v in page.context.items() if k not in page.live}
    return writer.split_key(writer.key(page.template, settled), writer.key(*(page.context[k] for k in page.live)))


def write_source(session: Session, writer: SiteWriter, source: SourceInfo, base_url: str, excerpts: Excerpts,
                 stored: Mapping[int, str]) -> None:
    # Every file of a source is a function of its settled record (pages.settled), except the source page
    # and the current version's page, which show the last check and are written after the unit. `stored`
    # (reports.data.stored_text_digests: each version's stored bytes) is in the key of every file that shows
    # a text: a text damaged since the last build is read again, and named, by the next one.
    unit = f"source:{source.id}"
    key = writer.key("source", pages.settled(source), base_url, sorted(stored.items()))
    if not writer.keep_unit(unit, key):
        writer.begin_unit()
        _write_files(session, writer, source, base_url, excerpts, stored)
        writer.end_unit(unit, key)
    _write_live(session, writer, source, base_url, stored)


def _stored_key(key: str, page: pages.Page, stored: Mapping[int, str]) -> str:
    """A page's key with the stored bytes of the texts it shows (in the part the search index holds)."""
    if not page.texts:
        return key
    extra = inputs_key(*((n, stored.get(n, "")) for n in sorted(page.texts)))
    settled, dot, live = key.partition(".")
    return f"{settled}-{extra}{dot}{live}"


# The key a file is owned by when a text it shows was left out: it never matches, so the next build writes
# it again (and names the damage again, or shows the text once it reads back).
LEFT_OUT = "text-left-out"


def _load_texts(session: Session, writer: SiteWriter, source_id: str,
                numbers: Iterable[int] | None) -> dict[int, str]:
    """The texts that read back; each damaged one is named once and left out."""
    damaged: dict[int, str] = {}
    texts = load_texts(session, source_id, numbers, damaged)
    for number, detail in sorted(damaged.items()):
        writer.text_damaged(source_id, number, detail)
    return texts


def _write_page(writer: SiteWriter, page: pages.Page, key: str, texts: dict[int, str],
                confirmations: tuple[Confirmation, ...] = ()) -> None:
    if not all(n in texts for n in page.texts):
        writer.write(page.path, render(page.template, **pages.text_context(page, texts, None, confirmations)))
        writer.own(page.path, LEFT_OUT)
        return
    writer.note_rewrite(page.path, key)
    text_html = None
    if page.path in writer.unindexed_rewrites:
        # Only its as-of dates changed (same text, same templates): rendering a long text's Markdown
        # again would be most of the cost of a night's rebuild.
        try:
            text_html = pages.rendered_text((writer.out / page.path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            text_html = None
    context = pages.text_context(page, texts, None, confirmations, text_html)
    writer.write(page.path, render(page.template, **context))
    writer.own(page.path, key)


def _write_files(session: Session, writer: SiteWriter, source: SourceInfo, base_url: str, excerpts: Excerpts,
                 stored: Mapping[int, str]) -> None:
    stale: list[tuple[pages.Page, str]] = []
    history = pages.version_pages(source, base_url)[:-1]
    for page in history + pages.change_pages(source, base_url):
        key = _stored_key(page_key(writer, page), page, stored)
        if writer.fresh(page.path, key):
            writer.keep(page.path, key)
        else:
            stale.append((page, key))
    markdown: list[tuple[str, str, int]] = []
    for version in source.versions:
        path = urls.version_markdown(source.id, version.number)
        md_key = writer.key("markdown", version.sha256, stored.get(version.number, ""))
        if writer.fresh(path, md_key):
            writer.keep(path, md_key)
        else:
            markdown.append((path, md_key, version.number))
    script_path = urls.version_texts(source.id)
    script_key = writer.key("texts", [(v.number, v.sha256, stored.get(v.number, "")) for v in source.versions])
    script_stale = bool(source.versions) and not writer.fresh(script_path, script_key)
    if source.versions and not script_stale:
        writer.keep(script_path, script_key)
    needed = {n for page, _ in stale for n in page.texts} | {n for _, _, n in markdown}
    texts = _load_texts(session, writer, source.id, None if script_stale else needed) if needed or script_stale else {}
    confirmed = {v.number: load_confirmations(session, v.id, pages.CONFIRMATIONS_SHOWN) for v in source.versions[:-1]}
    for page, key in stale:
        if page.kind == "change":
            readable = all(n in texts for n in page.texts)
            diff = pages.change_diff(page, texts) if readable else None
            if diff is not None:
                excerpts.remember(page.context["change"], diff.plain)
            writer.write(page.path, render(page.template, **pages.text_context(page, texts, diff)))
            writer.own(page.path, key if readable else LEFT_OUT)
        else:
            _write_page(writer, page, key, texts, confirmed.get(page.context["version"].number, ()))
    for path, md_key, number in markdown:
        if number in texts:  # a damaged text's Markdown is left out, as its page says
            writer.write(path, texts[number])
            writer.own(path, md_key)
    if script_stale:
        writer.write(script_path, texts_script(texts))
        writer.own(script_path, script_key if len(texts) == len(source.versions) else LEFT_OUT)
    _raw_snapshots(session, writer, source, confirmed)
    write_source_feed(writer, source, base_url, excerpts)


def _write_live(session: Session, writer: SiteWriter, source: SourceInfo, base_url: str,
                stored: Mapping[int, str]) -> None:
    """The source page and the current version's page, with its latest confirmations' raw pages: a unit of
    their own, so a rebuild with no new check reads nothing for them."""
    page = pages.current_version_page(source, base_url) if source.versions else None
    overview = pages.source_page(source)
    version_key = _stored_key(page_key(writer, page), page, stored) if page is not None else ""
    overview_key = writer.key(overview.template, overview.context)
    unit = f"live:{source.id}"
    unit_key = writer.key("live", version_key, overview_key)
    if writer.keep_unit(unit, unit_key):
        return
    writer.begin_unit()
    if page is not None:
        current = source.versions[-1]
        confirmations = load_confirmations(session, current.id, pages.CONFIRMATIONS_SHOWN)
        for confirmation in confirmations:
            for snap in confirmation.snapshots:
                write_raw(session, writer, snap.sha256)
        if writer.fresh(page.path, version_key):
            writer.keep(page.path, version_key)
        else:
            _write_page(writer, page, version_key, _load_texts(session, writer, source.id, [current.number]),
                        confirmations)
    writer.produce(overview.path, overview_key, lambda: render(overview.template, **overview.context))
    writer.end_unit(unit, unit_key)
