"""`policywatch classify`: the flagger on its own, on JSON lines."""

from __future__ import annotations

import argparse
import sys

from analysis.flags import classify_json_lines
from policywatch.commands.context import AddCommand, Context, ExitStatus, UserError
from policywatch.terminal import json_safe


def classify(ctx: Context, args: argparse.Namespace) -> int:
    name = args.file
    try:
        stream = sys.stdin if name == "-" else open(name, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{name}: {exc.strerror}") from None
    with stream:
        try:
            for line in classify_json_lines(stream, args.language):
                print(json_safe(line), file=ctx.out)
        except ValueError as exc:
            raise UserError(f"{'standard input' if name == '-' else name}: {exc}") from None
    return ExitStatus.OK


def register(add: AddCommand) -> None:
    p = add("classify", classify, "flag JSON lines: read objects with a `text` field, write them back "
            "with `flags` and `evidence`")
    p.add_argument("file", nargs="?", default="-", metavar="FILE", help="JSON lines (default: standard input)")
    p.add_argument("--language", choices=("en", "de", "fr"), help="default: detected per line")
