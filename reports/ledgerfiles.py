"""The site's copy of the tamper-evident log: `ledger.jsonl`, its signature, and the script that verifies them.

`ledger.jsonl` is the whole log (storage.ledger), one entry per line in order,
rewritten only when its head moves. With `ledger_signing_key` set, the file is
signed with `ssh-keygen -Y sign -n policywatch-ledger` into `ledger.jsonl.sig`;
a signature that cannot be made is a problem of the build, and no stale
signature is left behind. `verify-ledger.py` is storage.verify_ledger as it is.
`left-out.json` lists the version texts this build left out because they no
longer read back from the database, so the verifiers can tell them from
texts removed from the site.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from reports.output import SiteWriter
from storage import ledger, verify_ledger

LEDGER = verify_ledger.LEDGER_FILE
LEFT_OUT = verify_ledger.LEFT_OUT_FILE
SIGNATURE = verify_ledger.SIGNATURE_FILE
SCRIPT = "verify-ledger.py"
SIGNING_TIMEOUT = 60.0


@dataclass(frozen=True)
class LedgerHead:
    """What the index shows of the log."""

    entries: int
    hash: str
    signed: bool


def _content(session: Session) -> bytes:
    return b"".join(ledger.json_line(entry).encode("ascii") + b"\n" for entry in ledger.entries(session))


class SigningError(Exception):
    pass


def sign(data: bytes, key: Path) -> bytes:
    """An SSH signature of `data` (ssh-keygen reads it on its standard input and writes the signature out)."""
    try:
        done = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n",
                               verify_ledger.SIGNATURE_NAMESPACE], input=data, capture_output=True,
                              timeout=SIGNING_TIMEOUT)
    except FileNotFoundError:
        raise SigningError("ssh-keygen (OpenSSH) is not installed") from None
    except subprocess.TimeoutExpired:
        raise SigningError(f"ssh-keygen did not answer within {SIGNING_TIMEOUT:.0f} s (a key with a passphrase "
                           "needs ssh-agent)") from None
    if done.returncode != 0 or not done.stdout.startswith(b"-----BEGIN SSH SIGNATURE-----"):
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SigningError(detail[-1] if detail else f"ssh-keygen exited {done.returncode}")
    return done.stdout


def _key_identity(key: Path) -> tuple[str, int, int]:
    try:
        stat = key.stat()
    except OSError:
        return str(key), 0, 0
    return str(key), stat.st_mtime_ns, stat.st_size


def write_ledger(session: Session, writer: SiteWriter, signing_key: Path | None) -> LedgerHead | None:
    script = Path(verify_ledger.__file__).read_bytes()
    writer.produce(SCRIPT, writer.key("ledger-script", script.decode("utf-8")), lambda: script)
    head = ledger.head(session)
    if head is None:
        return None
    writer.produce(LEDGER, writer.key("ledger", head.seq, head.hash), lambda: _content(session))
    if signing_key is None:
        return LedgerHead(head.seq, head.hash, False)
    key = writer.key("ledger-signature", head.seq, head.hash, _key_identity(signing_key))
    if writer.fresh(SIGNATURE, key):
        writer.keep(SIGNATURE, key)
        return LedgerHead(head.seq, head.hash, True)
    try:
        signature = sign((writer.out / LEDGER).read_bytes(), signing_key)
    except SigningError as exc:
        writer.problems.append(f"{SIGNATURE} not written: ledger_signing_key {signing_key}: {exc}")
        return LedgerHead(head.seq, head.hash, False)
    writer.write(SIGNATURE, signature)
    writer.own(SIGNATURE, key)
    return LedgerHead(head.seq, head.hash, True)


def write_left_out(writer: SiteWriter, shas: Mapping[tuple[str, int], str]) -> None:
    """`left-out.json`: each version whose text this build left out as damaged, with the sha256 its ledger entry
    names. Written only when there is one: an earlier build's list leaves the site with the damage."""
    left = sorted((source, number) for source, number in writer.damaged_texts if (source, number) in shas)
    if not left:
        return
    data = {"texts": [{"source": source, "number": number, "text_sha256": shas[(source, number)],
                       "reason": "damaged in the publisher's database"} for source, number in left]}
    writer.produce(LEFT_OUT, writer.key("left-out", data),
                   lambda: json.dumps(data, indent=1, sort_keys=True, ensure_ascii=True) + "\n")
