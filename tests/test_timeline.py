"""The pictures' geometry (reports.timeline), fed data directly: buckets, the unit a strip is drawn at, where
each mark goes and what its title says, the month grid; cases in tests/data/timeline/cases.yaml."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from reports.timeline import (Event, EventKind, GridChange, StripSize, Unit, bucket, choose_unit, grid_row,
                              months_ending, strip)

CASES = yaml.safe_load((Path(__file__).parent / "data" / "timeline" / "cases.yaml").read_text(encoding="utf-8"))


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def event(data: dict[str, Any]) -> Event:
    return Event(when(data["at"]), EventKind(data["kind"]), data.get("label", data["kind"]), data.get("href", "#"),
                 data.get("severity", "none"), bool(data.get("announced", False)), data.get("failure_kind", ""))


def series(specs: list[dict[str, Any]]) -> list[Event]:
    found = []
    for spec in specs:
        start = when(spec["start"])
        for i in range(spec["count"]):
            found.append(event({**spec, "at": (start + timedelta(hours=spec["every_hours"] * i)).isoformat(),
                                "href": f"{spec['kind']}/{i}"}))
    return found


@pytest.mark.parametrize("case", CASES["bucket"], ids=lambda c: f"{c['unit']}-{c['at']}")
def test_bucket(case: dict[str, Any]) -> None:
    start, end = (when(case[k]) if k in case else None for k in ("start", "end"))
    first, after, name = bucket(when(case["at"]), Unit(case["unit"]), start, end, case.get("spans", 1))
    assert (first, after, name) == (when(case["first"]), when(case["after"]), case["name"])


@pytest.mark.parametrize("case", CASES["units"], ids=lambda c: c["name"])
def test_the_finest_unit_that_fits_is_chosen_and_the_strip_keeps_its_bound(case: dict[str, Any]) -> None:
    events = series(case["series"])
    assert choose_unit(events, case["limit"]) == Unit(case["unit"])
    drawn = strip(events, StripSize(width=160, height=22, limit=case["limit"]))
    assert drawn.unit == Unit(case["unit"])
    assert 0 < len(drawn.marks) <= case["limit"]
    assert all(0 <= m.x and m.x + m.width <= 160 + 1e-9 for m in drawn.marks), "every mark inside the box"
    assert {m.href for m in drawn.marks} <= {e.href for e in events}, "each mark links to one of its events"


@pytest.mark.parametrize("case", CASES["strips"], ids=lambda c: c["name"])
def test_strip_geometry_and_titles(case: dict[str, Any]) -> None:
    start, end = (when(case[k]) if k in case else None for k in ("start", "end"))
    drawn = strip([event(e) for e in case["events"]], StripSize(**case["size"]), start, end)
    assert drawn.unit == Unit(case["unit"])
    assert drawn.baseline == case["baseline"]
    assert drawn.summary == case["summary"]
    got = [{"kind": str(m.kind), "x": m.x, "y": m.y, "width": m.width, "height": m.height, "css": m.css,
            "href": m.href, "title": m.title, **({"points": m.points} if m.points else {})} for m in drawn.marks]
    assert got == case["marks"]


def test_a_source_with_3000_versions_draws_at_most_the_limit_on_the_index_and_links_its_worst_change() -> None:
    events = [Event(when("2024-01-01T00:00:00Z") + timedelta(hours=8 * i), EventKind.CHANGE, f"c{i}", f"c/{i}",
                    "high" if i == 1500 else "none") for i in range(3000)]
    drawn = strip(events, StripSize(width=160, height=22, limit=24))
    assert len(drawn.marks) <= 24
    worst = [m for m in drawn.marks if m.severity == "high"]
    assert [m.href for m in worst] == ["c/1500"] and worst[0] is drawn.marks[-1], "drawn last, on top"
    assert worst[0].height > max(m.height for m in drawn.marks if m.severity == "none")


@pytest.mark.parametrize("case", CASES["months"], ids=lambda c: c["last"])
def test_months_ending(case: dict[str, Any]) -> None:
    assert months_ending(when(case["last"]), case["count"]) == tuple(case["months"])


@pytest.mark.parametrize("case", CASES["grid"], ids=lambda c: c["name"])
def test_grid_row(case: dict[str, Any]) -> None:
    changes = [GridChange(when(c["at"]), c["severity"], c["announced"], c.get("label", ""), c.get("href", ""))
               for c in case["changes"]]
    failures = [(when(f), False) if isinstance(f, str) else (when(f["at"]), f["imported"]) for f in case["failures"]]
    row = grid_row(case["label"], "doc.html", changes, failures, case["months"])
    assert row.changes == case["total"]
    assert [{"month": c.month, "changes": c.changes, "failures": c.failures, "severity": c.severity,
             "letter": c.letter, "level": c.level, "active": c.active, "title": c.title, "summary": c.summary,
             "items": [[i.label, i.href] for i in c.items]} for c in row.cells] == case["cells"]
    plain = grid_row(case["label"], "doc.html", [c[:3] for c in changes], failures, case["months"])
    assert [c.title for c in plain.cells] == [c["title"] for c in case["cells"]], "(detected, severity, announced) too"
    assert all(not c.items for c in plain.cells), "nothing listed without a page to link"
