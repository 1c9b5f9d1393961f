"""Measure the flagger on both labelled development sets, split by policy into folds.

Classifies every passage of ../shared/labelled/opp115-dev.jsonl and
gdpr200-dev.jsonl (or ``$POLICYWATCH_SHARED/labelled/…``, as
``policywatch.reference_data`` finds them) with ``analysis.classify`` (English) and compares the flags with the
labels, with this mapping from labels to flag categories:

    retention  <- retention
    sharing    <- sharing
    controls   <- choice or access_deletion
    training   <- training_or_use (OPP-115 only; a loose proxy, reported only)

``sensitive`` and ``legal`` have no label in either set: only their hit counts
are printed.

A passage is given to the flagger as the Markdown the extractor would make
of it: a GDPR-200 ``headline`` becomes a heading (``## …``), a ``list_item``
a bullet (``* …``); OPP-115 segments are plain paragraphs.

Folds. The policies of a set (``policy_id`` for OPP-115, ``app`` for
GDPR-200) are ordered by the SHA-256 of their id and dealt round-robin into
5 folds, so every passage of a policy lands in the same fold and the split
never depends on the rules. Per category the script prints precision, recall
and F1 pooled over the selected folds and, across folds, the mean, standard
deviation and range of F1 (and the mean precision and recall).

Rules. Every rule is also run on its own on every sentence the flagger
classifies: ``hits`` counts the passages where it matches, ``prec`` the
share of those labelled with its category, and ``alone``/``aprec`` the same
for passages where no other rule of the category matches (what removing the
rule would lose or gain). Rules of unlabelled categories show hits only.

``--folds 0,1,2`` restricts everything to some folds (develop on some, check
the others at the end); ``--errors CATEGORY`` prints false positives and
false negatives with the rules that fired; ``--rule ID`` prints the passages a
rule hits. Exits 0 with "skipped: …" when the data sets are absent. The data
sets are for measurement only and are never copied into the project.

Usage: python bench/eval_flagger.py [--set opp115|gdpr200] [--folds 0,1,2]
                                    [--errors CATEGORY] [--rule ID] [--limit N] [--no-rules]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.classify import classify_units, matching_rules  # noqa: E402
from analysis.evidence import order_categories  # noqa: E402
from analysis.rules import language_data  # noqa: E402
from analysis.sentences import split_units  # noqa: E402
from policywatch.reference_data import shared_dir  # noqa: E402

FOLDS = 5
# Pseudo rule id for flags a list item takes from the sentence introducing its list.
LEAD = "(from lead-in)"
LABELLED = ("retention", "training", "sharing", "controls")
UNLABELLED = ("sensitive", "legal")
TARGETS = {"retention": "F1 >= 0.70, R >= 0.80", "sharing": "F1 >= 0.70", "controls": "F1 >= 0.65",
           "training": "proxy, reported only"}


@dataclass(frozen=True)
class LabelledSet:
    name: str
    file: str
    document_field: str
    mapping: dict[str, tuple[str, ...]]
    citation: str


SETS = {
    "opp115": LabelledSet(
        name="OPP-115",
        file="opp115-dev.jsonl",
        document_field="policy_id",
        mapping={"retention": ("retention",), "training": ("training_or_use",), "sharing": ("sharing",),
                 "controls": ("choice", "access_deletion")},
        citation='Wilson et al., "The Creation and Analysis of a Website Privacy Policy Corpus", ACL 2016',
    ),
    "gdpr200": LabelledSet(
        name="GDPR-200",
        file="gdpr200-dev.jsonl",
        document_field="app",
        mapping={"retention": ("retention",), "sharing": ("sharing",), "controls": ("choice", "access_deletion")},
        citation="Cory et al., GDPR-Transparency-200, PoPETs 2026.1",
    ),
}


def fold_of(documents: Sequence[object]) -> dict[str, int]:
    """Fold of each document id (as a string): ordered by SHA-256 of the id, dealt round-robin."""
    ordered = sorted({str(d) for d in documents}, key=lambda d: hashlib.sha256(d.encode("utf-8")).hexdigest())
    return {d: i % FOLDS for i, d in enumerate(ordered)}


def as_markdown(row: dict) -> str:
    kind = row.get("passage_type")
    if kind == "headline":
        return "## " + row["text"]
    if kind == "list_item":
        return "* " + row["text"]
    return row["text"]


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: bool, predicted: bool) -> None:
        self.tp += gold and predicted
        self.fp += predicted and not gold
        self.fn += gold and not predicted

    def scores(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class RuleCounts:
    hits: int = 0
    correct: int = 0
    alone: int = 0
    alone_correct: int = 0


@dataclass
class Passage:
    row: dict
    fold: int
    gold: dict[str, bool]
    flags: tuple[str, ...] = ()
    rules: dict[str, set[str]] = field(default_factory=dict)


def _units_per_passage(markdown: list[str]) -> list[int]:
    return [len(split_units(part, "en")) for part in markdown]


def evaluate(labelled: LabelledSet, rows: list[dict], folds: set[int], with_rules: bool) -> list[Passage]:
    """Classify each policy as one Markdown document and give every passage the flags of its units.

    A list item is read with the sentence introducing its list, so a
    passage's flags can depend on the passage before it, as in a real document.
    """
    fold = fold_of([r[labelled.document_field] for r in rows])
    data = language_data("en")
    category_of = {rule.id: rule.category for rule in data.rules}
    documents: dict[str, list[dict]] = {}
    for row in rows:
        documents.setdefault(str(row[labelled.document_field]), []).append(row)
    passages = []
    for document, members in documents.items():
        if fold[document] not in folds:
            continue
        markdown = [as_markdown(row) for row in members]
        units = classify_units("\n\n".join(markdown), "en")
        counts = _units_per_passage(markdown)
        if sum(counts) != len(units):
            raise SystemExit(f"{labelled.name} {document}: passages do not split into the document's units")
        offset = 0
        for row, count in zip(members, counts):
            gold = {c: any(bool(row.get(label)) for label in labels) for c, labels in labelled.mapping.items()}
            mine = units[offset : offset + count]
            offset += count
            evidence = [e for _, found in mine for e in found]
            passage = Passage(row, fold[document], gold, order_categories([e.category for e in evidence]))
            if with_rules:
                for unit, found in mine:
                    if not unit.kind.states:
                        continue
                    for rule_id in matching_rules(unit.text, "en"):
                        passage.rules.setdefault(category_of[rule_id], set()).add(rule_id)
                    for e in found:
                        if e.lead is not None:
                            passage.rules.setdefault(e.category, set()).add(f"{LEAD}.{e.category}")
            passages.append(passage)
    return passages


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ±{sd:.3f} [{min(values):.3f}–{max(values):.3f}]"


def report(labelled: LabelledSet, passages: list[Passage], folds: list[int]) -> None:
    categories = [c for c in LABELLED if c in labelled.mapping]
    print(f"{'category':<10} {'TP':>5} {'FP':>5} {'FN':>5} {'P':>6} {'R':>6} {'F1':>6}   "
          f"{'fold F1 mean ±sd [min–max]':<31} {'fold P':>6} {'fold R':>6}  label(s); target")
    for category in categories:
        pooled = Counts()
        per_fold = {f: Counts() for f in folds}
        for p in passages:
            predicted = category in p.flags
            pooled.add(p.gold[category], predicted)
            per_fold[p.fold].add(p.gold[category], predicted)
        precision, recall, f1 = pooled.scores()
        fold_scores = [per_fold[f].scores() for f in folds]
        labels = " or ".join(labelled.mapping[category])
        print(f"{category:<10} {pooled.tp:>5} {pooled.fp:>5} {pooled.fn:>5} {precision:>6.3f} {recall:>6.3f} {f1:>6.3f}   "
              f"{spread([s[2] for s in fold_scores]):<31} {statistics.mean(s[0] for s in fold_scores):>6.3f} "
              f"{statistics.mean(s[1] for s in fold_scores):>6.3f}  {labels}; {TARGETS[category]}")
    for category in (*UNLABELLED, *(c for c in LABELLED if c not in labelled.mapping)):
        flagged = sum(category in p.flags for p in passages)
        print(f"{category:<10} no {labelled.name} label: not evaluated ({flagged} passages flagged)")


def rule_report(labelled: LabelledSet, passages: list[Passage]) -> None:
    stats: dict[str, RuleCounts] = {}
    for p in passages:
        for category, ids in p.rules.items():
            for rule_id in ids:
                counts = stats.setdefault(rule_id, RuleCounts())
                gold = p.gold.get(category, False)
                counts.hits += 1
                counts.correct += gold
                if len(ids) == 1:
                    counts.alone += 1
                    counts.alone_correct += gold
    print(f"\n{'rule':<40} {'hits':>5} {'prec':>6} {'alone':>6} {'aprec':>6}")
    rows = [(rule.id, rule.category) for rule in language_data("en").rules]
    rows += [(f"{LEAD}.{c}", c) for c in (*LABELLED, *UNLABELLED)]
    for rule_id, category in rows:
        counts = stats.get(rule_id, RuleCounts())
        if category in labelled.mapping:
            prec = f"{counts.correct / counts.hits:.3f}" if counts.hits else "-"
            aprec = f"{counts.alone_correct / counts.alone:.3f}" if counts.alone else "-"
        else:
            prec = aprec = ""
        print(f"{rule_id:<40} {counts.hits:>5} {prec:>6} {counts.alone:>6} {aprec:>6}")


def print_errors(passages: list[Passage], category: str, limit: int) -> None:
    for kind in ("FP", "FN"):
        chosen = [p for p in passages if category in p.gold
                  and (category in p.flags) != p.gold[category] and (kind == "FP") == (category in p.flags)]
        print(f"\n--- {category} {kind} ({len(chosen)}) ---")
        for p in chosen[:limit]:
            rules = ",".join(sorted(p.rules.get(category, ()))) or "-"
            print(f"[{p.row['id']}] ({rules}) {p.row['text'][:400]}")


def print_rule_hits(passages: list[Passage], rule_id: str, limit: int) -> None:
    chosen = [p for p in passages for ids in p.rules.values() if rule_id in ids]
    category = rule_id.split(".")[-1] if rule_id.startswith(LEAD) else rule_id.split(".")[1]
    print(f"\n--- passages hit by {rule_id} ({len(chosen)}) ---")
    for p in chosen[:limit]:
        mark = "+" if p.gold.get(category) else "-" if category in p.gold else "?"
        print(f"{mark} [{p.row['id']}] {p.row['text'][:400]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), action="append", help="only this set (repeatable)")
    parser.add_argument("--folds", default=",".join(str(f) for f in range(FOLDS)), help="comma-separated folds")
    parser.add_argument("--errors", choices=LABELLED, help="print false positives and negatives of a category")
    parser.add_argument("--rule", help="print the passages a rule hits")
    parser.add_argument("--limit", type=int, default=40, help="how many passages of each kind to print")
    parser.add_argument("--no-rules", action="store_true", help="skip the per-rule table (faster)")
    args = parser.parse_args()
    folds = sorted({int(f) for f in args.folds.split(",")})
    if not set(folds) <= set(range(FOLDS)):
        parser.error(f"--folds: folds are 0 to {FOLDS - 1}")

    names = args.set or list(SETS)
    shared = shared_dir()
    if shared is None:
        print("skipped: the shared reference data is not on this machine (set POLICYWATCH_SHARED to the shared directory)")
        return 0
    paths = {name: shared / "labelled" / SETS[name].file for name in names}
    missing = [p for p in paths.values() if not p.is_file()]
    if missing:
        print(f"skipped: {missing[0]} not found")
        return 0
    with_rules = not args.no_rules or bool(args.errors) or bool(args.rule)
    for name in names:
        labelled = SETS[name]
        rows = [json.loads(line) for line in paths[name].read_text(encoding="utf-8").splitlines() if line.strip()]
        start = time.perf_counter()
        passages = evaluate(labelled, rows, set(folds), with_rules)
        elapsed = time.perf_counter() - start
        documents = {p.row[labelled.document_field] for p in passages}
        print(f"== {labelled.name} development set ({labelled.citation}; measured only, never shipped)")
        print(f"{len(passages)} passages from {len(documents)} policies in folds {','.join(map(str, folds))} "
              f"of {FOLDS} (split by policy); English; {elapsed:.1f} s")
        report(labelled, passages, folds)
        if not args.no_rules:
            rule_report(labelled, passages)
        if args.errors and args.errors in labelled.mapping:
            print_errors(passages, args.errors, args.limit)
        if args.rule:
            print_rule_hits(passages, args.rule, args.limit)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
