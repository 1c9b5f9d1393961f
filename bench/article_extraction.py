"""News article extraction: F1 and milliseconds per page on the shared article benchmark.

    python bench/article_extraction.py [--repeat N] [--folds K]

Reads the 181 pages of ../shared/article-benchmark (or $POLICYWATCH_SHARED/
article-benchmark), extracts each with ``ingest.news.article.extract_article``
(trafilatura in precision mode, the page's dates, language detection,
correction notices) and, for comparison on the same machine, with plain
``trafilatura.extract(favor_precision=True)``. The benchmark's own scorer
(``evaluate.py``) is copied with the ground truth into a temporary directory
and run there; nothing of the benchmark is written into the repository.

Speed: one process pinned to one core, each page extracted once to warm up
and then N times; the figure is the mean over pages of each page's median.
Accuracy: the scorer's F1 with its bootstrap spread, and the F1 of K folds
split by document (min–max).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import trafilatura  # noqa: E402

from ingest.news.article import NoArticleText, extract_article  # noqa: E402
from ingest.news.declarations import load_news  # noqa: E402
from ingest.news.page import Page  # noqa: E402

Extractor = Callable[[bytes, str], str]


def benchmark_dir() -> Path:
    configured = os.environ.get("POLICYWATCH_SHARED")
    base = Path(configured) if configured else REPO.parent / "shared"
    return base / "article-benchmark"


def ours() -> Extractor:
    markers = load_news().markers

    def run(html: bytes, url: str) -> str:
        try:
            return extract_article(Page(html, url), markers=markers).text
        except NoArticleText:
            return ""
    return run


def plain_trafilatura(html: bytes, url: str) -> str:
    return trafilatura.extract(html, url=url, favor_precision=True) or ""


def measure(name: str, extractor: Extractor, pages: dict[str, tuple[bytes, str]], repeat: int
            ) -> tuple[dict[str, dict[str, str]], float]:
    output: dict[str, dict[str, str]] = {}
    per_page: list[float] = []
    for key, (html, url) in pages.items():
        output[key] = {"articleBody": extractor(html, url)}
        timings = []
        for _ in range(repeat):
            start = time.perf_counter()
            extractor(html, url)
            timings.append(time.perf_counter() - start)
        per_page.append(statistics.median(timings))
    print(f"{name}: {1000 * statistics.mean(per_page):.1f} ms per page (mean of per-page medians, "
          f"{len(pages)} pages, {repeat} runs each)", flush=True)
    return output, 1000 * statistics.mean(per_page)


def folds(scorer: object, truth: dict[str, dict[str, str]], prediction: dict[str, dict[str, str]], k: int
          ) -> list[float]:
    keys = sorted(truth)
    scores = []
    for fold in range(k):
        part = [key for i, key in enumerate(keys) if i % k == fold]
        counts = [scorer.string_shingle_matching(true=truth[key].get("articleBody", ""),  # type: ignore[attr-defined]
                                                 pred=prediction[key].get("articleBody", "")) for key in part]
        scores.append(scorer.metrics_from_tp_fp_fns(counts)["f1"])  # type: ignore[attr-defined]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    source = benchmark_dir()
    if not (source / "evaluate.py").is_file():
        sys.exit(f"no article benchmark at {source}: set POLICYWATCH_SHARED")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    truth = json.loads((source / "ground-truth.json").read_text(encoding="utf-8"))
    pages = {key: (gzip.decompress((source / "html" / f"{key}.html.gz").read_bytes()), entry.get("url") or "")
             for key, entry in truth.items()}
    with tempfile.TemporaryDirectory(prefix="pw-article-bench-") as tmp:
        work = Path(tmp)
        shutil.copy(source / "evaluate.py", work / "evaluate.py")
        shutil.copy(source / "ground-truth.json", work / "ground-truth.json")
        (work / "output").mkdir()
        spec = importlib.util.spec_from_file_location("article_benchmark_evaluate", work / "evaluate.py")
        assert spec is not None and spec.loader is not None
        scorer = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(scorer)
        for name, extractor in (("policywatch", ours()), ("trafilatura-precision", plain_trafilatura)):
            prediction, _ = measure(name, extractor, pages, args.repeat)
            (work / "output" / f"{name}.json").write_text(json.dumps(prediction), encoding="utf-8")
            scores = folds(scorer, truth, prediction, args.folds)
            print(f"{name}: F1 per fold ({args.folds} folds by document): "
                  + ", ".join(f"{s:.3f}" for s in scores) + f"; min–max {min(scores):.3f}–{max(scores):.3f}")
        print(flush=True)
        subprocess.run([sys.executable, "evaluate.py", "--n-bootstrap", "1000"], cwd=work, check=True)


if __name__ == "__main__":
    main()
