"""Version texts, compressed with zstd against a keyframe of the same source, addressed by their sha256.

A policy's consecutive versions differ by a few words, so each text is
compressed against an earlier text of its source (a *keyframe*, stored on
its own), exactly as raw pages are (`storage.blobs`,
whose compression this shares). On OpenAI's real history (907 versions,
26.6 MB of text) that stores 0.6 MB, where zstd on each text alone stores
9.2 MB. Deltas are always against a keyframe, never another delta, so reading
any text decompresses at most two frames; a new keyframe is stored when the
delta grows past 2 % of the text.

The key is the sha256 of the text's UTF-8 bytes (`Version.sha256`), and
every read is checked against it: a reader gets back exactly the string that
was stored, or a `TextIntegrityError`. Identical texts (a revert, two sources
with the same wording) are stored once. Decoding is `storage.textcodec`'s,
which `storage.reader` shares: this module is the only one that writes texts,
and the reading commands read them without SQLAlchemy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from storage.blobs import payload
from storage.db import core, insert_new
from storage.models import Version, VersionText
from storage.textcodec import BATCH as _BATCH
from storage.textcodec import StoredText, TextIntegrityError, read_texts
from storage.textcodec import as_text as _as_text
from storage.textcodec import decoded as _decoded

# Built once: every fetch of a known source reads texts.
_COLUMNS = (VersionText.sha256, VersionText.base_sha256, VersionText.size, VersionText.data)
_ROWS = select(*_COLUMNS).where(VersionText.sha256.in_(bindparam("shas", expanding=True)))
# A fetch reads one text (the current version's): a list of one would be expanded at every execution.
_ROW = select(*_COLUMNS).where(VersionText.sha256 == bindparam("sha"))
_EXISTS = select(VersionText.sha256).where(VersionText.sha256 == bindparam("sha"))
_KEYFRAME = select(VersionText.sha256, VersionText.base_sha256).where(VersionText.sha256 == bindparam("sha"))


def store(session: Session, text: str, keyframe_sha256: str | None) -> str:
    """Store `text` once, compressed against the keyframe `keyframe_sha256` when that pays; its sha256."""
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    # Statements of the connection, not the session's get: a text stored already (the same wording at another
    # source) or a keyframe needs no object built for it, with its compressed bytes, in the session.
    if core(session).execute(_EXISTS, {"sha": digest}).first() is not None:
        return digest
    against: tuple[str, bytes] | None = None
    keyframe = (core(session).execute(_ROW, {"sha": keyframe_sha256}).first()
                if keyframe_sha256 is not None else None)
    if keyframe is not None and keyframe.base_sha256 is None:
        try:
            against = keyframe.sha256, _decoded(keyframe.sha256, keyframe.data, keyframe.size, None)
        except TextIntegrityError:
            # A damaged keyframe must not stop new versions being kept: this text is stored on its own
            # (`policywatch check` names the damaged one).
            pass
    stored, base = payload(data, against)
    insert_new(session, VersionText, sha256=digest, size=len(data), chars=len(text), base_sha256=base, data=stored)
    return digest


def keyframe_of(session: Session, sha256: str) -> str | None:
    """The keyframe the text `sha256` was compressed against (itself when it is one); None when it is missing."""
    row = core(session).execute(_KEYFRAME, {"sha": sha256}).one_or_none()
    return None if row is None else (row[1] or row[0])


def read(session: Session, sha256: str) -> str:
    """The text stored under `sha256`, verified; TextIntegrityError when it cannot be had."""
    return read_many(session, (sha256,))[sha256]


def read_many(session: Session, shas: Iterable[str]) -> dict[str, str]:
    """The texts stored under each of `shas`, verified, each keyframe decompressed once."""
    def fetch(keys: Sequence[str]) -> list[StoredText]:
        rows = (core(session).execute(_ROW, {"sha": keys[0]}) if len(keys) == 1
                else core(session).execute(_ROWS, {"shas": list(keys)}))
        return [tuple(row) for row in rows]  # type: ignore[misc]

    return read_texts(shas, fetch)


def read_readable(session: Session, shas: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The texts under `shas` that read back as their sha256, and what is wrong with each of the others.

    For a report that carries on around damage: the texts are read together, and only when one of them
    fails are they read again one by one to tell which."""
    wanted = sorted(set(shas))
    try:
        return read_many(session, wanted), {}
    except TextIntegrityError:
        pass
    found: dict[str, str] = {}
    damaged: dict[str, str] = {}
    for sha in wanted:
        try:
            found[sha] = read(session, sha)
        except TextIntegrityError as exc:
            damaged[sha] = str(exc)
    return found, damaged


