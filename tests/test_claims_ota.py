"""The six claims of the article on OpenAI's real privacy-policy history (Open Terms Archive data, ODC-BY 1.0).

Reads ../shared/ota-data (or $POLICYWATCH_SHARED/ota-data); skips when absent.
The genai-contrib ChatGPT privacy-policy series is one source here: the US
policy (recorded under the service "OpenAI" from 2023-10-16, then "ChatGPT"),
the EU policy from 2024-06-10 and the EU policy combined with the
model-improvement page from 2025-07-31, both switches being declaration
changes (tests/ota_series.py). The bundled claims/openai.yaml is folded over
its 24 versions.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from analysis.claims import (
    Cause,
    ClaimSet,
    ClaimStatus,
    EndReason,
    Evaluation,
    Role,
    describe,
    evaluate,
    history_events,
    status_at,
)
from ingest.claims_declarations import BUNDLED_CLAIMS, load_claims
from ota_series import events, privacy_source_id, series, source_id

SIX = (
    "openai/uploaded-photos-not-kept-after-session",
    "openai/content-may-train-models",
    "openai/no-sale-without-consent",
    "openai/chat-history-can-be-turned-off",
    "openai/privacy-portal-see-or-delete",
    "openai/advises-against-sensitive-photos",
)


@pytest.fixture(scope="module")
def history(request: pytest.FixtureRequest) -> tuple[ClaimSet, Evaluation]:
    shared = request.getfixturevalue("shared_module")
    claims = ClaimSet(c for c in load_claims(BUNDLED_CLAIMS) if c.id in SIX or c.id == "openai/training-opt-out")
    rows = series(shared / "ota-data")[privacy_source_id()]
    return claims, evaluate(claims, list(events(privacy_source_id(), rows)))


@pytest.fixture(scope="module")
def shared_module() -> Path:
    from conftest import shared_dir

    path = shared_dir()
    if path is None:
        pytest.skip("../shared/ota-data not found: the real OpenAI history is not available on this machine")
    return path


def timeline(result: Evaluation, claim_id: str) -> list[tuple[str, ClaimStatus]]:
    return [(e.since.date().isoformat(), e.status) for e in result.timeline(claim_id)]


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day + "T12:00:00+00:00")


def test_photos_contradicted_once_images_are_content_kept_or_trained_on(history: tuple[ClaimSet, Evaluation]) -> None:
    _, result = history
    claim_id = "openai/uploaded-photos-not-kept-after-session"
    assert timeline(result, claim_id) == [("2024-11-05", ClaimStatus.CONTRADICTED)]
    (event,) = result.timeline(claim_id)
    assert event.previous is ClaimStatus.UNVERIFIED and event.announce
    images = [iv for iv in result.intervals_of(claim_id) if iv.matcher_id == "images-are-user-content"]
    assert min(iv.first.at for iv in images).date().isoformat() == "2024-11-05"
    assert any(iv.is_open for iv in images) and "images" in images[-1].match
    open_matchers = {iv.matcher_id for iv in result.intervals_of(claim_id) if iv.is_open}
    assert {"images-are-user-content", "content-may-train", "content-kept-until-deleted"} <= open_matchers


def test_training_supported_since_the_first_record(history: tuple[ClaimSet, Evaluation]) -> None:
    _, result = history
    assert timeline(result, "openai/content-may-train-models") == [("2023-10-16", ClaimStatus.SUPPORTED)]
    current = [iv for iv in result.intervals_of("openai/content-may-train-models") if iv.is_open]
    assert any("to train the models that power ChatGPT" in iv.sentence for iv in current)


def test_no_sale_is_a_tracking_change_at_the_switch_to_the_eu_policy(history: tuple[ClaimSet, Evaluation]) -> None:
    _, result = history
    claim_id = "openai/no-sale-without-consent"
    assert timeline(result, claim_id) == [("2023-10-16", ClaimStatus.SUPPORTED), ("2024-06-10", ClaimStatus.TRACKING_CHANGED)]
    switch = result.timeline(claim_id)[-1]
    assert switch.cause is Cause.TRACKING_CHANGE and not switch.announce
    (sale,) = result.intervals_of(claim_id)
    assert 'We don\'t "sell" Personal Information' in sale.sentence
    assert sale.end is not None and sale.end.reason is EndReason.TRACKING_CHANGED
    assert sale.last.at.date().isoformat() == "2023-12-15"  # the ChatGPT record of 2024-02-20 repeats it word for word
    assert ClaimStatus.NO_LONGER_STATED not in {s for _, s in timeline(result, claim_id)}


def test_chat_history_dropped_on_2024_11_05_for_temporary_chats(history: tuple[ClaimSet, Evaluation]) -> None:
    claims, result = history
    claim_id = "openai/chat-history-can-be-turned-off"
    assert timeline(result, claim_id) == [("2024-06-10", ClaimStatus.SUPPORTED), ("2024-11-05", ClaimStatus.NO_LONGER_STATED)]
    opened, dropped = result.timeline(claim_id)
    assert opened.cause is Cause.TRACKING_CHANGE and not opened.announce
    assert dropped.cause is Cause.VENDOR_CHANGE and dropped.announce
    supports = [iv for iv in result.intervals_of(claim_id) if iv.role is Role.SUPPORTS]
    assert {iv.last.at.date().isoformat() for iv in supports} == {"2024-10-19"}
    assert any("ability to turn off chat history" in iv.sentence for iv in supports)
    assert all(iv.end is not None and iv.end.reason is EndReason.REWORDED for iv in supports)
    successor = "temporary chats will not appear in your history and will be kept up to 30 days"
    assert all(successor in (iv.end.successor or "") for iv in supports if iv.end)
    view = describe(claims[claim_id], result.timeline(claim_id), result.intervals)
    assert any(successor in s.sentence for s in view.successors)
    assert status_at(result.timeline(claim_id), at("2024-08-01")).status is ClaimStatus.SUPPORTED  # type: ignore[union-attr]
    assert status_at(result.timeline(claim_id), at("2025-06-01")).status is ClaimStatus.NO_LONGER_STATED  # type: ignore[union-attr]


def test_privacy_portal_supported_by_the_rights_request_sentence_not_by_the_opt_out(
        history: tuple[ClaimSet, Evaluation]) -> None:
    _, result = history
    claim_id = "openai/privacy-portal-see-or-delete"
    assert timeline(result, claim_id) == [("2023-11-14", ClaimStatus.SUPPORTED)]
    sentences = {iv.sentence for iv in result.intervals_of(claim_id)}
    assert any("submit your request through privacy.openai.com" in s for s in sentences)
    opt_out = "You can opt out of training through our privacy portal"
    assert not any(opt_out in s for s in sentences)
    training = {iv.sentence for iv in result.intervals_of("openai/training-opt-out")
                if iv.first.at.date().isoformat() == "2025-07-31"}
    assert any(opt_out in s for s in training)


def test_sensitive_photos_advice_unverified(history: tuple[ClaimSet, Evaluation]) -> None:
    _, result = history
    claim_id = "openai/advises-against-sensitive-photos"
    assert timeline(result, claim_id) == []
    state = result.state.statuses[claim_id]
    assert (state.status, state.since.date().isoformat()) == (ClaimStatus.UNVERIFIED, "2023-10-16")
    assert result.intervals_of(claim_id) == ()
    assert result.errors == ()


def test_every_bundled_claim_follows_the_recorded_history(shared_module: Path) -> None:
    expected = yaml.safe_load((Path(__file__).parent / "data" / "claims" / "ota-history.yaml").read_text("utf-8"))
    claims = ClaimSet(load_claims(BUNDLED_CLAIMS))
    assert set(expected["timelines"]) == set(claims.claims), "every bundled claim has its expected history"
    all_series = series(shared_module / "ota-data")
    by_source = {}
    for key in expected["sources"]:
        sid = source_id(*key)
        by_source[sid] = list(events(sid, all_series[sid], classify=False))
    result = evaluate(claims, history_events(by_source))
    assert result.errors == ()
    for claim_id, wanted in expected["timelines"].items():
        got = [[e.since.date(), str(e.status)] for e in result.timeline(claim_id)]
        assert got == wanted, claim_id
