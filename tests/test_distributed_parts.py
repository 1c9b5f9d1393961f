"""The parts of distributed nights that need no fleet: how a night is shared into jobs, what identifies a job's
declarations, the nightly lock on PostgreSQL, and what `--distributed` says on SQLite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO, write_declarations
from ingest.declarations import load_file
from ingest.domains import declarations_digest, plan_jobs

CASES = yaml.safe_load((REPO / "tests" / "data" / "domains" / "jobs.yaml").read_text(encoding="utf-8"))["cases"]
URL = os.environ.get("POLICYWATCH_TEST_POSTGRES_URL")


def declare(path: Path, sources: list[dict[str, Any]]) -> Path:
    return write_declarations(path, "", sources)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_a_night_is_shared_into_one_job_per_domain_and_region(case: dict[str, Any], tmp_path: Path) -> None:
    sources = load_file(declare(tmp_path / "sources.yaml", case["sources"]))
    jobs = [{"domain": j.domain, "region": j.region, "queue": j.queue, "sources": list(j.source_ids)}
            for j in plan_jobs(sources)]
    assert jobs == case["jobs"]


def test_a_jobs_declarations_are_identified_by_their_fields_not_their_file(tmp_path: Path) -> None:
    entry = {"id": "t/policy", "urls": ["https://example.org/privacy"], "select": "main"}
    here = load_file(declare(tmp_path / "here.yaml", [entry]))
    there = load_file(declare(tmp_path / "there.yaml", [entry]))
    changed = load_file(declare(tmp_path / "changed.yaml", [{**entry, "select": "article"}]))
    assert declarations_digest(here) == declarations_digest(there)
    assert declarations_digest(here) != declarations_digest(changed)


@pytest.mark.parametrize("command", [["run", "--distributed"], ["worker"]])
def test_distributed_nights_need_postgresql(command: list[str], make_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sources = declare(tmp_path / "sources.yaml", [{"id": "t/policy", "urls": ["http://127.0.0.1:9/p"]}])
    result = make_cli(sources)(*command, "--out", str(tmp_path / "site"), check=False) if command[0] == "run" \
        else make_cli(sources)(*command, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "needs a PostgreSQL database" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "site").exists()


@pytest.mark.postgres
@pytest.mark.skipif(not URL, reason="POLICYWATCH_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against "
                    "(.ci/run starts one)")
def test_the_nightly_lock_on_postgresql_keeps_a_second_run_out_until_the_first_lets_go() -> None:
    from storage.nightlock import AdvisoryLock, NightLockHeld

    assert URL is not None
    first, second = AdvisoryLock(URL), AdvisoryLock(URL)
    first.acquire()
    try:
        with pytest.raises(NightLockHeld, match=f"pid {os.getpid()}"):
            second.acquire()
    finally:
        first.release()
    second.acquire()
    second.release()