def of(session: Session, version: Version) -> str:
    """The text of `version`."""
    return read(session, version.sha256)


def of_versions(session: Session, versions: Iterable[Version]) -> dict[int, str]:
    """The texts of `versions` by version id."""
    listed = list(versions)
    found = read_many(session, (v.sha256 for v in listed))
    return {v.id: found[v.sha256] for v in listed}


def by_version_id(session: Session, version_ids: Iterable[int]) -> dict[int, str]:
    """The texts of the versions with these ids, by id."""
    wanted = sorted(set(version_ids))
    shas: dict[int, str] = {}
    for start in range(0, len(wanted), _BATCH):
        shas.update(session.execute(select(Version.id, Version.sha256)
                                    .where(Version.id.in_(wanted[start:start + _BATCH]))).all())
    found = read_many(session, shas.values())
    return {vid: found[sha] for vid, sha in shas.items()}


def stored_digests(session: Session) -> dict[str, str]:
    """For each stored text, a digest of its stored bytes and of those of the keyframe it is compressed against
    (`"missing"` for a keyframe that is not there), in one pass over the rows: a text damaged since it was last
    looked at changes its digest, without decompressing and hashing every text again."""
    own: dict[str, str] = {}
    bases: dict[str, str] = {}
    rows = select(VersionText.sha256, VersionText.base_sha256, VersionText.data).execution_options(yield_per=_BATCH)
    for sha, base_sha, data in session.execute(rows):
        own[sha] = hashlib.blake2b(data, digest_size=16).hexdigest()
        if base_sha is not None:
            bases[sha] = base_sha
    return {sha: f"{digest}+{own.get(bases[sha], 'missing')}" if sha in bases else digest
            for sha, digest in own.items()}


@dataclass(frozen=True)
class Checked:
    texts: int
    problems: list[tuple[str, str]]  # (sha256, what is wrong)


def check_all(session: Session) -> Checked:
    """Decompress every stored text and compare it with its sha256 and its length, holding one keyframe at a time.

    Rows come ordered by the keyframe they belong to, each keyframe just before the texts compressed against it.
    """
    problems: list[tuple[str, str]] = []
    count = 0
    group = func.coalesce(VersionText.base_sha256, VersionText.sha256)
    query = (select(VersionText.sha256, VersionText.base_sha256, VersionText.size, VersionText.chars,
                    VersionText.data)
             .order_by(group, VersionText.base_sha256.is_not(None), VersionText.sha256)
             .execution_options(yield_per=_BATCH))
    keyframe: tuple[str, bytes | None] = ("", None)
    for sha, base_sha, size, chars, data in session.execute(query):
        count += 1
        try:
            if base_sha is None:
                keyframe = (sha, None)
                raw = _decoded(sha, data, size, None)
                keyframe = (sha, raw)
            elif keyframe[0] != base_sha or keyframe[1] is None:
                raise TextIntegrityError(f"version text {sha}: its keyframe {base_sha} is missing or unreadable")
            else:
                raw = _decoded(sha, data, size, keyframe[1])
            text = _as_text(sha, raw)
        except TextIntegrityError as exc:
            problems.append((sha, str(exc)))
            continue
        if len(text) != chars:
            problems.append((sha, f"version text {sha}: {len(text)} characters, not the {chars} stored"))
    return Checked(count, problems)
