"""Content-addressed raw snapshots, compressed against a keyframe of the same source.

Real pages differ on every fetch (build hashes, nonces), so storing each one
alone costs ~80 KB a night per source. Compressed with zstd against an earlier
snapshot of the same source (its raw bytes as the history zstd matches
against), an unchanged page costs ~1-2 KB. Deltas are always taken against a *keyframe* (a blob stored on
its own), never against another delta, so reading any snapshot decompresses at
most two blobs. A new keyframe is written when the delta stops paying off.

Compression is tuned for speed (see README, "Measured"): a keyframe at zstd
level 1 (1.0 ms for a 545 KB page, 6 % larger than at level 3, which took
1.6 ms; level 12 took 9 ms), a delta with the fast strategy, a hash table
large enough to index the whole keyframe, a window that spans keyframe and
page, and the keyframe handed to zstd as a prefix (0.3-0.5 ms for a page
fetched again, the same ~0.6 KB as level 12 took 8 ms for; as a dictionary
it took 2 ms, `bench/delta_speed.py`). Blobs written with other
settings read the same: the format records what decompression needs. Keyframes
carry zstd's checksum of their content, so the one a page is compressed against
is checked by decompressing it rather than by its sha256: that finds a
damaged frame, not another intact frame of the same size put in its place,
which `policywatch check` finds (a delta made against it still reads back
while it stays).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from storage.db import core, insert_new
from storage.frames import ZstdError, carries_checksum, checked_decompress, raw_prefix, zstd
from storage.models import Blob

KEYFRAME_LEVEL = 1
_KEYFRAME_PARAMETERS = {zstd.CompressionParameter.compression_level: KEYFRAME_LEVEL,
                        zstd.CompressionParameter.checksum_flag: 1}
# The delta's match finder: one hash table slot per 4 bytes of a typical page and
# its keyframe; matches shorter than 7 bytes are not worth a slot.
_DELTA_HASH_LOG = 18
_DELTA_MIN_MATCH = 7
# zstd's decoders accept windows up to 2**27 without being told; a page (20 MB at most) and its keyframe fit.
_MIN_WINDOW_LOG, _MAX_WINDOW_LOG = 19, 27
# A delta larger than this fraction of the raw size means the page has drifted
# far from its keyframe (pages compress about 10:1 on their own): store a fresh
# keyframe instead.
KEYFRAME_RATIO = 0.02
KEYFRAME_MIN_BYTES = 256

log = logging.getLogger(__name__)


class BlobIntegrityError(RuntimeError):
    pass


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _delta_parameters(size: int) -> dict[Any, int]:
    # A match into the keyframe counts only while the keyframe is inside the window.
    window = min(_MAX_WINDOW_LOG, max(_MIN_WINDOW_LOG, size.bit_length()))
    parameter = zstd.CompressionParameter
    return {parameter.window_log: window, parameter.hash_log: min(_DELTA_HASH_LOG, window),
            parameter.chain_log: min(_DELTA_HASH_LOG, window), parameter.search_log: 1,
            parameter.min_match: _DELTA_MIN_MATCH, parameter.target_length: 0, parameter.strategy: zstd.Strategy.fast}


def payload(data: bytes, keyframe: tuple[str, bytes] | None) -> tuple[bytes, str | None]:
    """What to store of `data` (raw page or text) and the keyframe it needs: a delta against `keyframe` (its
    sha256 and checked bytes) while that pays off, `data` compressed on its own otherwise."""
    if keyframe is not None:
        delta = compress(data, keyframe[1])
        if len(delta) <= max(KEYFRAME_MIN_BYTES, KEYFRAME_RATIO * len(data)):
            return delta, keyframe[0]
    return compress(data, None), None


def compress(data: bytes, base: bytes | None) -> bytes:
    if base is None:
        # With zstd's checksum of the content: a keyframe is checked by decompressing it before pages are
        # compressed against it, at a seventh of what its sha256 costs.
        return zstd.compress(data, options=_KEYFRAME_PARAMETERS)
    # The keyframe as a prefix, not a dictionary: see storage.frames.
    return zstd.compress(data, options=_delta_parameters(len(base) + len(data)), zstd_dict=raw_prefix(base))


# Built once: a page is stored on every fetch (see storage.record).
_EXISTS = select(Blob.sha256).where(Blob.sha256 == bindparam("sha256"))
_STORED = select(Blob.sha256, Blob.base_sha256, Blob.size, Blob.data).where(Blob.sha256 == bindparam("sha256"))


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    new: bool
    stored_bytes: int


def store(session: Session, data: bytes, keyframe_sha256: str | None) -> StoredBlob:
    """Store `data` once; compress it against `keyframe_sha256` when that pays off."""
    digest = sha256_hex(data)
    if core(session).execute(_EXISTS, {"sha256": digest}).first() is not None:
        return StoredBlob(digest, False, 0)
    keyframe = (core(session).execute(_STORED, {"sha256": keyframe_sha256}).first()
                if keyframe_sha256 is not None else None)
    return store_new(session, data, digest, keyframe)


def store_new(session: Session, data: bytes, digest: str, keyframe: Row[Any] | None) -> StoredBlob:
    """Store `data` (sha256 `digest`, found not stored yet), compressed against `keyframe` when that pays off.
    `keyframe`: its row (`sha256`, `base_sha256`, `size`, `data`), which a caller may read in the same statement
    as it asks whether `data` is stored (`storage.record`)."""
    against: tuple[str, bytes] | None = None
    if keyframe is not None and keyframe.base_sha256 is None:
        try:
            # The keyframe's row is at hand: its bytes need no second query.
            against = keyframe.sha256, _checked_keyframe(keyframe.sha256, keyframe.data, keyframe.size)
        except (BlobIntegrityError, ZstdError) as exc:
            # A damaged keyframe must not stop new pages being kept: this one is stored on its own.
            log.warning("raw snapshot %s cannot be read (%s); the new page is stored without it "
                        "(`policywatch check` lists damaged snapshots)", keyframe.sha256, exc)
    stored, base = payload(data, against)
    inserted = insert_new(session, Blob, sha256=digest, size=len(data), base_sha256=base, data=stored)
    return StoredBlob(digest, inserted, len(stored) if inserted else 0)


def keyframe_of(session: Session, sha256: str) -> str:
    blob = session.get(Blob, sha256)
    if blob is None:
        raise BlobIntegrityError(f"blob {sha256} is missing")
    return blob.base_sha256 or blob.sha256


def _checked_decompress(sha256: str, data: bytes, size: int, base: bytes | None) -> bytes:
    return checked_decompress(data, size, base, name=f"blob {sha256}", error=BlobIntegrityError)


def read(session: Session, sha256: str) -> bytes:
    """The exact bytes stored under `sha256`, verified; BlobIntegrityError when they cannot be had."""
    row = session.execute(select(Blob.data, Blob.base_sha256, Blob.size).where(Blob.sha256 == sha256)).one_or_none()
    if row is None:
        raise BlobIntegrityError(f"blob {sha256} is missing")
    data, base_sha, size = row
    base = None
    if base_sha is not None:
        base_row = session.execute(select(Blob.data, Blob.base_sha256, Blob.size)
                                   .where(Blob.sha256 == base_sha)).one_or_none()
        if base_row is None or base_row[1] is not None:
            raise BlobIntegrityError(f"blob {sha256}: its keyframe {base_sha} is missing or not a keyframe")
        base = _checked_decompress(base_sha, base_row[0], base_row[2], None)
    return _verified(sha256, _checked_decompress(sha256, data, size, base))


def _checked_keyframe(sha256: str, data: bytes, size: int) -> bytes:
    """A keyframe's bytes, checked: by zstd's checksum when its frame carries one (decompressing checks it), by its
    sha256 otherwise (keyframes written before they carried one)."""
    raw = _checked_decompress(sha256, data, size, None)
    return raw if carries_checksum(data) else _verified(sha256, raw)


def _verified(sha256: str, raw: bytes) -> bytes:
    if sha256_hex(raw) != sha256:
        raise BlobIntegrityError(f"blob {sha256}: stored bytes do not match their sha256")
    return raw
