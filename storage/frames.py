"""Reading back zstd frames stored beside their size, against a raw-content dictionary or none.

Raw pages (`storage.blobs`) and version texts (`storage.textcodec`) are
stored the same way; both read them here. Needs neither SQLAlchemy nor the
models, so the reading commands decode texts without them.

Storage speaks to zstd through the standard library's `compression.zstd`
(Python 3.14; `backports.zstd`, the same module, before it), because it can
hand zstd a keyframe as a *prefix*: zstd indexes a prefix in its fast mode,
where a dictionary (all python-zstandard offers) is indexed in full, about
three times as long for a 1 MB keyframe, for the same delta
(`bench/delta_speed.py`). Frames are zstd's format either way: a frame
compressed against a prefix reads back against the same bytes as a
raw-content dictionary, and the other way round.
"""

from __future__ import annotations

try:
    from compression import zstd  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # before Python 3.14
    from backports import zstd  # type: ignore[import-not-found, no-redef, unused-ignore]

ZstdError = zstd.ZstdError


# zstd ignores a history shorter than this when compressing (and the module refuses one).
_MIN_HISTORY = 8


def raw_prefix(base: bytes | None) -> "zstd.ZstdDict | None":
    """`base` as the history a frame is compressed or decompressed against (zstd's prefix)."""
    return zstd.ZstdDict(base, is_raw=True).as_prefix if base is not None and len(base) >= _MIN_HISTORY else None


def carries_checksum(frame: bytes) -> bool:
    """Whether a zstd frame ends with zstd's checksum of its content, which decompressing it checks (RFC 8878,
    3.1.1.1.1: bit 2 of the frame header's descriptor, the byte after the magic number)."""
    return frame[:4] == _MAGIC and len(frame) > 4 and bool(frame[4] & 0x04)


_MAGIC = b"\x28\xb5\x2f\xfd"


def decompress(data: bytes, base: bytes | None) -> bytes:
    """A frame decompressed, against `base` when it was compressed against it."""
    return zstd.decompress(data, zstd_dict=raw_prefix(base))


def checked_decompress(data: bytes, size: int, base: bytes | None, *, name: str,
                       error: type[Exception]) -> bytes:
    """A stored frame decompressed; `error` names `name` when it cannot be.

    A damaged frame header may claim any size: it is checked against the size
    stored beside it before anything is allocated.
    """
    try:
        declared = zstd.get_frame_info(data).decompressed_size
    except ZstdError as exc:
        raise error(f"{name}: cannot be decompressed ({exc})") from None
    if declared != size:
        raise error(f"{name}: its compressed frame declares {declared} bytes, not the {size} stored")
    try:
        raw = decompress(data, base)
    except ZstdError as exc:
        raise error(f"{name}: cannot be decompressed ({exc})") from None
    if len(raw) != size:  # a frame appended after the first would be read too
        raise error(f"{name}: decompresses to {len(raw)} bytes, not the {size} stored")
    return raw
