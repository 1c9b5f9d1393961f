"""Press sentences that mention a claim, and how each treats it: pure functions.

A claim's ``mentions`` declaration (one condition per language, the rule
format of the matchers) finds the sentences of an article that speak of the
claim. Each found sentence gets a ``Stance`` from the cues of
``analysis/rules/stance.yaml``, searched in the sentence outside the words
the claim's condition matched (so "deleted" in "deleted chats" never reads as
a report of a change):

- ``disputes`` when a dispute cue occurs ("contrary to", "bestreitet",
  "contrairement");
- else ``reports`` when a cue tells of earlier or changed wording ("until this
  week", "bisher", "auparavant");
- else ``repeats``: the sentence states the claim as current, attributed to
  the vendor or not.

A mention whose stance is ``repeats``, in an article published while the
claim's status was one the vendor no longer backs
(``ClaimStatus.stale_to_repeat``), is a *stale repetition*: ``is_stale``.

Bounded: each claim has ``time_limit`` seconds per article; every search
runs under the ``regex`` module's timeout with what is left of it, and a
claim that runs out is named in ``MentionScan.timed_out`` with no mentions
in that article. Sentences longer than ``MAX_SENTENCE_CHARS`` are not read.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from analysis.claims.model import Claim, base_language
from analysis.claims.vocabulary import ClaimStatus, Stance

STANCE_RULES = Path(__file__).resolve().parent.parent / "rules" / "stance.yaml"
DEFAULT_TIME_LIMIT = 1.0
MAX_SENTENCE_CHARS = 3000
_MIN_TIMEOUT = 0.001


@dataclass(frozen=True)
class StanceCues:
    disputes: tuple[re.Pattern[str], ...]
    reports: tuple[re.Pattern[str], ...]


@lru_cache(maxsize=1)
def stance_cues() -> dict[str, StanceCues]:
    """The stance cues per language, compiled once."""
    from analysis.rules import bundled_yaml  # only where stances are decided: listing stored mentions needs no YAML

    raw: dict[str, dict[str, list[str]]] = bundled_yaml(STANCE_RULES)
    return {lang: StanceCues(tuple(re.compile(p, re.IGNORECASE) for p in cues.get("disputes", ())),
                             tuple(re.compile(p, re.IGNORECASE) for p in cues.get("reports", ())))
            for lang, cues in raw.items()}


@dataclass(frozen=True)
class StanceReading:
    stance: Stance
    cue: str | None  # the words that decided it; None for a plain repetition


def decide_stance(sentence: str, span: tuple[int, int], language: str) -> StanceReading:
    """How ``sentence`` treats the claim its words at ``span`` mention."""
    cues = stance_cues().get(base_language(language))
    if cues is None:
        return StanceReading(Stance.REPEATS, None)
    start, end = span
    # The claim's own words are blanked (same length, so offsets hold) before the cues are searched.
    outside = sentence[:start] + " " * (end - start) + sentence[end:]
    for stance, patterns in ((Stance.DISPUTES, cues.disputes), (Stance.REPORTS, cues.reports)):
        for pattern in patterns:
            m = pattern.search(outside)
            if m is not None:
                return StanceReading(stance, m.group(0))
    return StanceReading(Stance.REPEATS, None)


@dataclass(frozen=True)
class Mention:
    """A sentence of an article that mentions a claim."""

    claim_id: str
    index: int  # of the sentence in the article's text
    sentence: str
    span: tuple[int, int]  # the words the claim's condition matched
    stance: Stance
    cue: str | None

    def to_json(self) -> dict[str, Any]:
        return {"claim": self.claim_id, "index": self.index, "sentence": self.sentence,
                "span": list(self.span), "stance": str(self.stance), "cue": self.cue}


@dataclass(frozen=True)
class MentionScan:
    mentions: tuple[Mention, ...]
    timed_out: tuple[str, ...]  # claims that ran over their time limit: no mentions from them here


def mentioning_claims(claims: Iterable[Claim], language: str) -> tuple[Claim, ...]:
    """The claims with a mentions condition in ``language``."""
    lang = base_language(language)
    return tuple(c for c in claims if lang in c.mentions)


def find_mentions(claims: Iterable[Claim], sentences: Sequence[str], language: str, *,
                  time_limit: float = DEFAULT_TIME_LIMIT) -> MentionScan:
    """Every sentence of ``sentences`` (an article's, in ``language``) that mentions one of ``claims``, at
    most one mention per claim and sentence, in sentence order."""
    lang = base_language(language)
    found: list[Mention] = []
    timed_out: list[str] = []
    for claim in mentioning_claims(claims, lang):
        condition = claim.mentions[lang]
        spent = 0.0
        mine: list[Mention] = []
        for index, sentence in enumerate(sentences):
            if len(sentence) > MAX_SENTENCE_CHARS or not sentence.strip():
                continue
            remaining = time_limit - spent
            started = time.perf_counter()
            try:
                span = condition.find(sentence, sentence.lower(), timeout=max(remaining, _MIN_TIMEOUT))
            except TimeoutError:
                span, remaining = None, 0.0
            spent += time.perf_counter() - started
            if remaining <= 0.0 or spent > time_limit:
                timed_out.append(claim.id)
                mine = []
                break
            if span is not None:
                reading = decide_stance(sentence, span, lang)
                mine.append(Mention(claim.id, index, sentence, span, reading.stance, reading.cue))
        found.extend(mine)
    found.sort(key=lambda m: (m.index, m.claim_id))
    return MentionScan(tuple(found), tuple(timed_out))


def is_stale(stance: Stance | str, status_when_published: ClaimStatus | str | None) -> bool:
    """Whether a mention is a stale repetition: it repeats the claim, and when the article was published the
    claim stood at a status the vendor no longer backs."""
    if status_when_published is None or Stance(stance) is not Stance.REPEATS:
        return False
    return ClaimStatus(status_when_published).stale_to_repeat


def mention_fingerprint(claim: Claim) -> str:
    """sha256 of what finding a claim's mentions depends on: its mentions declaration and the stance cues."""
    spec = {lang: {k: list(v) for k, v in sorted(conditions.items())}
            for lang, conditions in sorted(claim.mention_spec.items())}
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    digest.update(STANCE_RULES.read_bytes())
    return digest.hexdigest()
