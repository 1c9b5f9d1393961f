"""The flagger's public API in one place.

Callers (storage, reports, the CLI) import from here; the implementation
lives in small modules: ``evidence`` (value types), ``rules`` (YAML rule
files), ``sentences`` (units of a document), ``language``, ``polarity``,
``durations``, ``values``, ``classify``, ``align``, ``edits`` (the words an
edit changed) and ``meaning``.
"""

from analysis.classify import classify, classify_json_lines, classify_sentence, classify_units
from analysis.evidence import CATEGORIES, Classification, Duration, Evidence
from analysis.language import detect_language
from analysis.budget import Budget
from analysis.meaning import ChangeAnalysis, analyse_change, analysis_incomplete, is_formatting_change, not_analysed
from analysis.sentences import Unit, split_sentences, split_units

__all__ = [
    "Budget",
    "CATEGORIES",
    "ChangeAnalysis",
    "Classification",
    "Duration",
    "Evidence",
    "analyse_change",
    "analysis_incomplete",
    "classify",
    "classify_json_lines",
    "classify_sentence",
    "classify_units",
    "detect_language",
    "is_formatting_change",
    "not_analysed",
    "split_sentences",
    "split_units",
    "Unit",
]
