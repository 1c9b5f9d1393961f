"""`policywatch notify [--dry-run]`: send the notifications not sent yet (`run` does it after each crawl)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from policywatch.commands.context import Context, ExitStatus, UserError
from policywatch.commands.report import base_url
from storage.vocabulary import DeliveryStatus

if TYPE_CHECKING:
    from reports.notify.dispatch import NotifyReport

NO_TARGETS = ("no notification targets are configured: add [[policywatch.notify]] entries to the settings file "
              "(README, \"Notifications\")")


def site_base(base: str | None, out: Path) -> str:
    """Where links in messages point: the published site, else the report directory on this machine."""
    return base or out.resolve().as_uri() + "/"


def send_notifications(ctx: Context, base: str, dry_run: bool = False) -> NotifyReport:
    from reports.notify.dispatch import notify_pass

    return notify_pass(ctx.factory(), ctx.settings.notify, base_url=base,
                       failing_after=ctx.settings.failing_after_runs, dry_run=dry_run,
                       timeout=ctx.settings.notify_timeout)


def print_attempts(report: NotifyReport, say: Callable[[str], None], quiet: bool) -> None:
    for attempt in report.attempts:
        if attempt.status is None:
            say(f"would send to {attempt.target}: {attempt.title}")
        elif attempt.status == DeliveryStatus.SENT:
            if not quiet:
                say(f"sent to {attempt.target}: {attempt.title}")
        else:
            what = "abandoned" if attempt.status == DeliveryStatus.ABANDONED else "not delivered"
            say(f"{what} to {attempt.target}: {attempt.title}: {attempt.error}")


def night_notifications(ctx: Context, base: str | None, out: Path,
                        log: Callable[[str], None]) -> Callable[[bool], None]:
    """`run`'s notification pass, made as soon as the crawl is recorded; it returns what prints its lines once
    the night's summary is out. Nothing here fails the run: a delivery that fails is recorded and retried on
    the next run, and any other error is logged and reported in one line."""
    if not ctx.settings.notify:
        return lambda quiet: None
    try:
        report: NotifyReport | str = send_notifications(ctx, site_base(base, out))
    except Exception as exc:  # the crawl is recorded whatever happens to its notifications
        report = f"notifications: not sent ({type(exc).__name__}: {exc}); tried again on the next run"
    lines: list[str] = []
    if isinstance(report, str):
        lines.append(report)
    else:
        print_attempts(report, lines.append, quiet=True)
        lines.append(report.line())
    for line in lines:
        log(line)

    def show(quiet: bool) -> None:
        problems = isinstance(report, str) or bool(report.count(DeliveryStatus.FAILED)
                                                                 or report.count(DeliveryStatus.ABANDONED))
        for line in lines:
            if not quiet or problems:
                ctx.say(line if line.startswith("notifications") else f"  {line}")
    return show


def notify(ctx: Context, args: argparse.Namespace) -> int:
    if not ctx.settings.notify:
        raise UserError(NO_TARGETS)
    report = send_notifications(ctx, site_base(base_url(args.base_url), Path(args.out)), args.dry_run)
    print_attempts(report, ctx.say, ctx.quiet)
    if args.dry_run:
        ctx.say(f"dry run: {len(report.attempts)} message(s) would be sent"
                + (f", {report.deferred} more on later runs" if report.deferred else "") + "; nothing recorded")
        return ExitStatus.OK
    if not ctx.quiet or report.count(DeliveryStatus.FAILED) or report.count(DeliveryStatus.ABANDONED):
        ctx.say(report.line())
    undelivered = report.count(DeliveryStatus.FAILED) + report.count(DeliveryStatus.ABANDONED)
    return ExitStatus.FAILURES if undelivered else ExitStatus.OK
