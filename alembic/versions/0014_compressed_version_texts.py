"""Version texts move to `version_texts`, zstd-compressed against a keyframe text of the same source.

Each source's versions are converted in number order, a few at a time (memory
holds one batch and the source's keyframe); a text whose sha256 is not the one
its version records stops the upgrade, naming the version, with nothing
changed. The downgrade puts every text back into `versions.text`.

The compression is written out here rather than imported, so that this
revision converts the same way whatever `storage.texts` later becomes; any
zstd frame it writes reads back with the code of any later revision.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
import hashlib

from alembic import op
import sqlalchemy as sa
import zstandard

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BATCH = 50
KEYFRAME_LEVEL = 3
KEYFRAME_RATIO = 0.02
KEYFRAME_MIN_BYTES = 256

versions = sa.table("versions", sa.column("id", sa.Integer), sa.column("source_id", sa.String),
                    sa.column("number", sa.Integer), sa.column("sha256", sa.String), sa.column("text", sa.Text))
texts = sa.table("version_texts", sa.column("sha256", sa.String), sa.column("size", sa.Integer),
                 sa.column("chars", sa.Integer), sa.column("base_sha256", sa.String),
                 sa.column("data", sa.LargeBinary))


def _delta(data: bytes, base: bytes) -> bytes:
    size = len(base) + len(data)
    window = min(27, max(19, size.bit_length()))
    parameters = zstandard.ZstdCompressionParameters(
        window_log=window, hash_log=min(18, window), chain_log=min(18, window), search_log=1, min_match=7,
        target_length=0, strategy=zstandard.STRATEGY_FAST)
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdCompressor(dict_data=dictionary, compression_params=parameters).compress(data)


def _inflate(data: bytes, base: bytes | None) -> bytes:
    if base is None:
        return zstandard.ZstdDecompressor().decompress(data)
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdDecompressor(dict_data=dictionary).decompress(data)


def upgrade() -> None:
    op.create_table(
        "version_texts",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("base_sha256", sa.String(64), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["base_sha256"], ["version_texts.sha256"],
                                name="fk_version_texts_base_sha256_version_texts"),
        sa.PrimaryKeyConstraint("sha256", name="pk_version_texts"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.dialect.dbapi.sqlite_version_info < (3, 35):
        # `versions` is pointed at by other tables' rows, so SQLite could only drop the column in place.
        raise RuntimeError(f"this upgrade needs SQLite 3.35 or later to drop a column (this Python has "
                           f"{bind.dialect.dbapi.sqlite_version}); nothing was changed")
    for (source_id,) in bind.execute(sa.select(versions.c.source_id).distinct().order_by(versions.c.source_id)).all():
        _convert_source(bind, source_id)
    # In place, not by rebuilding the table (what a batch operation does on SQLite): other tables' rows point at it.
    op.drop_column("versions", "text")


def _convert_source(bind: sa.engine.Connection, source_id: str) -> None:
    keyframe: tuple[str, bytes] | None = None
    last = 0
    while True:
        rows = bind.execute(sa.select(versions.c.number, versions.c.sha256, versions.c.text)
                            .where(versions.c.source_id == source_id, versions.c.number > last)
                            .order_by(versions.c.number).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1][0]
        stored = set(bind.execute(sa.select(texts.c.sha256).where(texts.c.sha256.in_({r[1] for r in rows}))).scalars())
        new = []
        for number, sha, text in rows:
            data = text.encode("utf-8")
            if hashlib.sha256(data).hexdigest() != sha:
                raise RuntimeError(f"{source_id} v{number}: its text does not match its sha256 {sha}; nothing was "
                                   "converted (`policywatch check` with the previous release names every such "
                                   "version)")
            if sha in stored:
                continue
            payload, base = None, None
            if keyframe is not None:
                delta = _delta(data, keyframe[1])
                if len(delta) <= max(KEYFRAME_MIN_BYTES, KEYFRAME_RATIO * len(data)):
                    payload, base = delta, keyframe[0]
            if payload is None:
                payload = zstandard.ZstdCompressor(level=KEYFRAME_LEVEL).compress(data)
                keyframe = (sha, data)
            new.append({"sha256": sha, "size": len(data), "chars": len(text), "base_sha256": base, "data": payload})
            stored.add(sha)
        if new:
            bind.execute(sa.insert(texts), new)


def downgrade() -> None:
    # NOT NULL needs a default to be added in place; every row gets its text below.
    op.add_column("versions", sa.Column("text", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    base_rows = texts.alias("base")
    last = 0
    while True:
        rows = bind.execute(
            sa.select(versions.c.id, texts.c.sha256, texts.c.data, base_rows.c.sha256, base_rows.c.data)
            .outerjoin(texts, texts.c.sha256 == versions.c.sha256)
            .outerjoin(base_rows, base_rows.c.sha256 == texts.c.base_sha256)
            .where(versions.c.id > last).order_by(versions.c.id).limit(BATCH)).all()
        if not rows:
            break
        last = rows[-1][0]
        keyframes: dict[str, bytes] = {}
        updates = []
        for vid, sha, data, base_sha, base_data in rows:
            if sha is None:
                raise RuntimeError(f"version {vid}: its text is missing from version_texts")
            base = None
            if base_sha is not None:
                if base_sha not in keyframes:
                    keyframes[base_sha] = _inflate(base_data, None)
                base = keyframes[base_sha]
            raw = _inflate(data, base)
            if hashlib.sha256(raw).hexdigest() != sha:
                raise RuntimeError(f"version {vid}: its stored text does not match its sha256 {sha}")
            updates.append({"vid": vid, "text": raw.decode("utf-8")})
        bind.execute(versions.update().where(versions.c.id == sa.bindparam("vid"))
                     .values(text=sa.bindparam("text")), updates)
    op.drop_table("version_texts")
