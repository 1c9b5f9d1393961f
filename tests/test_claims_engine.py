"""Evidence intervals and claim status, step by step, on texts written for these tests."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest

from analysis.claims import (
    Cause,
    ClaimSet,
    ClaimState,
    ClaimStatus,
    EndReason,
    EngineState,
    EvidenceInterval,
    Role,
    SourceConfirmed,
    SourceFailed,
    SourceInfo,
    SourceState,
    SourceUndeclared,
    SourceVersion,
    StatusEvent,
    apply,
    describe,
    evaluate,
    evidence_at,
    reconcile,
    status_at,
)
from analysis.vocabulary import ChangeKind
from ingest.claims_declarations import load_claims

CLAIMS_YAML = r"""
claims:
  - id: testco/temporary-chats-30-days
    vendor: Testco
    statement: {en: Temporary chats are kept for at most 30 days.}
    evidence:
      supports:
        - id: kept
          en: {patterns: ['\btemporary chats\b(?:\W+\w+){0,8}?\W+(?:kept|deleted)\b']}
          expect: {max_days: 30}
  - id: testco/history-off
    vendor: Testco
    statement: {en: Users can turn off chat history.}
    evidence:
      supports:
        - id: turn-off
          en: {patterns: ['\bturn off (?:your )?chat history\b']}
      successors:
        - id: temporary
          en: {patterns: ['\btemporary chats\b(?:\W+\w+){0,4}?\W+not appear in (?:your )?history\b']}
  - id: testco/no-sale
    vendor: Testco
    statement: {en: Testco does not sell personal data.}
    evidence:
      supports:
        - id: no-sale
          en: {patterns: ['\bwe do not sell\b']}
      contradicts:
        - id: sells
          en: {patterns: ['\bwe (?:may )?sell (?:your )?personal data\b']}
          expect: {polarity: [affirmative, hedged]}
  - id: testco/training-with-opt-out
    vendor: Testco
    statement: {en: Content may train models and users can opt out.}
    evidence:
      supports:
        - id: trains
          en: {patterns: ['\bwe use (?:your )?content to train\b']}
        - id: opt-out
          en: {patterns: ['\bopt out of training\b']}
    require_all: [trains, opt-out]
