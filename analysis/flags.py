"""The flagger's public API in one place.

Callers (storage, reports, the CLI) import from here; the implementation
lives in small modules: ``evidence`` (value types), ``rules`` (YAML rule
files), ``sentences``, ``language``, ``polarity``, ``durations``,
``values``, ``classify``, ``align`` and ``meaning``.
"""

from analysis.classify import classify, classify_json_lines, classify_sentence
from analysis.evidence import CATEGORIES, Classification, Duration, Evidence
from analysis.language import detect_language
from analysis.meaning import ChangeAnalysis, analyse_change, is_formatting_change
from analysis.sentences import split_sentences

__all__ = [
    "CATEGORIES",
    "ChangeAnalysis",
    "Classification",
    "Duration",
    "Evidence",
    "analyse_change",
    "classify",
    "classify_json_lines",
    "classify_sentence",
    "detect_language",
    "is_formatting_change",
    "split_sentences",
]
