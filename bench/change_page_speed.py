"""What building one large change page costs: OpenAI's privacy policy change of 2024-11-05.

The genai-contrib history of ChatGPT's privacy policy (../shared/ota-data) is
imported with `policywatch import --manifest` into a fresh SQLite file, as
the README's "Importing archives" describes; then the change page whose new
version was first seen on --date is built again and again: its diff, its
views, its evidence and the template, as `report` does for a page it writes.
Prints the median and the page's size, the moves shown and the evidence in
each group.

    .venv/bin/python bench/change_page_speed.py [--date 2024-11-05] [--repeat 15]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from policywatch.reference_data import shared_path  # noqa: E402
from reports import pages  # noqa: E402
from reports.data import load_record, load_texts  # noqa: E402
from reports.render import render  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402

SERIES = ("genai-contrib", "ChatGPT", "Privacy Policy")
DECLARATIONS = """sources:
  - id: openai/privacy-policy
    vendor: OpenAI
    title: Privacy Policy
    document_type: Privacy Policy
    language: en
    urls: ["https://openai.com/policies/privacy-policy/"]
"""


def imported(folder: Path) -> Path:
    ota = shared_path("ota-data")
    with (ota / "versions" / "index.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if (r["collection"], r["service"], r["document_type"]) == SERIES]
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps({"source": "openai/privacy-policy", "at": r["fetch_date"],
                                            "path": str(ota / r["path"])}) + "\n" for r in rows), encoding="utf-8")
    (folder / "sources.yaml").write_text(DECLARATIONS, encoding="utf-8")
    (folder / "claims.yaml").write_text("claims: []\n", encoding="utf-8")
    db = folder / "policywatch.db"
    subprocess.run([sys.executable, "-m", "policywatch", "--db", str(db), "--sources", str(folder / "sources.yaml"),
                    "--claims", str(folder / "claims.yaml"), "-q", "import", "--manifest", str(manifest),
                    "--allow-outside"], check=True, cwd=folder, capture_output=True)
    return db


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default="2024-11-05", help="the day the change's new version was first seen")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = imported(Path(tmp))
        factory = session_factory(make_engine(f"sqlite:///{db}"))
        with factory() as session:
            record = load_record(session)
            (source,) = record.sources
            first_seen = {v.number: v.first_seen for v in source.versions}
            (page,) = [p for p in pages.change_pages(source, "https://example.org/")
                       if first_seen[p.context["change"].to_number].date().isoformat() == args.date]
            texts = load_texts(session, source.id, page.texts)
    change = page.context["change"]
    diff_times, page_times = [], []
    html = ""
    for _ in range(args.repeat):
        start = time.process_time()
        diff = pages.change_diff(page, texts)
        diff_times.append(time.process_time() - start)
        html = render(page.template, **pages.text_context(page, texts, diff))
        page_times.append(time.process_time() - start)
    print(f"change v{change.from_number} → v{change.to_number} ({args.date}), +{change.words_added} / "
          f"-{change.words_removed} words, {len(change.evidence())} evidence items")
    print(f"page built in {statistics.median(page_times) * 1000:.1f} CPU-ms (median of {args.repeat}), "
          f"of which the diff {statistics.median(diff_times) * 1000:.1f}; {len(html.encode()):,} bytes of HTML")
    groups = page.context["evidence"]
    if groups and hasattr(groups[0], "shown"):
        print(f"{getattr(diff, 'moves', 0)} moved paragraph(s); evidence by flag (shown + folded): "
              + ", ".join(f"{g.category} {len(g.shown)}+{len(g.folded)}" for g in groups))
    return 0


if __name__ == "__main__":
    sys.exit(main())