"""

POLICY = SourceInfo("testco/policy", "Testco", "en")
HELP = SourceInfo("testco/help", "Testco", "en")

BASE = [
    "# Privacy",
    "We do not sell personal data.",
    "Temporary chats are kept for 30 days and then deleted.",
    "You can turn off chat history in the settings.",
    "We use your content to train our models.",
]


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> ClaimSet:
    path = tmp_path_factory.mktemp("claims") / "testco.yaml"
    path.write_text(CLAIMS_YAML, encoding="utf-8")
    return ClaimSet(load_claims(path))


def day(n: int) -> dt.datetime:
    return dt.datetime(2026, 1, 1, 6, tzinfo=dt.timezone.utc) + dt.timedelta(days=n - 1)


def text(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs) + "\n"


def version(number: int, at: int, body: str, source: SourceInfo = POLICY, kind: ChangeKind | None = None,
            declaration_changed: bool = False) -> SourceVersion:
    if kind is None and number > 1:
        kind = ChangeKind.SUBSTANTIVE
    return SourceVersion(source=source, number=number, at=day(at), text=body, change_kind=kind,
                         declaration_changed=declaration_changed)


def statuses(evaluation, claim_id: str) -> list[tuple[str, ClaimStatus, bool]]:  # type: ignore[no-untyped-def]
    return [(e.since.date().isoformat(), e.status, e.announce) for e in evaluation.timeline(claim_id)]


def test_a_longer_period_weakens_the_claim_and_the_event_quotes_old_and_new(claims: ClaimSet) -> None:
    v2 = text(*BASE).replace("kept for 30 days", "kept for 90 days")
    result = evaluate(claims, [version(1, 1, text(*BASE)), version(2, 3, v2)])
    assert statuses(result, "testco/temporary-chats-30-days") == [
        ("2026-01-01", ClaimStatus.SUPPORTED, False),
        ("2026-01-03", ClaimStatus.WEAKENED, True),
    ]
    event = result.timeline("testco/temporary-chats-30-days")[-1]
    assert (event.cause, event.source_id, event.version, event.previous) == (
        Cause.VENDOR_CHANGE, "testco/policy", 2, ClaimStatus.SUPPORTED)
    assert event.removed == ("Temporary chats are kept for 30 days and then deleted.",)
    assert event.added == ("Temporary chats are kept for 90 days and then deleted.",)
    old, new = result.intervals_of("testco/temporary-chats-30-days")
    assert old.end is not None and old.end.reason is EndReason.REWORDED
    assert old.end.successor == "Temporary chats are kept for 90 days and then deleted."
    assert (old.first.number, old.last.number, old.end.version) == (1, 1, 2)
    assert new.is_open and not new.expect_met and "expected at most 30 days" in new.failures[0]


def test_a_source_failing_for_a_night_changes_no_status_and_keeps_its_evidence(claims: ClaimSet) -> None:
    state, first = apply(claims, EngineState(), version(1, 1, text(*BASE)))
    before = dict(state.statuses)
    state, failed = apply(claims, state, SourceFailed("testco/policy", day(2), "timeout"))
    assert failed.events == () and failed.statuses == {}
    assert state.statuses == before
    assert state.sources["testco/policy"].failing_since == day(2)
    assert all(iv.is_open and iv.last_confirmed == day(1) for iv in state.open_intervals())
    view = describe(claims["testco/no-sale"], first.events, state.open_intervals(),
                    failing={"testco/policy": day(2)})
    assert view.status is ClaimStatus.SUPPORTED
    assert view.unconfirmed == (("testco/policy", day(2)),)
    state, confirmed = apply(claims, state, SourceConfirmed("testco/policy", day(3)))
    assert confirmed.events == () and state.statuses == before
    assert state.sources["testco/policy"].failing_since is None
    assert {iv.last_confirmed for iv in state.open_intervals()} == {day(3)}


def test_a_declaration_change_gives_tracking_changed_and_is_never_announced(claims: ClaimSet) -> None:
    other_page = text("# Privacy", "Temporary chats are kept for 30 days and then deleted.",
                      "We use your content to train our models.")
    result = evaluate(claims, [version(1, 1, text(*BASE)),
                               version(2, 2, other_page, declaration_changed=True)])
    assert statuses(result, "testco/no-sale") == [
        ("2026-01-01", ClaimStatus.SUPPORTED, False),
        ("2026-01-02", ClaimStatus.TRACKING_CHANGED, False),
    ]
    assert result.timeline("testco/no-sale")[-1].cause is Cause.TRACKING_CHANGE
    (no_sale,) = result.intervals_of("testco/no-sale")
    assert no_sale.end is not None and no_sale.end.reason is EndReason.TRACKING_CHANGED
    # Evidence the new page still holds carries on: same interval, status untouched.
    (kept,) = result.intervals_of("testco/temporary-chats-30-days")
    assert kept.is_open and (kept.first.number, kept.last.number) == (1, 2)
    assert statuses(result, "testco/temporary-chats-30-days") == [("2026-01-01", ClaimStatus.SUPPORTED, False)]


def test_a_technical_change_counts_as_a_change_of_tracking_not_of_wording(claims: ClaimSet) -> None:
    without = text(*[p for p in BASE if "sell" not in p])
    result = evaluate(claims, [version(1, 1, text(*BASE)), version(2, 2, without, kind=ChangeKind.TECHNICAL)])
    assert statuses(result, "testco/no-sale")[-1] == ("2026-01-02", ClaimStatus.TRACKING_CHANGED, False)


def test_an_undeclared_source_ends_its_evidence_without_flipping_to_no_longer_stated(claims: ClaimSet) -> None:
    result = evaluate(claims, [version(1, 1, text(*BASE)), SourceUndeclared("testco/policy", day(4))])
    assert statuses(result, "testco/history-off")[-1] == ("2026-01-04", ClaimStatus.TRACKING_CHANGED, False)
    assert {iv.end.reason for iv in result.intervals if iv.end} == {EndReason.SOURCE_UNDECLARED}
    assert result.state.sources["testco/policy"].declared is False


def test_dropped_wording_is_no_longer_stated_and_links_the_declared_successor(claims: ClaimSet) -> None:
    v2 = text("# Privacy", "We do not sell personal data.",
              "Temporary chats will not appear in your history and are deleted after 30 days.",
              "We use your content to train our models.")
    result = evaluate(claims, [version(1, 1, text(*BASE)), version(2, 5, v2)])
    assert statuses(result, "testco/history-off") == [
        ("2026-01-01", ClaimStatus.SUPPORTED, False),
        ("2026-01-05", ClaimStatus.NO_LONGER_STATED, True),
    ]
    ended = next(iv for iv in result.intervals_of("testco/history-off") if iv.role is Role.SUPPORTS)
    assert ended.end is not None and ended.end.reason is EndReason.REWORDED
    assert ended.end.successor == "Temporary chats will not appear in your history and are deleted after 30 days."
    view = describe(claims["testco/history-off"], result.timeline("testco/history-off"), result.intervals)
    assert view.status is ClaimStatus.NO_LONGER_STATED and view.since == day(5)
    assert [s.sentence for s in view.successors] == [ended.end.successor]
    assert view.current() == ()
    assert [iv.sentence for iv in view.evidence] == ["You can turn off chat history in the settings."]


def test_a_plain_removal_is_removed_and_a_return_is_supported_again(claims: ClaimSet) -> None:
    without = text(*[p for p in BASE if "sell" not in p])
    result = evaluate(claims, [version(1, 1, text(*BASE)), version(2, 2, without), version(3, 3, text(*BASE))])
    assert statuses(result, "testco/no-sale") == [
        ("2026-01-01", ClaimStatus.SUPPORTED, False),
        ("2026-01-02", ClaimStatus.NO_LONGER_STATED, True),
        ("2026-01-03", ClaimStatus.SUPPORTED, True),
    ]
    first, second = result.intervals_of("testco/no-sale")
    assert first.end is not None and first.end.reason is EndReason.REMOVED and first.end.successor is None
    assert second.first.number == 3 and second.is_open


def test_a_moved_and_reformatted_sentence_keeps_its_interval(claims: ClaimSet) -> None:
    moved = text("# Privacy", "Temporary chats are kept for 30 days and then deleted.",
                 "You can turn off chat history in the settings.", "We use your content to train our models.",
                 "## Sales", "We do *not* sell [personal data](https://testco.test/data).")
    result = evaluate(claims, [version(1, 1, text(*BASE)), version(2, 2, moved, kind=ChangeKind.FORMATTING)])
    (no_sale,) = result.intervals_of("testco/no-sale")
    assert no_sale.is_open and (no_sale.first.number, no_sale.last.number) == (1, 2)
    assert no_sale.sentence == "We do not sell personal data."
    assert all(len(result.timeline(c.id)) == 1 for c in claims)


def test_conflicting_and_require_all(claims: ClaimSet) -> None:
    v2 = text(*BASE, "In some cases we may sell your personal data to partners.")
    v3 = text(*BASE, "You can opt out of training at any time.")
    result = evaluate(claims, [version(1, 1, text(*BASE)), version(2, 2, v2), version(3, 3, v3)])
    assert [s for _, s, _ in statuses(result, "testco/no-sale")] == [
        ClaimStatus.SUPPORTED, ClaimStatus.CONFLICTING, ClaimStatus.SUPPORTED]
    assert [s for _, s, _ in statuses(result, "testco/training-with-opt-out")] == [
        ClaimStatus.WEAKENED, ClaimStatus.SUPPORTED]


def test_evaluation_is_deterministic_and_an_unchanged_version_changes_nothing(claims: ClaimSet) -> None:
    events = [version(1, 1, text(*BASE)), version(2, 3, text(*BASE).replace("30 days", "90 days"))]
    first, second = evaluate(claims, events), evaluate(claims, events)
    assert first.intervals == second.intervals and first.timelines == second.timelines
    state = first.state
    same_words = replace(events[-1], number=3, at=day(9), text=events[-1].text.replace("We use", "We  use"),
                         change_kind=ChangeKind.FORMATTING)
    after, update = apply(claims, state, same_words)
    assert update.events == () and update.step.opened == () and update.step.closed == ()
    assert after.statuses == state.statuses
    # The same version again cannot be read in its place: it is left out, an error of each claim reading the
    # source, and nothing else changes.
    again, refused = apply(claims, after, same_words)
    assert again == after and refused.step is None and refused.events == ()
    assert {e.claim_id for e in refused.errors} == {c.id for c in claims.in_scope(same_words.source)}
    assert all(e.version == 3 and e.message.startswith(f"{same_words.source.id}: v3 (first seen ") and
               "comes after v3" in e.message and e.message.endswith("are not in time order (`policywatch check` "
                                                                    "names them)") for e in refused.errors)


def test_status_at_past_times_and_evidence_held_then(claims: ClaimSet) -> None:
    without = text(*[p for p in BASE if "sell" not in p])
    result = evaluate(claims, [version(1, 2, text(*BASE)), version(2, 10, without)])
    timeline = result.timeline("testco/no-sale")
    assert status_at(timeline, day(1)) is None
    assert status_at(timeline, day(2)).status is ClaimStatus.SUPPORTED  # type: ignore[union-attr]
    assert status_at(timeline, day(9)).status is ClaimStatus.SUPPORTED  # type: ignore[union-attr]
    assert status_at(timeline, day(10)).status is ClaimStatus.NO_LONGER_STATED  # type: ignore[union-attr]
    intervals = result.intervals_of("testco/no-sale")
    assert len(evidence_at(intervals, day(5))) == 1 and evidence_at(intervals, day(11)) == ()
    past = describe(claims["testco/no-sale"], timeline, intervals, at=day(5))
    assert past.status is ClaimStatus.SUPPORTED and len(past.timeline) == 1
    assert [iv.sentence for iv in past.current()] == ["We do not sell personal data."]
    row = past.to_json()["evidence"][0]
    assert row["match"] == "We do not sell" and (row["start"], row["end"]) == (0, 14)
    assert row["first_version"]["number"] == 1 and row["current"] is True


def test_a_claim_edit_reevaluates_history_without_announcing(claims: ClaimSet, tmp_path: Path) -> None:
    events = [version(1, 1, text(*BASE)),
              version(2, 4, text(*BASE).replace("We do not sell personal data.", "We may sell your personal data."))]
    recorded = evaluate(claims, events).timeline("testco/no-sale")
    assert recorded[-1].status is ClaimStatus.CONTRADICTED and recorded[-1].announce
    edited = CLAIMS_YAML.replace(r"\bwe (?:may )?sell (?:your )?personal data\b", r"\bwe always sell\b")
    path = tmp_path / "edited.yaml"
    path.write_text(edited, encoding="utf-8")
    changed = ClaimSet(c for c in load_claims(path) if c.id == "testco/no-sale")
    assert changed["testco/no-sale"].fingerprint != claims["testco/no-sale"].fingerprint
    reevaluated = evaluate(changed, events).timeline("testco/no-sale")
    timeline, revision = reconcile("testco/no-sale", recorded, reevaluated, day(20))
    assert [(e.status, e.announce, e.reevaluated_at) for e in timeline] == [
        (ClaimStatus.SUPPORTED, False, None),
        (ClaimStatus.NO_LONGER_STATED, False, day(20)),
    ]
    assert (revision.before, revision.after, revision.at) == (ClaimStatus.CONTRADICTED, ClaimStatus.NO_LONGER_STATED,
                                                               day(20))


def test_incremental_steps_resumed_from_stored_rows_equal_the_whole_history_fold(claims: ClaimSet) -> None:
    texts = [text(*BASE),
             text(*BASE).replace("30 days", "90 days"),
             text(*[p for p in BASE if "history" not in p]),
             text(*BASE, "We may sell your personal data.")]
    events = [version(i + 1, 2 * i + 1, t) for i, t in enumerate(texts)]
    events.insert(2, version(1, 2, "Temporary chats are kept for 30 days.\n", source=HELP))
    folded = evaluate(claims, events)

    stored_open: dict[str, list] = {}
    stored_versions: dict[str, tuple] = {}
    statuses_row: dict = {}
    ended: list = []
    timelines: dict[str, list] = {}
    for event in events:
        sources = {sid: SourceState.resume(info, ref, body if sid == event.source.id else None,
                                           stored_open.get(sid, []))
                   for sid, (info, ref, body) in stored_versions.items()}
        state, update = apply(claims, EngineState(sources=sources, statuses=dict(statuses_row)), event)
        stored_open = {sid: list(s.intervals) for sid, s in state.sources.items()}
        stored_versions[event.source.id] = (event.source, state.sources[event.source.id].version, event.text)
        statuses_row.update(update.statuses)
        ended.extend(update.step.closed)
        for e in update.events:
            timelines.setdefault(e.claim_id, []).append(e)
    incremental = sorted(ended + [iv for ivs in stored_open.values() for iv in ivs],
                         key=lambda iv: (iv.first.at, iv.identity))
    assert tuple(incremental) == folded.intervals
    assert {k: tuple(v) for k, v in timelines.items()} == folded.timelines


def test_intervals_states_and_events_survive_their_json_form(claims: ClaimSet) -> None:
    v2 = text(*BASE).replace("kept for 30 days", "kept for 90 days").replace("We do not sell", "We may sell")
    result = evaluate(claims, [version(1, 1, text(*BASE)), version(2, 3, v2)])
    assert result.intervals and any(iv.end for iv in result.intervals)
    for iv in result.intervals:
        assert EvidenceInterval.from_json(json.loads(json.dumps(iv.to_json()))) == iv
    for timeline in result.timelines.values():
        for event in timeline:
            assert StatusEvent.from_json(json.loads(json.dumps(event.to_json()))) == event
    for state in result.state.statuses.values():
        assert ClaimState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_outcomes_of_a_source_without_any_version_change_nothing(claims: ClaimSet) -> None:
    state = EngineState()
    for event in (SourceFailed("testco/new", day(1), "http 503"), SourceConfirmed("testco/new", day(2)),
                  SourceUndeclared("testco/new", day(3))):
        after, update = apply(claims, state, event)
        assert after == state and update.step is None and update.events == () and update.errors == ()


def test_each_claims_tally_kept_by_apply_is_the_one_its_open_evidence_gives(claims: ClaimSet) -> None:
    # The engine keeps each claim's open evidence tallied from step to step; at every step the tally equals the
    # one worked out afresh from every source's open intervals, whatever opened, ended or failed.
    v2 = text(*BASE).replace("kept for 30 days", "kept for 90 days").replace("We do not sell", "We may sell")
    events = [version(1, 1, text(*BASE)), version(1, 1, text(*BASE[:3]), HELP), version(2, 2, v2),
              SourceFailed("testco/help", day(3)), version(2, 4, text(BASE[0], BASE[2]), HELP),
              version(3, 5, text(*BASE)), SourceUndeclared("testco/help", day(6))]
    state = EngineState()
    for event in events:
        state, _ = apply(claims, state, event)
        assert state.tallies == EngineState(sources=state.sources).tally(), event


def test_recording_one_source_reads_only_that_sources_evidence_however_many_sources_a_claim_covers(
        claims: ClaimSet, monkeypatch: pytest.MonkeyPatch) -> None:
    # A status is read from tallies kept up to date, not from every covered source's intervals: the work of one
    # more source's first version is the same beside 5 sources as beside 50 (a night of n sources is linear).
    import analysis.claims.intervals as intervals

    reads = [0]
    is_open = intervals.EvidenceInterval.is_open

    def counted(iv: EvidenceInterval) -> bool:
        reads[0] += 1
        return is_open.fget(iv)  # type: ignore[attr-defined]

    def work_of_one_more(count: int) -> int:
        state = EngineState()
        for n in range(count):
            state, _ = apply(claims, state, version(1, 1, text(*BASE), SourceInfo(f"testco/copy-{n}", "Testco", "en")))
        monkeypatch.setattr(intervals.EvidenceInterval, "is_open", property(counted))
        reads[0] = 0
        apply(claims, state, version(1, 1, text(*BASE), SourceInfo("testco/one-more", "Testco", "en")))
        monkeypatch.setattr(intervals.EvidenceInterval, "is_open", is_open)
        return reads[0]

    assert work_of_one_more(50) == work_of_one_more(5) > 0
