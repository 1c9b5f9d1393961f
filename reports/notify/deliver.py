"""Sending one message to one target with Apprise, bounded in time.

Apprise is an optional extra (`pip install -e '.[notify]'`): without it a
delivery fails with a message saying how to install it, and is tried again on
the next pass like any other failed delivery.
"""

from __future__ import annotations

import logging
import re
from typing import Callable
from urllib.parse import urlsplit

from reports.notify.targets import NotifyTarget

INSTALL_HINT = "Apprise is not installed: pip install -e '.[notify]'"

Send = Callable[[NotifyTarget, str, str, float], "str | None"]


def apprise_missing() -> str | None:
    """Why notifications cannot be sent from this installation, or None."""
    try:
        import apprise  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return None


def with_timeouts(url: str, timeout: float) -> str:
    """The URL with Apprise's connect and read timeouts (`cto`, `rto`) set, unless it sets them itself."""
    query = urlsplit(url).query
    names = {part.split("=", 1)[0].lower() for part in query.split("&") if part}
    extra = "&".join(f"{name}={timeout:g}" for name in ("cto", "rto") if name not in names)
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + extra


def _masked(message: str, url: str) -> str:
    """An error message with every part of the URL that could be a secret (user, password, token, and the host
    name, where many services keep a token) left out: it is shown on the published runs page."""
    secrets = [p for p in re.split(r"[:/@?&=#]", url.partition("://")[2]) if len(p) >= 6]
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "…")
    return message


def check_url(url: str) -> str | None:
    """Why Apprise cannot use this URL, or None (nothing is sent)."""
    import apprise

    return None if apprise.Apprise.instantiate(url) else "Apprise does not recognise this URL (scheme or syntax)"


def send(target: NotifyTarget, title: str, body: str, timeout: float) -> str | None:
    """Deliver the message; None when delivered, else why not (secrets masked)."""
    try:
        import apprise
    except ImportError:
        return INSTALL_HINT
    asset = apprise.AppriseAsset(storage_mode=apprise.PersistentStoreMode.MEMORY)
    notifier = apprise.Apprise(asset=asset)
    if not notifier.add(with_timeouts(target.url, timeout)):
        return f"Apprise does not recognise the URL of {target.label} (scheme or syntax)"
    with apprise.LogCapture(level=logging.WARNING) as captured:
        try:
            delivered = bool(notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))
        except Exception as exc:  # a plugin's own failure is this delivery's failure, never the run's
            return _masked(f"{type(exc).__name__}: {exc}", target.url)
        log = captured.getvalue()
    if delivered:
        return None
    lines = [line.split(" - ", 2)[-1].strip() for line in log.splitlines() if line.strip()]
    return _masked("; ".join(lines) or "not delivered (Apprise gave no reason)", target.url)
