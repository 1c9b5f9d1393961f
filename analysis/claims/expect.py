"""What a matched sentence must also say for a matcher to count: ``expect:``.

A pattern finds the sentence; ``expect`` checks its truth conditions with the
flagger's own reading of it (``analysis.polarity``, ``analysis.durations``,
``analysis.values`` and ``analysis.classify``), so "kept up to 30 days" meets
``max_days: 30`` and "kept up to 90 days" does not, whatever the pattern.

Keys:

- ``polarity``: one of ``affirmative``, ``negated``, ``hedged`` or a list of
  them; the polarity of the matcher's own match in the sentence;
- ``max_days`` / ``min_days``: the sentence names at least one duration and
  every duration it names lies within the bound (an unbounded period such as
  "as long as necessary" fails ``max_days`` and meets ``min_days``);
- ``opt``: ``opt-in`` or ``opt-out``, the first opt phrase of the sentence;
- ``flags``: flag categories the flagger must find in the sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis.classify import classify_sentence
from analysis.durations import extract_durations
from analysis.evidence import Duration
from analysis.polarity import polarity
from analysis.rules import language_data
from analysis.values import opt_kind
from analysis.vocabulary import FlagCategory, Opt, Polarity

EXPECT_KEYS: tuple[str, ...] = ("polarity", "max_days", "min_days", "opt", "flags")


class ExpectError(ValueError):
    """A malformed ``expect:``; ``field`` is the key at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Reading:
    """The flagger's reading of a matched sentence."""

    polarity: Polarity
    durations: tuple[Duration, ...]
    opt: Opt | None
    flags: tuple[FlagCategory, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reading:
        return cls(
            polarity=Polarity(data["polarity"]),
            durations=tuple(Duration(days=d["days"], text=d["text"], unbounded=d.get("unbounded", False))
                            for d in data["durations"]),
            opt=None if data["opt"] is None else Opt(data["opt"]),
            flags=tuple(FlagCategory(f) for f in data["flags"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "polarity": str(self.polarity),
            "durations": [d.to_json() for d in self.durations],
            "opt": None if self.opt is None else str(self.opt),
            "flags": [str(f) for f in self.flags],
        }


def read_sentence(sentence: str, span: tuple[int, int], language: str) -> Reading:
    """Polarity of the match at ``span``, durations, opt-in/out and flags of ``sentence``."""
    data = language_data(language)
    start, end = span
    opt = opt_kind(sentence, data)
    return Reading(
        polarity=Polarity(polarity(sentence, start, end, data)),
        durations=extract_durations(sentence, data.durations),
        opt=None if opt is None else Opt(opt),
        flags=tuple(FlagCategory(e.category) for e in classify_sentence(sentence, language)),
    )


@dataclass(frozen=True)
class Expect:
    polarity: frozenset[Polarity] = frozenset()
    max_days: float | None = None
    min_days: float | None = None
    opt: Opt | None = None
    flags: frozenset[FlagCategory] = frozenset()

    def failures(self, reading: Reading) -> tuple[str, ...]:
        """Why ``reading`` does not meet this expectation; empty when it does."""
        out: list[str] = []
        if self.polarity and reading.polarity not in self.polarity:
            wanted = " or ".join(sorted(self.polarity))
            out.append(f"the match is {reading.polarity}, expected {wanted}")
        if self.max_days is not None or self.min_days is not None:
            out.extend(self._duration_failures(reading.durations))
        if self.opt is not None and reading.opt != self.opt:
            out.append(f"expected {self.opt}, the sentence reads {reading.opt or 'neither opt-in nor opt-out'}")
        missing = sorted(self.flags - set(reading.flags))
        if missing:
            out.append(f"not flagged {', '.join(missing)}")
        return tuple(out)

    def _duration_failures(self, durations: tuple[Duration, ...]) -> list[str]:
        if not durations:
            return ["names no duration"]
        out = []
        for d in durations:
            if self.max_days is not None and (d.unbounded or d.days is None or d.days > self.max_days):
                out.append(f"names {d.text!r}, expected at most {self.max_days:g} days")
            if self.min_days is not None and not d.unbounded and d.days is not None and d.days < self.min_days:
                out.append(f"names {d.text!r}, expected at least {self.min_days:g} days")
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.polarity:
            out["polarity"] = sorted(self.polarity)
        if self.max_days is not None:
            out["max_days"] = self.max_days
        if self.min_days is not None:
            out["min_days"] = self.min_days
        if self.opt is not None:
            out["opt"] = str(self.opt)
        if self.flags:
            out["flags"] = sorted(self.flags)
        return out


def _days(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ExpectError(field, f"must be a number of days (0 or more), not {value!r}")
    return float(value)


def _choices(value: Any, field: str, vocabulary: type[Any]) -> frozenset[Any]:
    items = [value] if isinstance(value, str) else value
    allowed = ", ".join(str(v) for v in vocabulary)
    if not isinstance(items, list) or not items:
        raise ExpectError(field, f"must be one of {allowed} or a list of them")
    out = set()
    for item in items:
        try:
            out.add(vocabulary(item))
        except ValueError:
            raise ExpectError(field, f"{item!r} is not one of {allowed}") from None
    return frozenset(out)


def parse_expect(raw: Any) -> Expect:
    """An ``Expect`` from its declaration; ``ExpectError`` names the key at fault."""
    if not isinstance(raw, Mapping):
        raise ExpectError("expect", f"must be a mapping with keys among {', '.join(EXPECT_KEYS)}")
    unknown = sorted(set(raw) - set(EXPECT_KEYS))
    if unknown:
        raise ExpectError(f"expect.{unknown[0]}", f"unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"allowed: {', '.join(EXPECT_KEYS)}")
    if not raw:
        raise ExpectError("expect", f"is empty; give at least one of {', '.join(EXPECT_KEYS)}")
    max_days = _days(raw["max_days"], "expect.max_days") if "max_days" in raw else None
    min_days = _days(raw["min_days"], "expect.min_days") if "min_days" in raw else None
    if max_days is not None and min_days is not None and min_days > max_days:
        raise ExpectError("expect.min_days", f"{min_days:g} is more than max_days {max_days:g}")
    opt = None
    if "opt" in raw:
        if raw["opt"] not in tuple(Opt):
            raise ExpectError("expect.opt", f"{raw['opt']!r} is not one of {', '.join(Opt)}")
        opt = Opt(raw["opt"])
    return Expect(
        polarity=_choices(raw["polarity"], "expect.polarity", Polarity) if "polarity" in raw else frozenset(),
        max_days=max_days,
        min_days=min_days,
        opt=opt,
        flags=_choices(raw["flags"], "expect.flags", FlagCategory) if "flags" in raw else frozenset(),
    )
