"""`policywatch classify`: the flagger on its own, on JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Iterable, Iterator

from policywatch.commands.context import Context, ExitStatus, UserError
from policywatch.terminal import json_safe


def _as_json_lines(lines: Iterable[str]) -> Iterator[str]:
    """Plain text, one statement a line, as the JSON lines the flagger reads (with each line's number)."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield json.dumps({"line": number, "text": line.rstrip("\r\n")}, ensure_ascii=False)


def classify(ctx: Context, args: argparse.Namespace) -> int:
    from analysis.flags import classify_json_lines

    name = args.file
    try:
        stream = sys.stdin if name == "-" else open(name, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{name}: {exc.strerror}") from None
    with stream:
        try:
            for line in classify_json_lines(_as_json_lines(stream) if args.text else stream, args.language):
                print(json_safe(line), file=ctx.out)
        except ValueError as exc:
            raise UserError(f"{'standard input' if name == '-' else name}: {exc}") from None
    return ExitStatus.OK
