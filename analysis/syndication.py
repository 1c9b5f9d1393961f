"""Syndicated copies: the same wire story on several sites. Pure functions on text.

Texts are compared as sets of 5-word shingles (lower-cased words, punctuation
ignored). Their Jaccard similarity is near 1 for a wire copy that only adds
a site's boilerplate, and falls fast with edits: every changed word breaks
the five shingles that contain it, so a 5 % edit spread through a text
already drops it to about 0.6–0.7 (see ``tests/test_news_syndication.py``).
With the LSH threshold at 0.8, copies cluster and rewrites do not.

MinHash signatures (datasketch) estimate the similarity in constant space
per article, and an LSH index finds the candidates for a new article without
comparing it with every stored one. Signatures serialise to bytes for storage;
an index is rebuilt from them at run time. Copies share a cluster for
display and keep their own identity: who repeated a story matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH

SHINGLE_WORDS = 5
THRESHOLD = 0.8
NUM_PERM = 128
SEED = 1  # fixed: signatures stored today must compare with signatures computed next year
# datasketch's permutation scheme (2.x): signatures of different schemes do not compare, so
# storage keeps the scheme beside each signature.
SCHEME = "affine32"
MAX_SHINGLES = 50_000  # a very long page is compared on its first 50,000 shingles
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """The set of ``size``-word shingles of ``text``; a text shorter than ``size`` words is one shingle."""
    words = _WORD.findall(text.casefold())
    if not words:
        return set()
    if len(words) <= size:
        return {" ".join(words)}
    count = min(len(words) - size + 1, MAX_SHINGLES)
    return {" ".join(words[i:i + size]) for i in range(count)}


def jaccard(a: str, b: str, size: int = SHINGLE_WORDS) -> float:
    """The exact Jaccard similarity of two texts' shingle sets (0.0 when either is empty)."""
    sa, sb = shingles(a, size), shingles(b, size)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def signature(text: str, num_perm: int = NUM_PERM) -> MinHash:
    """The MinHash signature of ``text``'s shingles."""
    minhash = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME)
    minhash.update_batch([s.encode("utf-8") for s in shingles(text)])
    return minhash


def signature_bytes(minhash: MinHash) -> bytes:
    """A signature as bytes for storage (little-endian uint64 hash values)."""
    return np.asarray(minhash.hashvalues, dtype="<u8").tobytes()


def signature_from_bytes(data: bytes, scheme: str = SCHEME) -> MinHash:
    """A stored signature back as a MinHash; raises ``ValueError`` for bytes that are not one."""
    if not data or len(data) % 8:
        raise ValueError(f"{len(data)} bytes are not a MinHash signature (a multiple of 8 bytes)")
    values = np.frombuffer(data, dtype="<u8").astype(np.uint64)
    return MinHash(num_perm=len(values), seed=SEED, hashvalues=values, scheme=scheme)


def estimated_similarity(a: MinHash, b: MinHash) -> float:
    return float(a.jaccard(b))


@dataclass(frozen=True)
class Match:
    key: str
    similarity: float  # MinHash estimate


class SyndicationIndex:
    """An LSH index of article signatures: which stored articles is a new one a copy of?"""

    def __init__(self, threshold: float = THRESHOLD, num_perm: int = NUM_PERM):
        self.threshold = threshold
        self.num_perm = num_perm
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._signatures: dict[str, MinHash] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def __contains__(self, key: str) -> bool:
        return key in self._signatures

    def add(self, key: str, minhash: MinHash) -> None:
        if key in self._signatures:
            return
        self._lsh.insert(key, minhash)
        self._signatures[key] = minhash

    def matches(self, minhash: MinHash, exclude: str | None = None) -> list[Match]:
        """Stored articles whose estimated similarity reaches the threshold, most similar first."""
        found = []
        for key in self._lsh.query(minhash):
            if key == exclude:
                continue
            similarity = estimated_similarity(minhash, self._signatures[key])
            if similarity >= self.threshold:
                found.append(Match(key, round(similarity, 4)))
        return sorted(found, key=lambda m: (-m.similarity, m.key))

    def clusters(self) -> list[tuple[str, ...]]:
        """Groups of two or more articles linked by copies (transitively), each sorted, largest first."""
        parent = {key: key for key in self._signatures}

        def find(key: str) -> str:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        for key, minhash in self._signatures.items():
            for match in self.matches(minhash, exclude=key):
                a, b = find(key), find(match.key)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        groups: dict[str, list[str]] = {}
        for key in self._signatures:
            groups.setdefault(find(key), []).append(key)
        return sorted((tuple(sorted(g)) for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g))


def build_index(items: Iterable[tuple[str, MinHash]], threshold: float = THRESHOLD) -> SyndicationIndex:
    index = SyndicationIndex(threshold=threshold)
    for key, minhash in items:
        index.add(key, minhash)
    return index
