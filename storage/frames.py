"""Reading back zstd frames stored beside their size, against a raw-content dictionary or none.

Raw pages (`storage.blobs`) and version texts (`storage.textcodec`) are
stored the same way; both read them here. Needs neither SQLAlchemy nor the
models, so the reading commands decode texts without them.
"""

from __future__ import annotations

import zstandard


def decompress(data: bytes, base: bytes | None) -> bytes:
    """A frame decompressed, against `base` as a raw-content dictionary when it was compressed against one."""
    if base is None:
        return zstandard.ZstdDecompressor().decompress(data)
    dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdDecompressor(dict_data=dictionary).decompress(data)


def checked_decompress(data: bytes, size: int, base: bytes | None, *, name: str,
                       error: type[Exception]) -> bytes:
    """A stored frame decompressed; `error` names `name` when it cannot be.

    A damaged frame header may claim any size: it is checked against the size
    stored beside it before anything is allocated.
    """
    try:
        declared = zstandard.frame_content_size(data)
    except zstandard.ZstdError as exc:
        raise error(f"{name}: cannot be decompressed ({exc})") from None
    if declared != size:
        raise error(f"{name}: its compressed frame declares {declared} bytes, not the {size} stored")
    try:
        return decompress(data, base)
    except zstandard.ZstdError as exc:
        raise error(f"{name}: cannot be decompressed ({exc})") from None
