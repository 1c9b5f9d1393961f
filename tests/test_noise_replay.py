"""Replaying real OpenAI histories full of per-request link noise through `policywatch import`.

The ChatGPT Business Privacy Policy and Commercial Terms series in
../shared/ota-data have about 100 versions each, most of them differing only
by `?openaicom-did=<uuid>` link parameters. With the shipped filters, only
real wording changes may remain.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from conftest import version_texts

SERIES = [(c, d) for c in ("genai-contrib", "genai-eu") for d in ("Business Privacy Policy", "Commercial Terms")]
FILTERS = ["tracking-params", "opens-in-new-window", "relative-dates", "typography"]


def words(markdown: str) -> list[str]:
    text = re.sub(r"\]\([^)]*\)", "]", markdown)
    return re.sub(r"[^\w\s]", " ", text.lower()).split()


@pytest.mark.parametrize("collection,document", SERIES, ids=[f"{c}-{d}" for c, d in SERIES])
def test_noisy_history_keeps_only_real_changes(shared: Path, make_cli, tmp_path: Path, collection: str, document: str) -> None:  # type: ignore[no-untyped-def]
    versions_dir = shared / "ota-data" / "versions"
    rows = [r for r in csv.DictReader((versions_dir / "index.csv").open(encoding="utf-8"))
            if r["collection"] == collection and r["service"] == "ChatGPT" and r["document_type"] == document]
    assert len(rows) > 90
    sid = "ota/" + document.lower().replace(" ", "-")
    decl = tmp_path / "sources.yaml"
    decl.write_text(yaml.safe_dump({"sources": [{
        "id": sid, "vendor": "OpenAI", "title": document, "document_type": document, "language": "en",
        "urls": ["https://openai.com/policies/"], "filters": FILTERS}]}), encoding="utf-8")
    manifest = tmp_path / "replay.jsonl"
    manifest.write_text("".join(json.dumps({"source": sid, "at": r["fetch_date"],
                                            "path": str(versions_dir.parent / r["path"])}) + "\n" for r in rows))
    cli = make_cli(decl)
    # The shared history stays where it is: the manifest points at it, outside its own folder.
    cli("import", "--manifest", str(manifest), "--allow-outside")

    substantive = sum(1 for r in rows if r["noise_heuristic"] == "substantive_or_unknown")
    with sqlite3.connect(cli.db) as conn:
        texts = list(version_texts(cli.db).values())
        kinds = [k for (k,) in conn.execute("select kind from changes order by id")]
    assert len(texts) <= substantive + 1, f"{len(texts)} versions from {len(rows)} noisy ones"
    assert len(texts) <= 12
    for old, new, kind in zip(texts, texts[1:], kinds):
        # A new link target with the same words is recorded, as `formatting`: never announced as news.
        # A wording change back to an earlier text is a revert: recorded, not announced either.
        assert kind in (("substantive", "revert") if words(old) != words(new) else ("formatting",))
    assert not any("openaicom-did" in t for t in texts)
