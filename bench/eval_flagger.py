"""Measure the flagger against the OPP-115 development set.

Runs ``analysis.classify.classify`` over ../shared/labelled/opp115-dev.jsonl
(or ``$POLICYWATCH_SHARED/labelled/opp115-dev.jsonl``) and prints true and
false positives, false negatives, precision, recall and F1 per category,
with this mapping from OPP-115 labels to flag categories:

    retention  <- retention
    sharing    <- sharing
    controls   <- choice or access_deletion
    training   <- training_or_use (a loose proxy: OPP-115 has no training label)

``sensitive`` and ``legal`` have no OPP-115 label; the script says so and
prints how many segments they flag. Exits 0 with "skipped: …" when the data
set is absent. The data set is for measurement only and is never copied into
the project.

Usage: python bench/eval_flagger.py [--errors CATEGORY] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.classify import classify  # noqa: E402

MAPPING: dict[str, tuple[str, ...]] = {
    "retention": ("retention",),
    "training": ("training_or_use",),
    "sharing": ("sharing",),
    "controls": ("choice", "access_deletion"),
}
UNLABELLED = ("sensitive", "legal")
TARGETS = {"retention": "F1 >= 0.75, recall >= 0.85", "sharing": "F1 >= 0.75", "controls": "F1 >= 0.65",
           "training": "loose proxy, reported only"}


def shared_dir() -> Path:
    env = os.environ.get("POLICYWATCH_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", choices=sorted(MAPPING), help="print false positives and negatives of a category")
    parser.add_argument("--limit", type=int, default=40, help="how many errors of each kind to print")
    args = parser.parse_args()

    path = shared_dir() / "labelled" / "opp115-dev.jsonl"
    if not path.is_file():
        print(f"skipped: {path} not found (set POLICYWATCH_SHARED to the shared directory)")
        return 0
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    print("Flagger evaluation on the OPP-115 development set")
    print("Data: OPP-115 corpus, Wilson et al., \"The Creation and Analysis of a Website Privacy Policy")
    print("Corpus\", ACL 2016 (research use only; never shipped).")
    print(f"{len(rows)} segments from {len({r['policy_id'] for r in rows})} policies; language fixed to English.\n")

    counts = {c: [0, 0, 0] for c in (*MAPPING, *UNLABELLED)}
    errors: dict[str, list[tuple[str, str]]] = {"FP": [], "FN": []}
    start = time.perf_counter()
    predictions = [classify(row["text"], "en").flags for row in rows]
    elapsed = time.perf_counter() - start
    for row, flags in zip(rows, predictions):
        for category, labels in MAPPING.items():
            gold = any(bool(row.get(label)) for label in labels)
            predicted = category in flags
            tp, fp, fn = counts[category]
            counts[category] = [tp + (gold and predicted), fp + (predicted and not gold), fn + (gold and not predicted)]
            if args.errors == category and gold != predicted:
                errors["FP" if predicted else "FN"].append((row["id"], row["text"]))
        for category in UNLABELLED:
            counts[category][0] += category in flags

    print(f"{'category':<10} {'TP':>5} {'FP':>5} {'FN':>5} {'P':>6} {'R':>6} {'F1':>6}  OPP-115 label(s); target")
    for category in MAPPING:
        tp, fp, fn = counts[category]
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        labels = " or ".join(MAPPING[category])
        print(f"{category:<10} {tp:>5} {fp:>5} {fn:>5} {precision:>6.3f} {recall:>6.3f} {f1:>6.3f}  {labels}; {TARGETS[category]}")
    for category in UNLABELLED:
        print(f"{category:<10} no OPP-115 label: not evaluated ({counts[category][0]} segments flagged)")
    print(f"\ntime: {elapsed * 1000 / len(rows):.3f} ms per segment ({elapsed:.2f} s for {len(rows)} segments, one process)")

    if args.errors:
        for kind in ("FP", "FN"):
            print(f"\n--- {args.errors} {kind} ({len(errors[kind])}) ---")
            for ident, text in errors[kind][: args.limit]:
                print(f"[{ident}] {text[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
