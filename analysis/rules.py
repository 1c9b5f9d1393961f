"""Loading the flagging rules and language vocabularies from ``analysis/rules/``.

Two YAML files per language:

``<xx>.yaml`` — the rules. Each rule has an ``id`` (``<xx>.<category>.<name>``,
cited by the evidence), a ``category`` (one of ``CATEGORIES``), ``patterns``
(regular expressions; a sentence matches the rule where any of them matches),
optional ``requires`` (at least one must also match somewhere in the
sentence), optional ``unless`` (none may match in the sentence), an optional
``practice`` (what the rule's statements are about when that is narrower than
the category, such as ``sale`` for selling data; a change compares statements
of the same practice) and a ``description``. Patterns match case-insensitively: they compile with
``re.IGNORECASE | re.UNICODE`` and, for speed, also as lower-cased patterns
run on the lower-cased sentence (escapes such as ``\\W`` are left alone).

``lang_<xx>.yaml`` — what is not a rule: stop words for language detection,
abbreviations the sentence splitter must not break after, negation and hedge
cues, clause boundaries, sentences that state no practice (``no_statement``:
definitions of terms, sentences about the document itself), lead-ins whose
list enumerates purposes rather than what the practice applies to
(``purpose_lead``), rules addressed to the user rather than promises by the
service (``user_rule``: "You may not …"), what makes a negated sentence the
service's promise about data (``promise``: "we …", "is not sold"), duration
vocabulary, opt-in/opt-out phrases, the named data categories and the named
kinds of recipients (``recipients``, the values of a sharing statement).

Files are read and compiled once per process.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import ModuleType
from typing import Any


from analysis.errors import UserInputError, as_written
from analysis.durations import DurationVocabulary, compile_vocabulary
from analysis.evidence import CATEGORIES
from analysis.prefilter import Literals, TriggerIndex, necessary_literals, union_literals

RULES_DIR = Path(__file__).resolve().parent / "rules"
LANGUAGES: tuple[str, ...] = ("en", "de", "fr")
_FLAGS = re.IGNORECASE | re.UNICODE
# A compiled expression of ``re`` or of an engine with the same interface (``regex``).
Pattern = Any


class RuleError(UserInputError):
    """A rule or language file is malformed; ``key`` names the condition key at fault when known."""

    key: str | None = None


@dataclass(frozen=True)
class Condition:
    """The matching part of a rule: ``patterns``, ``requires`` and ``unless``, compiled.

    The flagger's rules and the claims' matchers share this format. The
    expressions come from the ``re`` module by default; ``compile_condition``
    can build them with another engine of the same interface (claims use the
    ``regex`` module, whose searches take a time limit).
    """

    pattern: Pattern
    requires: Pattern | None
    unless: Pattern | None
    # Lower-case strings one of which every match contains (see
    # analysis.prefilter); None when unknown.
    literals: Literals | None = None
    # The same three expressions for lower-cased text, compiled without
    # IGNORECASE, which the regex engine runs about twice as fast.
    lower: tuple[Pattern, Pattern | None, Pattern | None] | None = None

    def find(self, sentence: str, lowered: str | None = None, **search: Any) -> tuple[int, int] | None:
        """Span of the first match in ``sentence`` once the context conditions hold.

        ``lowered`` is ``sentence.lower()`` when the caller has it; it must
        have the same length as ``sentence`` to be used. ``search`` is passed
        to every search call (``timeout=`` for the ``regex`` engine).
        """
        pattern, requires, unless, text = self.pattern, self.requires, self.unless, sentence
        if self.lower is not None and lowered is not None and len(lowered) == len(sentence):
            (pattern, requires, unless), text = self.lower, lowered
        m = pattern.search(text, **search)
        if m is None:
            return None
        if requires is not None and requires.search(text, **search) is None:
            return None
        if unless is not None and unless.search(text, **search) is not None:
            return None
        return m.span()


@dataclass(frozen=True, kw_only=True)
class Rule(Condition):
    id: str
    category: str
    description: str
    practice: str  # what the rule's statements are about; the category unless narrower


@dataclass(frozen=True)
class DataCategory:
    name: str
    sensitive: bool
    pattern: re.Pattern[str]
    literals: Literals | None = None


@dataclass(frozen=True)
class LanguageData:
    code: str
    stopwords: frozenset[str]
    abbreviation: re.Pattern[str] | None
    ordinal_dot: bool
    negation: re.Pattern[str]
    negation_ignore: re.Pattern[str] | None
    negation_words_after: int
    hedges: re.Pattern[str]
    clause_boundaries: re.Pattern[str]
    no_statement: re.Pattern[str] | None
    # Finds one of the lower-case strings that every no_statement match contains; None when unknown.
    no_statement_literals: re.Pattern[str] | None
    purpose_lead: re.Pattern[str] | None
    user_rule: re.Pattern[str] | None
    promise: re.Pattern[str] | None
    durations: DurationVocabulary
    opt_in: re.Pattern[str]
    opt_out: re.Pattern[str]
    data_categories: tuple[DataCategory, ...]
    recipients: tuple[DataCategory, ...]
    rules: tuple[Rule, ...]
    # Which rules / data categories could match a lower-cased sentence.
    rule_index: TriggerIndex
    category_index: TriggerIndex
    recipient_index: TriggerIndex


def _pattern_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(p, str) for p in value)


def _compile_any(patterns: Any, where: str, engine: ModuleType = re) -> Pattern:
    if not _pattern_list(patterns):
        raise RuleError(f"{where}: expected a non-empty list of regular expressions")
    flags = engine.IGNORECASE | engine.UNICODE
    try:
        return engine.compile("|".join(f"(?:{p})" for p in patterns), flags)
    except engine.error as exc:
        for p in patterns:
            try:
                engine.compile(p, flags)
            except engine.error as inner:
                raise RuleError(f"{where}: bad pattern {as_written(p)}: {inner}") from inner
        raise RuleError(f"{where}: {exc}") from exc


def _lowercase_pattern(pattern: str) -> str:
    """Lower-case the literal characters of a regular expression, leaving escapes (\\W, \\S …) alone, and the
    `P` of a named group or of a reference to one (`(?P<name>…)`, `(?P=name)`), which has no lower-case form."""
    out: list[str] = []
    escaped = False
    opened = -1  # where the last group that escapes do not make a literal "(" opened
    for i, ch in enumerate(pattern):
        named = ch == "P" and i == opened + 2 and pattern[i - 1] == "?"
        out.append(ch if escaped or named else ch.lower())
        if ch == "(" and not escaped:
            opened = i
        escaped = ch == "\\" and not escaped
    return "".join(out)


def _compile_lower(patterns: list[str] | None, engine: ModuleType = re) -> Pattern | None:
    if not patterns:
        return None
    return engine.compile("|".join(f"(?:{_lowercase_pattern(p)})" for p in patterns), engine.UNICODE)


class _OnFirstSearch:
    """A case-insensitive expression compiled when it is first searched with.

    A condition's case-insensitive expressions are searched only with a
    sentence whose lower-cased form is not as long as itself (`Condition.find`
    runs the lower-cased ones otherwise, which is almost always): compiling
    them up front was a third of reading a language's rules, which every
    process that analyses pays (`bench/analysis_speed.py`), and as much again
    in loading claims.
    """

    __slots__ = ("pattern", "flags", "_engine", "_compiled")

    def __init__(self, pattern: str, flags: int, engine: ModuleType):
        self.pattern, self.flags, self._engine = pattern, flags, engine
        self._compiled: Pattern | None = None

    def compiled(self) -> Pattern:
        if self._compiled is None:
            self._compiled = self._engine.compile(self.pattern, self.flags)
        return self._compiled

    def search(self, *args: Any, **kwargs: Any) -> Any:
        return self.compiled().search(*args, **kwargs)

    # Equal, shown and copied as the compiled expression would be: by pattern, flags and engine.
    def _identity(self) -> tuple[str, int, str]:
        return self.pattern, self.flags, self._engine.__name__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _OnFirstSearch) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        return f"{self._engine.__name__}.compile({self.pattern!r}, {self.flags!r}) (on first search)"

    def __reduce__(self) -> tuple[Any, tuple[str, int, str]]:
        return _on_first_search, self._identity()


def _on_first_search(pattern: str, flags: int, engine: str) -> _OnFirstSearch:
    import importlib

    return _OnFirstSearch(pattern, flags, importlib.import_module(engine))


def _deferred(patterns: list[str] | None, engine: ModuleType) -> _OnFirstSearch | None:
    if not patterns:
        return None
    return _OnFirstSearch("|".join(f"(?:{p})" for p in patterns), engine.IGNORECASE | engine.UNICODE, engine)


def _compile_optional(patterns: list[str] | None, where: str, engine: ModuleType = re) -> Pattern | None:
    return _compile_any(patterns, where, engine) if patterns else None


CONDITION_KEYS: tuple[str, ...] = ("patterns", "requires", "unless")


def _compile_key(raw: Mapping[str, Any], key: str, where: str, engine: ModuleType) -> tuple[Any, Any]:
    """One condition key's case-insensitive expression and its lower-cased one.

    The case-insensitive expression of patterns that lower-casing leaves as
    they are waits for its first search (`_OnFirstSearch`): the lower-cased
    one, compiled at once, is the same expression and shows any fault. Others
    are compiled at once: lower-casing can mend a pattern that does not
    compile (`[a-Z]`), which must be refused here.
    """
    value = raw.get(key)
    where = f"{where} {key}"
    if (_pattern_list(value) or (not value and key != "patterns")) and \
            all(_lowercase_pattern(p) == p for p in value or ()):
        try:
            return _deferred(value, engine), _compile_lower(value, engine)
        except engine.error:
            pass  # compiled as below, which names the pattern at fault
    insensitive = _compile_any(value, where, engine) if key == "patterns" else _compile_optional(value, where, engine)
    try:
        return insensitive, _compile_lower(value, engine)
    except engine.error as exc:
        raise RuleError(f"{where}: {exc} in its lower-cased form, which is run on lower-cased text") from exc


def compile_condition(raw: Mapping[str, Any], where: str, engine: ModuleType = re) -> Condition:
    """``patterns`` / ``requires`` / ``unless`` of ``raw`` compiled into a ``Condition`` (see `_compile_key`).

    Other keys of ``raw`` are the caller's business. Errors are ``RuleError``
    naming ``where`` and the key (``"<where> patterns: bad pattern …"``), with
    the key also in ``RuleError.key``.
    """
    compiled = []
    for key in CONDITION_KEYS:
        try:
            compiled.append(_compile_key(raw, key, where, engine))
        except RuleError as exc:
            exc.key = key
            raise
    (pattern, lower_pattern), (requires, lower_requires), (unless, lower_unless) = compiled
    return Condition(pattern=pattern, requires=requires, unless=unless, literals=_literals(raw.get("patterns")),
                     lower=(lower_pattern, lower_requires, lower_unless))


def bundled_yaml(path: Path) -> Any:
    """One of the YAML files in `RULES_DIR`, read with libyaml's C loader where PyYAML has it: several times
    faster than the pure-Python loader, which every process that analyses would pay once, and the same data,
    as `tests/test_flags.py` checks for every file there."""
    import yaml  # only when a language's rules are first loaded: reading the record needs none

    return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = bundled_yaml(path)
    except FileNotFoundError as exc:
        raise RuleError(f"{path.name}: missing") from exc
    if not isinstance(data, dict):
        raise RuleError(f"{path.name}: expected a mapping at top level")
    return data


def parse_rules(raw: list[dict[str, Any]], language: str, source: str) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{source} rule {i + 1}"
        rule_id = item.get("id")
        category = item.get("category")
        if not isinstance(rule_id, str) or not rule_id.startswith(f"{language}.{category}."):
            raise RuleError(f"{where}: id {rule_id!r} must start with '{language}.{category}.'")
        if category not in CATEGORIES:
            raise RuleError(f"{where} ({rule_id}): unknown category {category!r}")
        if rule_id in seen:
            raise RuleError(f"{where}: duplicate id {rule_id}")
        unknown = set(item) - {"id", "category", "patterns", "requires", "unless", "description", "practice"}
        if unknown:
            raise RuleError(f"{where} ({rule_id}): unknown keys {sorted(unknown)}")
        seen.add(rule_id)
        condition = compile_condition(item, f"{where} ({rule_id})")
        rules.append(
            Rule(id=rule_id, category=category, description=str(item.get("description", "")),
                 practice=str(item.get("practice") or category),
                 **{f.name: getattr(condition, f.name) for f in fields(Condition)})
        )
    return tuple(rules)


def _literals(patterns: list[str] | None) -> Literals | None:
    return union_literals(necessary_literals(p, _FLAGS) for p in patterns or [])


def _literal_scan(literals: Literals | None) -> re.Pattern[str] | None:
    if literals is None:
        return None
    return re.compile("|".join(re.escape(literal) for literal in sorted(literals, key=len, reverse=True)))


def _abbreviation_pattern(abbreviations: list[str]) -> re.Pattern[str] | None:
    if not abbreviations:
        return None
    # "z. B." and "z.B." are the same abbreviation: let spaces after inner dots vary.
    alts = sorted(
        (r"\.\s?".join(re.escape(part) for part in a.rstrip(".").replace(" ", "").split(".")) for a in abbreviations),
        key=len,
        reverse=True,
    )
    return re.compile(rf"(?:^|[\s(\[\"'])(?:{'|'.join(alts)})$", _FLAGS)


def _named(items: list[dict[str, Any]] | None, where: str) -> tuple[DataCategory, ...]:
    found = []
    for item in items or []:
        found.append(
            DataCategory(
                name=str(item["name"]),
                sensitive=bool(item.get("sensitive", False)),
                pattern=_compile_any(item.get("patterns"), f"{where} {item.get('name')!r}"),
                literals=_literals(item.get("patterns")),
            )
        )
    return tuple(found)


def parse_language(lang_raw: dict[str, Any], rules_raw: dict[str, Any], language: str) -> LanguageData:
    where = f"lang_{language}.yaml"
    negation = lang_raw.get("negation") or {}
    opt = lang_raw.get("opt") or {}
    categories = _named(lang_raw.get("data_categories"), f"{where} data category")
    recipients = _named(lang_raw.get("recipients"), f"{where} recipient")
    rules = parse_rules(rules_raw.get("rules") or [], language, f"{language}.yaml")
    stopwords = lang_raw.get("stopwords") or []
    if not all(isinstance(w, str) for w in stopwords):
        # YAML reads a bare on/no/yes as a boolean: such words must be quoted.
        raise RuleError(f"{where}: stopwords must be strings: {[w for w in stopwords if not isinstance(w, str)]}")
    return LanguageData(
        code=language,
        stopwords=frozenset(w.casefold() for w in stopwords),
        abbreviation=_abbreviation_pattern(lang_raw.get("abbreviations") or []),
        ordinal_dot=bool(lang_raw.get("ordinal_dot", False)),
        negation=_compile_any(negation.get("cues"), f"{where} negation.cues"),
        negation_ignore=_compile_optional(negation.get("ignore"), f"{where} negation.ignore"),
        negation_words_after=int(negation.get("words_after", 3)),
        hedges=_compile_any(lang_raw.get("hedges"), f"{where} hedges"),
        clause_boundaries=_compile_any(lang_raw.get("clause_boundaries"), f"{where} clause_boundaries"),
        no_statement=_compile_optional(lang_raw.get("no_statement"), f"{where} no_statement"),
        no_statement_literals=_literal_scan(_literals(lang_raw.get("no_statement"))),
        purpose_lead=_compile_optional(lang_raw.get("purpose_lead"), f"{where} purpose_lead"),
        user_rule=_compile_optional(lang_raw.get("user_rule"), f"{where} user_rule"),
        promise=_compile_optional(lang_raw.get("promise"), f"{where} promise"),
        durations=compile_vocabulary(lang_raw["durations"]),
        opt_in=_compile_any(opt.get("opt-in"), f"{where} opt.opt-in"),
        opt_out=_compile_any(opt.get("opt-out"), f"{where} opt.opt-out"),
        data_categories=categories,
        recipients=recipients,
        rules=rules,
        rule_index=TriggerIndex(enumerate(r.literals for r in rules)),
        category_index=TriggerIndex(enumerate(c.literals for c in categories)),
        recipient_index=TriggerIndex(enumerate(r.literals for r in recipients)),
    )


@functools.cache
def language_data(language: str) -> LanguageData:
    """Compiled rules and vocabulary for ``language`` ("en", "de" or "fr")."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; expected one of {', '.join(LANGUAGES)}")
    lang_raw = _read_yaml(RULES_DIR / f"lang_{language}.yaml")
    rules_raw = _read_yaml(RULES_DIR / f"{language}.yaml")
    if rules_raw.get("language") != language:
        raise RuleError(f"{language}.yaml: 'language' must be {language!r}")
    return parse_language(lang_raw, rules_raw, language)
