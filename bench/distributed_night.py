"""Wall time of a distributed night with 1, 2 and 3 worker processes, against one `policywatch run`.

    python bench/distributed_night.py [--sources 3000] [--hosts 300] [--latency 0.3] [--workers 1 2 3]
                                      [--concurrency 2] [--postgres URL]

Serves ``sources`` pages spread over ``hosts`` servers, each bound to its own
loopback address (127.0.1.1, 127.0.1.2, …), every response held back by
``latency`` seconds. Each night is recorded into a fresh PostgreSQL database
(made on the server of ``--postgres``, default $POLICYWATCH_TEST_POSTGRES_URL,
and dropped afterwards): first one `policywatch run` in one process, then
`policywatch run --distributed` with 0, 1 and 2 `policywatch worker`
processes beside it (the coordinator takes jobs too: 1, 2 and 3 processes
fetching), each with ``--concurrency`` domain jobs at a time. The polite
per-domain limits stay on (one request at a time per host); the
autothrottle's extra delay is off, as on a fast local network.

Prints, for each night: wall time, the ratio to one worker process, the
requests per second, the most requests any host saw at once (1: polite),
and for distributed nights the coordinator's planning and closing time per
job (from its log), and how long a domain's job lasts on average and how
much of that is beyond its server's answers (the worker's cost per job: a
Scrapy crawl started and ended, the lease checked, the outcomes recorded).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from policywatch.localserver import LocalServer, Page, Served  # noqa: E402

# No news: the night is the policies' alone.
NO_NEWS = {"news": [{"id": "none/disabled", "kind": "feed", "url": "http://127.0.0.1:9/feed.rss", "language": "en",
                     "outlet": "Nobody", "type": "press", "enabled": False}]}
EMPTY_CLAIMS = {"claims": []}


def address(index: int) -> str:
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def page(host: int, doc: int) -> bytes:
    clauses = " ".join(f"Clause {i} of document {doc} at host {host}: we keep your data for {30 + i} days."
                       for i in range(25))
    return (f"<html><head><title>Policy {host}-{doc}</title></head><body><main><h1>Policy {host}-{doc}</h1>"
            f"<p>{clauses}</p></main></body></html>").encode()


def serve(stack: ExitStack, hosts: int, per_host: list[int], latency: float) -> list[LocalServer]:
    servers = []
    for h in range(hosts):
        server = stack.enter_context(LocalServer(host=address(h)))
        server.routes["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", content_type="text/plain")
        for d in range(per_host[h]):
            server.routes[f"/doc{d}"] = Page(page(h, d), delay=latency)
        servers.append(server)
    return servers


def declarations(path: Path, servers: list[LocalServer], per_host: list[int]) -> Path:
    entries = [{"id": f"h{h:03d}/doc{d}", "vendor": "Benchco", "title": f"Policy {h}-{d}",
                "document_type": "Privacy Policy", "language": "en", "select": "main",
                "urls": [f"{server.base_url}/doc{d}"]}
               for h, server in enumerate(servers) for d in range(per_host[h])]
    path.write_text(yaml.safe_dump({"sources": entries}, sort_keys=False), encoding="utf-8")
    return path


def environment(db: str, root: Path, who: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    env.update({"POLICYWATCH_DB": db, "POLICYWATCH_SOURCES": str(root / "sources.yaml"),
                "POLICYWATCH_NEWS": str(root / "news.yaml"), "POLICYWATCH_CLAIMS": str(root / "claims.yaml"),
                "POLICYWATCH_ALLOW_PRIVATE_ADDRESSES": "true", "POLICYWATCH_AUTOTHROTTLE": "false",
                "POLICYWATCH_CONTACT_URL": f"https://example.org/{who}", "POLICYWATCH_WORKER_HEARTBEAT": "2",
                "POLICYWATCH_WORKER_STALLED_AFTER": "30"})
    return env


class Database:
    def __init__(self, server_url: str):
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.base = server_url.rsplit("/", 1)[0]

    def fresh(self) -> str:
        name = f"pw_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return f"{self.base}/{name}"

    def drop(self, url: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))


def start_worker(name: str, env: dict[str, str], root: Path, concurrency: int) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "policywatch", "worker", "--name", name, "--concurrency",
                                str(concurrency), "--log", str(root / f"{name}.log")], env=env, cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "taking jobs" not in line:
        raise SystemExit(f"worker {name} did not start: {line}{process.stderr.read() if process.stderr else ''}")
    return process


def most_at_once(requests: list[Served]) -> int:
    edges = sorted([(r.start, 1) for r in requests] + [(r.end, -1) for r in requests])
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def night(db: Database, root: Path, servers: list[LocalServer], workers: int, concurrency: int,
          distributed: bool) -> dict[str, float]:
    for server in servers:
        server.served.clear()
    url = db.fresh()
    label = f"{workers}w" if distributed else "single"
    out = root / f"site-{label}"
    log = root / f"coordinator-{label}.log"
    helpers = [start_worker(f"w{i}-{label}", environment(url, root, f"w{i}"), root, concurrency)
               for i in range(1, workers)] if distributed else []
    command = [sys.executable, "-m", "policywatch", "run", "--out", str(out), "--log", str(log), "--quiet"]
    if distributed:
        command += ["--distributed", "--name", f"coordinator-{label}", "--concurrency", str(concurrency)]
    try:
        started = time.perf_counter()
        result = subprocess.run(command, env=environment(url, root, "coordinator"), cwd=root, capture_output=True,
                                text=True, timeout=7200)
        wall = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    finally:
        for process in helpers:
            process.send_signal(signal.SIGTERM)
        for process in helpers:
            process.wait(60)
        db.drop(url)
    requests = [r for server in servers for r in server.served if r.path != "/robots.txt"]
    figures = {"wall": wall, "requests": len(requests),
               "peak": max(most_at_once(server.served) for server in servers)}
    if distributed:
        text_log = log.read_text(encoding="utf-8")
        match = re.search(r"(\d+) domain job\(s\) planned and queued in ([\d.]+) s, closed in ([\d.]+) s", text_log)
        if match:
            jobs = int(match.group(1))
            figures["plan_ms_per_job"] = 1000 * float(match.group(2)) / jobs
            figures["close_s"] = float(match.group(3))
        # Each job's time in procrastinate's log lines (every process logs into its own --log file), less the
        # time its server spent answering: what a job costs beyond the fetching itself.
        lasted = [float(m) for path in root.glob(f"*-{label}.log")
                  for m in re.findall(r"ended with status: \w+, lasted ([\d.]+) s", path.read_text(encoding="utf-8"))]
        busy = [sum(r.end - r.start for r in server.served) for server in servers if server.served]
        if lasted and busy:
            figures["job_s"] = sum(lasted) / len(lasted)
            figures["overhead_s_per_job"] = figures["job_s"] - sum(busy) / len(busy)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=3000)
    parser.add_argument("--hosts", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds each response is held back")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--concurrency", type=int, default=2, help="domain jobs at a time per worker process")
    parser.add_argument("--postgres", default=os.environ.get("POLICYWATCH_TEST_POSTGRES_URL"),
                        help="a PostgreSQL database URL; the benchmark's databases are made on its server")
    parser.add_argument("--no-single", action="store_true", help="skip the single-process night")
    args = parser.parse_args()
    if not args.postgres:
        raise SystemExit("needs a PostgreSQL server: --postgres postgresql+psycopg://user@127.0.0.1:5432/db "
                         "(or $POLICYWATCH_TEST_POSTGRES_URL)")
    per_host = [args.sources // args.hosts + (1 if h < args.sources % args.hosts else 0) for h in range(args.hosts)]
    db = Database(args.postgres)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="pw-bench-dist-") as tmp:
        root = Path(tmp)
        servers = serve(stack, args.hosts, per_host, args.latency)
        declarations(root / "sources.yaml", servers, per_host)
        (root / "news.yaml").write_text(yaml.safe_dump(NO_NEWS), encoding="utf-8")
        (root / "claims.yaml").write_text(yaml.safe_dump(EMPTY_CLAIMS), encoding="utf-8")
        print(f"{args.sources} sources on {args.hosts} hosts, {args.latency * 1000:.0f} ms per response, "
              f"{args.concurrency} domain jobs at a time per worker process; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if not args.no_single:
            single = night(db, root, servers, 1, args.concurrency, distributed=False)
            print(f"  one process (policywatch run): {single['wall']:.1f} s, {single['requests']} requests, "
                  f"{single['requests'] / single['wall']:.1f}/s, at most {single['peak']} request(s) at once "
                  f"per host")
        first: tuple[int, float] | None = None
        for workers in args.workers:
            f = night(db, root, servers, workers, args.concurrency, distributed=True)
            first = first or (workers, f["wall"])
            print(f"  {workers} worker process(es): {f['wall']:.1f} s ({first[1] / f['wall']:.2f}x the speed of "
                  f"{first[0]}), {f['requests']} requests, {f['requests'] / f['wall']:.1f}/s, at most {f['peak']} "
                  f"request(s) at once per host; coordinator {f.get('plan_ms_per_job', float('nan')):.1f} ms per "
                  f"job to plan and queue, {f.get('close_s', float('nan')):.2f} s to close; a job lasts "
                  f"{f.get('job_s', float('nan')):.2f} s, {f.get('overhead_s_per_job', float('nan')):.2f} s of it "
                  f"beyond its server's answers")


if __name__ == "__main__":
    main()
