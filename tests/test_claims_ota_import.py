"""OpenAI's real privacy-policy history through `policywatch import`: the six claims of the article end as the
engine's folded history says (tests/test_claims_ota.py), through the real recording path.

Reads ../shared/ota-data (or $POLICYWATCH_SHARED/ota-data); skips when absent. The series changed what it
tracked twice; each part is imported under the declaration of its time, as a user whose declarations
changed would have recorded it (tests/data/claims/ota-import.yaml).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml

from claims_support import ClaimsCLI
from ingest.claims_declarations import BUNDLED_CLAIMS
from ota_series import privacy_source_id, series

CASES = yaml.safe_load((Path(__file__).parent / "data" / "claims" / "ota-import.yaml").read_text("utf-8"))
SOURCE = "openai/chatgpt-privacy-policy"


def test_importing_the_real_history_gives_the_article_claims_their_recorded_timeline(shared: Path,
                                                                                      tmp_path: Path) -> None:
    rows = series(shared / "ota-data")[privacy_source_id()]
    parts = CASES["declarations"]
    cli = ClaimsCLI(tmp_path, tmp_path / "none.yaml", BUNDLED_CLAIMS)
    for index, part in enumerate(parts):
        start = dt.date.fromisoformat(str(part["from"]))
        end = dt.date.fromisoformat(str(parts[index + 1]["from"])) if index + 1 < len(parts) else dt.date.max
        chosen = [r for r in rows if start <= r.at.date() < end]
        manifest = tmp_path / f"part-{index}.jsonl"
        manifest.write_text("".join(json.dumps({"source": SOURCE, "at": r.at.isoformat(), "path": str(r.path)}) + "\n"
                                    for r in chosen), encoding="utf-8")
        cli.sources = tmp_path / f"sources-{index}.yaml"
        cli.sources.write_text(yaml.safe_dump({"sources": [{
            "id": SOURCE, "vendor": "OpenAI", "title": "ChatGPT privacy policy", "document_type": "Privacy Policy",
            "language": "en", "urls": part["urls"]}]}), encoding="utf-8")
        cli("import", "--manifest", str(manifest), "--allow-outside", timeout=600)
    assert [version for (version,) in cli.sql("select version from tracking_changes order by at")] == [
        number for (number,) in cli.sql(
            "select number from versions where substr(first_seen, 1, 10) in ('2024-06-10', '2025-07-31') "
            "order by number")], "the first version under each new declaration is a tracking change"
    for claim_id, expected in CASES["timelines"].items():
        got = [[e["since"][:10], e["status"], e["announce"]] for e in cli.show(claim_id)["timeline"]]
        assert got == [[str(d), s, a] for d, s, a in expected], claim_id
    statuses = {c["id"]: c["status"] for c in cli.json("claims")}
    assert statuses["openai/advises-against-sensitive-photos"] == "unverified"
    assert cli.sql("select count(*) from claim_errors") == [(0,)]
