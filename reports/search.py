"""The site's full-text search index, built by Pagefind (an optional extra: `pip install -e '.[search]'`).

Pagefind reads the written pages and writes a static index into
`pagefind/` beside them: the search page queries it in the browser, from any
web server, with no service behind it. Only version, change and claim pages
are indexed (their templates mark the indexed part and its filters: vendor,
document type, language, flag or claim topic, page kind).

Without a runnable Pagefind binary the site is built all the same and the
search page says why it cannot search. The index is rebuilt only when a
build wrote something, into a fresh directory swapped in at the end, so
a reader never sees half an index.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

INDEX_DIR = "pagefind"
INSTALL_HINT = "pip install -e '.[search]' (the pagefind package ships its binary)"
TIMEOUT_SECONDS = 1800


@dataclass(frozen=True)
class SearchIndex:
    built: bool  # written by this build
    available: bool  # an index is in place
    note: str  # what happened, for the build's output
    seconds: float = 0.0


def pagefind_binary() -> Path | None:
    """The Pagefind executable shipped by the `pagefind_bin_extended` or `pagefind_bin` package, or on PATH."""
    for module in ("pagefind_bin_extended", "pagefind_bin"):
        try:
            package = __import__(module)
            return Path(package.get_executable())
        except (ImportError, FileNotFoundError):
            continue
    found = shutil.which("pagefind_extended") or shutil.which("pagefind")
    return Path(found) if found else None


def pagefind_problem() -> str | None:
    """Why the site cannot get a search index here, or None."""
    binary = pagefind_binary()
    if binary is None:
        return f"Pagefind is not installed: {INSTALL_HINT}"
    try:
        subprocess.run([str(binary), "--version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the Pagefind binary {binary} cannot run here ({type(exc).__name__}: {exc})"
    return None


def build_index(out: Path, anything_written: bool) -> SearchIndex:
    index = out / INDEX_DIR
    present = (index / "pagefind.js").is_file()
    if present and not anything_written:
        return SearchIndex(False, True, "search index: up to date")
    problem = pagefind_problem()
    if problem is not None:
        return SearchIndex(False, present, f"search index: not built: {problem}")
    started = perf_counter()
    fresh = out / f".{INDEX_DIR}.new"
    shutil.rmtree(fresh, ignore_errors=True)
    command = [str(pagefind_binary()), "--site", str(out), "--output-path", str(fresh), "--silent"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        shutil.rmtree(fresh, ignore_errors=True)
        return SearchIndex(False, present, f"search index: not built: Pagefind took more than {TIMEOUT_SECONDS} s")
    if done.returncode != 0 or not (fresh / "pagefind.js").is_file():
        shutil.rmtree(fresh, ignore_errors=True)
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return SearchIndex(False, present, f"search index: not built: Pagefind failed: {detail[0]}")
    old = out / f".{INDEX_DIR}.old"
    shutil.rmtree(old, ignore_errors=True)
    if index.exists():
        index.rename(old)
    fresh.rename(index)
    shutil.rmtree(old, ignore_errors=True)
    seconds = perf_counter() - started
    return SearchIndex(True, True, f"search index: built in {seconds:.1f} s", seconds)
