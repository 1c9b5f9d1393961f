"""What unreachable hosts cost a night: `policywatch crawl` of sources whose host refuses the connection or has
no address, with the default retries and politeness.

    python bench/unreachable_night.py [--refused 2] [--unresolved 2] [--code DIR]

A refused connection is a port on 127.0.0.1 bound but not listening; a name
that does not resolve is one under `.invalid`, which the crawler's resolver
answers itself (RFC 6761): nothing leaves the machine. Runs the real command
in a subprocess with `-v` and prints the crawl's own time (Scrapy's
`elapsed_time_seconds`, start-up and the database aside), the command's wall
time, the attempts made per URL, and the lines printed on stderr without `-v`.
`--code DIR` runs another checkout's command (an earlier commit, to compare).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
NO_NEWS = REPO / "tests" / "data" / "news" / "declarations" / "none.yaml"


def _crawl(code: Path, db: Path, sources: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env["POLICYWATCH_ALLOW_PRIVATE_ADDRESSES"] = "true"
    env["PYTHONPATH"] = str(code)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "policywatch", "--db", str(db), "--sources", str(sources),
                           "--news", str(NO_NEWS), *extra, "crawl"], capture_output=True, text=True, env=env,
                          cwd=code, timeout=1800)
    return done, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refused", type=int, default=2, help="sources on a port that refuses connections")
    parser.add_argument("--unresolved", type=int, default=2, help="sources on a name that does not resolve")
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout whose command is run")
    args = parser.parse_args()
    if args.unresolved and args.code.resolve() != REPO:
        parser.error("--code runs a checkout whose resolver may ask the network's DNS about .invalid names: "
                     "give it --unresolved 0")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        urls = []
        for n in range(args.refused):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            urls.append(f"http://127.0.0.1:{sock.getsockname()[1]}/privacy")
        urls += [f"http://host{n}.unreachable.invalid/privacy" for n in range(args.unresolved)]
        sources = Path(tmp) / "sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": [
            {"id": f"bench/s{n}", "vendor": "Bench", "title": f"Source {n}", "document_type": "Privacy Policy",
             "language": "en", "urls": [url]} for n, url in enumerate(urls)]}), encoding="utf-8")
        verbose, wall = _crawl(args.code.resolve(), Path(tmp) / "v.db", sources, "-v")
        quiet, _ = _crawl(args.code.resolve(), Path(tmp) / "q.db", sources)
    elapsed = re.search(r"'elapsed_time_seconds': ([\d.]+)", verbose.stderr)
    attempts = [int(n) for n in re.findall(r"Gave up retrying <GET [^>]+> \(failed (\d+) times\)", verbose.stderr)]
    print(f"{args.refused} refused + {args.unresolved} unresolved sources (robots.txt and page each)")
    print(f"  crawl time (Scrapy elapsed_time_seconds): {float(elapsed.group(1)) if elapsed else float('nan'):.1f} s")
    print(f"  command wall time: {wall:.1f} s")
    print(f"  attempts per URL: {sorted(set(attempts))} over {len(attempts)} URLs")
    print(f"  lines on stderr without -v: {len(quiet.stderr.splitlines())}; on stdout: {len(quiet.stdout.splitlines())}")


if __name__ == "__main__":
    main()
