"""A policywatch process keeps freed memory for reuse (glibc): the blocks of one page are not faulted in again
for the next."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from policywatch.allocator import USER_SETTINGS, _glibc

pytestmark = pytest.mark.skipif(not _glibc(), reason="the thresholds are glibc's; this C library is not glibc")

# Blocks of a page's size allocated, filled and freed in turn, in a thread (the recording thread's heap) and in
# the main thread, as a night does; the page faults they cost after the first round.
PAGES = textwrap.dedent("""\
    import json, resource, sys, threading
    {setup}
    def pages():
        for _ in range(200):
            page = b"x" * 900_000
            joined = page + b"y" * 300_000
            del page, joined
    def faults(run):
        run()  # the first round may fault: memory the process has not had yet
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        run()
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    def threaded():
        worker = threading.Thread(target=pages)
        worker.start()
        worker.join()
    print(json.dumps({{"set": {set}, "main": faults(pages), "thread": faults(threaded)}}))
    """)


def _run(setup: str, set_: str, **env: str) -> dict:
    code = PAGES.format(setup=setup, set=set_)
    clean = {k: v for k, v in os.environ.items() if k not in USER_SETTINGS and k != "GLIBC_TUNABLES"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**clean, **env})
    return json.loads(done.stdout)


def test_freed_pages_are_reused_instead_of_faulted_in_again():
    default = _run("", "None")
    kept = _run("from policywatch.allocator import keep_freed_memory\nkept = keep_freed_memory()", "kept")
    assert kept["set"] is True
    # 200 blocks of 0.9 and 1.2 MB: each is about 500 pages of 4 KB when it comes from the kernel.
    assert default["main"] > 50_000, default
    assert kept["main"] < 2_000 and kept["thread"] < 2_000, kept
    assert kept["thread"] < default["thread"], (kept, default)


@pytest.mark.parametrize("env", [{"MALLOC_TRIM_THRESHOLD_": "131072"}, {"MALLOC_MMAP_THRESHOLD_": "131072"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072"}])
def test_thresholds_the_user_set_stand(env: dict[str, str]):
    result = _run("from policywatch.allocator import keep_freed_memory\nkept = keep_freed_memory()", "kept", **env)
    assert result["set"] is False
    # glibc took the user's small thresholds: the blocks come from the kernel each time, as the user asked.
    assert result["main"] > 50_000, result


def test_another_glibc_tunable_leaves_them_to_policywatch():
    result = _run("from policywatch.allocator import keep_freed_memory\nkept = keep_freed_memory()", "kept",
                  GLIBC_TUNABLES="glibc.malloc.arena_max=2")
    assert result["set"] is True
    assert result["main"] < 2_000, result


def test_every_policywatch_process_and_scrapy_crawl_set_them(tmp_path):
    # The command line sets them before anything else, and so does the settings module Scrapy's own commands load.
    code = textwrap.dedent("""\
        import sys
        import policywatch.allocator as allocator
        calls = []
        real = allocator.keep_freed_memory
        allocator.keep_freed_memory = lambda: calls.append(real()) or calls[-1]
        import policywatch.cli as cli
        try:
            cli.main(["--help"])
        except SystemExit:
            pass
        import policywatch.scrapy_settings
        print(calls)
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=tmp_path, env={k: v for k, v in os.environ.items()
                                             if k not in USER_SETTINGS and k != "GLIBC_TUNABLES"})
    assert done.stdout.strip().splitlines()[-1] == "[True, True]"
