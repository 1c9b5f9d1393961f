"""Sentences that may bear on a claim, ranked by BM25: help for writing matchers, never evidence.

Similarity cannot decide a claim (a contradiction rarely paraphrases it, and
a claim nobody states scores as high as one that is stated), so these are
only suggestions for whoever writes or reviews a claim's matchers: the
statement in the claim's language is the query, the sentences of the given
texts are the corpus, both tokenised by bm25s with Snowball stemming
(PyStemmer) and bm25s's stop words for that language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis.claims.matching import hits_in_text
from analysis.claims.model import Claim, base_language
from analysis.sentences import split_sentences

SNOWBALL = {"en": "english", "de": "german", "fr": "french"}
DEFAULT_TOP = 5
# Sentences in the corpus at most: bounds memory and time on a pathological input.
MAX_SENTENCES = 50_000
LABEL = "suggestion (similar wording, not evidence)"


@dataclass(frozen=True)
class Suggestion:
    rank: int
    score: float
    source_id: str
    sentence: str
    matched_by: tuple[str, ...]  # the claim's matchers that already match the sentence

    def to_json(self) -> dict[str, Any]:
        return {"label": LABEL, "rank": self.rank, "score": round(self.score, 4), "source": self.source_id,
                "sentence": self.sentence, "matched_by": list(self.matched_by)}


def suggest(claim: Claim, texts: Mapping[str, str], language: str, *, top: int = DEFAULT_TOP) -> list[Suggestion]:
    """The ``top`` sentences of ``texts`` (source id → text, all in ``language``) closest to the claim's statement."""
    language = base_language(language)
    if language not in SNOWBALL:
        raise ValueError(f"no stemmer for language {language!r}; expected one of {', '.join(SNOWBALL)}")
    corpus: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for source_id, text in sorted(texts.items()):
        for sentence in split_sentences(text, language):
            if (source_id, sentence) not in seen and len(corpus) < MAX_SENTENCES:
                seen.add((source_id, sentence))
                corpus.append((source_id, sentence))
    if not corpus or top <= 0:
        return []
    # Imported here: bm25s brings numpy, which commands that never suggest should not pay for.
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer(SNOWBALL[language])
    tokens = bm25s.tokenize([s for _, s in corpus], stopwords=language, stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    query = bm25s.tokenize([claim.statement_in(language)], stopwords=language, stemmer=stemmer, show_progress=False)
    ids, scores = retriever.retrieve(query, k=min(top, len(corpus)), show_progress=False)
    out = []
    for rank, (index, score) in enumerate(zip(ids[0], scores[0]), start=1):
        if score <= 0:
            break
        source_id, sentence = corpus[int(index)]
        matched = tuple(dict.fromkeys(h.matcher_id for h in hits_in_text(claim, [sentence], language)))
        out.append(Suggestion(rank=rank, score=float(score), source_id=source_id, sentence=sentence,
                              matched_by=matched))
    return out
