"""`policywatch extract`: what saved pages extract to with a source's declaration, storing nothing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from policywatch.commands.context import Context, ExitStatus, UserError
from policywatch.terminal import safe
from storage.record import RawPage


def extract(ctx: Context, args: argparse.Namespace) -> int:
    from ingest.declarations import select_sources
    from ingest.extraction import ExtractionError
    from ingest.importer import CONTENT_TYPES
    from ingest.judge import extract_document

    source = select_sources(ctx.sources(), [args.source], "--source")[0]
    pages = []
    for name in args.files:
        path = Path(name)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise UserError(f"{path}: {exc.strerror}") from None
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "text/html")
        pages.append(RawPage(path.as_uri() if path.is_absolute() else name, name, None, content_type, body))
    try:
        text = extract_document(source, pages)
    except ExtractionError as exc:
        raise UserError(f"{exc.kind}: {exc.detail}") from None
    sys.stdout.write(safe(text))
    return ExitStatus.OK
