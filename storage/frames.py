"""Zstd for storage: the module it compresses with, and stored frames read back against their size.

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
raw-content dictionary, and the other way round, so frames written with
python-zstandard's dictionaries read here too.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 14):
    try:
        from compression import zstd
    except ImportError:  # a Python built without zstd
        raise ImportError("policywatch stores pages with zstd: this Python 3.14 was built without "
                          "compression.zstd (install one with it, or libzstd's headers and rebuild)") from None
else:
    from backports import zstd

ZstdError = zstd.ZstdError

# zstd's encoder leaves out a history shorter than this (python-zstandard's dictionaries too, so no stored frame
# refers to one), and the module refuses one: such a history is neither compressed nor decompressed against.
_MIN_HISTORY = 8
_MAGIC = b"\x28\xb5\x2f\xfd"


def raw_prefix(base: bytes | None) -> tuple[zstd.ZstdDict, int] | None:
    """`base` as the history a frame is compressed or decompressed against (zstd's prefix)."""
    return zstd.ZstdDict(base, is_raw=True).as_prefix if base is not None and len(base) >= _MIN_HISTORY else None


def carries_checksum(frame: bytes) -> bool:
    """Whether a zstd frame ends with zstd's checksum of its content, which decompressing it checks (RFC 8878,
    3.1.1.1.1: bit 2 of the frame header's descriptor, the byte after the magic number)."""
    return frame[:4] == _MAGIC and len(frame) > 4 and bool(frame[4] & 0x04)


def checked_decompress(data: bytes, size: int, base: bytes | None, *, name: str,
                       error: type[Exception]) -> bytes:
    """A stored frame decompressed; `error` names `name` when it cannot be.

    A damaged frame header may claim any size: it is checked against the size
    stored beside it before anything is allocated, and no more than that size is
    ever decompressed.
    """
    try:
        declared = zstd.get_frame_info(data).decompressed_size
    except ZstdError as exc:
        raise error(f"{name}: cannot be decompressed ({exc})") from None
    if declared != size:
        raise error(f"{name}: its compressed frame declares {declared} bytes, not the {size} stored")
    # One frame, and never more than the stored size (and a byte to tell more): a row with more after its frame is
    # refused without reading what follows.
    decompressor = zstd.ZstdDecompressor(zstd_dict=raw_prefix(base))
    try:
        raw = decompressor.decompress(data, max_length=size + 1)
    except ZstdError as exc:
        raise error(f"{name}: cannot be decompressed ({exc})") from None
    if not decompressor.eof or len(raw) != size:
        raise error(f"{name}: its frame gives {len(raw)}{'' if decompressor.eof else ' or more'} bytes, "
                    f"not the {size} stored")
    if decompressor.unused_data:
        raise error(f"{name}: {len(decompressor.unused_data)} bytes follow its frame")
    return raw
