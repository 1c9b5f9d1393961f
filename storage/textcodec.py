"""Decoding stored version texts: zstd frames against a keyframe, checked against their size and sha256.

The rows come from whoever asks the database (`storage.texts` through its
session, `storage.reader` with plain SQL); what is done with them is here
once, so both read exactly the same string or fail with the same
`TextIntegrityError`. Needs neither SQLAlchemy nor the models.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from storage.frames import checked_decompress

# Rows fetched per query when reading many texts: bounded by SQLite's parameter limit and by memory.
BATCH = 400

StoredText = tuple[str, "str | None", int, bytes]
"""A `version_texts` row as read: (sha256, base_sha256, size, data)."""


class TextIntegrityError(RuntimeError):
    pass


def decoded(sha256: str, data: bytes, size: int, base: bytes | None) -> bytes:
    """The UTF-8 bytes of the text stored under `sha256`, verified against it."""
    raw = checked_decompress(bytes(data), size, base, name=f"version text {sha256}", error=TextIntegrityError)
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise TextIntegrityError(f"version text {sha256}: stored text does not match its sha256")
    return raw


def as_text(sha256: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextIntegrityError(f"version text {sha256}: not UTF-8 ({exc})") from None


def read_texts(shas: Iterable[str], fetch: Callable[[Sequence[str]], Iterable[StoredText]]) -> dict[str, str]:
    """The texts stored under each of `shas`, verified, each keyframe decompressed once.

    `fetch(keys)` returns the stored rows of those of `keys` that exist (at most `BATCH` keys a call).
    """
    wanted = sorted(set(shas))
    out: dict[str, str] = {}
    keyframes: dict[str, bytes] = {}
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start:start + BATCH]
        rows = {r[0]: r for r in fetch(chunk)}
        missing = [sha for sha in chunk if sha not in rows]
        if missing:
            raise TextIntegrityError(f"version text {missing[0]} is missing")
        needed = sorted({r[1] for r in rows.values() if r[1] is not None and r[1] not in keyframes})
        for base_sha, base_base, size, data in (fetch(needed) if needed else ()):
            if base_base is not None:
                raise TextIntegrityError(f"version text {base_sha} is used as a keyframe but is not one")
            keyframes[base_sha] = decoded(base_sha, data, size, None)
        for sha, base_sha, size, data in rows.values():
            if base_sha is not None and base_sha not in keyframes:
                raise TextIntegrityError(f"version text {sha}: its keyframe {base_sha} is missing")
            out[sha] = as_text(sha, decoded(sha, data, size, keyframes[base_sha] if base_sha else None))
        if len(keyframes) > BATCH:
            keyframes.clear()
    return out
