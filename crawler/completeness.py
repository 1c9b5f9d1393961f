"""Responses cut short never pass as pages: Scrapy's decompression, made to notice streams that end early.

Scrapy decodes a gzip, deflate, Brotli or zstd body that was cut short
without an error, and delivers a body shorter than its Content-Length (with
`DOWNLOAD_FAIL_ON_DATALOSS` off, as here) flagged `dataloss`. This
middleware takes the place of Scrapy's HttpCompressionMiddleware (at 590,
where the raw body and its headers are still as sent) and checks both: a
body shorter than announced, or a compressed stream without its end, is
retried like a failed download and, if it stays cut short, marked
`truncated` in the request's meta (`TRUNCATED`). The spider records it as a
failed fetch, keeping what could be decoded as evidence.

It also counts the bytes of every response as they arrive, so that a
download Scrapy cancels for passing `DOWNLOAD_MAXSIZE` (an endless chunked
stream) is recognised as `oversize` (`OVERSIZE_AT`).
"""

from __future__ import annotations

import zlib
from io import BytesIO
from typing import Any

from scrapy import Request, signals
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.responsetypes import responsetypes

from ingest.results import FetchFailure
from storage.vocabulary import FailureKind

TRUNCATED = "policywatch_truncated"  # the FetchFailure of a response that was cut short
OVERSIZE_AT = "policywatch_oversize_at"  # bytes received when a download passed the size limit
_RECEIVED = "policywatch_bytes_received"
_CHUNK = 65536


class TooLarge(ValueError):
    pass


class Decoded:
    """A decoded body, and whether its compressed stream ended where it should."""

    def __init__(self, body: bytes, complete: bool):
        self.body, self.complete = body, complete


def _sink(max_size: int) -> Any:
    out = BytesIO()

    def write(chunk: bytes) -> None:
        if max_size and out.tell() + len(chunk) > max_size:
            raise TooLarge(out.tell() + len(chunk))
        out.write(chunk)
    return out, write


def _zlib(data: bytes, wbits: int, max_size: int, members: bool) -> Decoded:
    out, write = _sink(max_size)
    while True:
        stream = zlib.decompressobj(wbits)
        pending = data
        while not stream.eof:
            chunk = stream.decompress(pending, _CHUNK)
            write(chunk)
            pending = stream.unconsumed_tail
            if not chunk and not pending:
                break
        if not stream.eof:
            return Decoded(out.getvalue(), False)
        data = stream.unused_data
        # gzip allows several members in a row, and some servers pad with NULs.
        if not members or not data.strip(b"\x00"):
            return Decoded(out.getvalue(), True)


def gunzip(data: bytes, max_size: int = 0) -> Decoded:
    return _zlib(data, 16 + zlib.MAX_WBITS, max_size, members=True)


def inflate(data: bytes, max_size: int = 0) -> Decoded:
    try:
        zlib.decompressobj().decompress(data[:2048], 1)
    except zlib.error:
        # Raw deflate, as some Microsoft servers send it.
        return _zlib(data, -zlib.MAX_WBITS, max_size, members=False)
    return _zlib(data, zlib.MAX_WBITS, max_size, members=False)


def unbrotli(data: bytes, max_size: int = 0) -> Decoded:
    import brotli

    out, write = _sink(max_size)
    stream = brotli.Decompressor()
    write(stream.process(data, output_buffer_limit=_CHUNK))
    while not stream.is_finished():
        chunk = stream.process(b"", output_buffer_limit=_CHUNK)
        if not chunk:
            break
        write(chunk)
    return Decoded(out.getvalue(), stream.is_finished())


def unzstd(data: bytes, max_size: int = 0) -> Decoded:
    import zstandard

    out, write = _sink(max_size)
    stream = zstandard.ZstdDecompressor().decompressobj()
    # Fed in small slices: one call's output is bounded by what a slice can expand to.
    for start in range(0, len(data), 256):
        write(stream.decompress(data[start:start + 256]))
        if stream.eof:
            break
    return Decoded(out.getvalue(), stream.eof)


DECODERS = {b"gzip": gunzip, b"x-gzip": gunzip, b"deflate": inflate, b"br": unbrotli, b"zstd": unzstd}


def decode(body: bytes, encodings: list[bytes], max_size: int) -> tuple[Decoded, list[bytes]]:
    """Undo the encodings Scrapy would undo, innermost last; the encodings left as they are."""
    to_decode, to_keep = HttpCompressionMiddleware._split_encodings(encodings)
    decoded = Decoded(body, True)
    for encoding in to_decode:
        decoded = DECODERS[encoding](decoded.body, max_size)
        if not decoded.complete:
            return decoded, []
    return decoded, to_keep


def short_of_length(response: Response) -> str | None:
    """Why the body is shorter than the response said it would be, or None."""
    declared = response.headers.get(b"Content-Length")
    if "dataloss" in response.flags:
        said = f" of the {int(declared)} its Content-Length announced" if declared and declared.isdigit() else ""
        return f"the connection closed after {len(response.body)} bytes{said}"
    if declared and declared.strip().isdigit() and len(response.body) < int(declared):
        return f"{len(response.body)} bytes of the {int(declared)} its Content-Length announced"
    return None


class CompleteCompressionMiddleware(HttpCompressionMiddleware):
    def __init__(self, crawler: Any):
        super().__init__(crawler=crawler)
        self.crawler = crawler
        self.retry_times = crawler.settings.getint("RETRY_TIMES")
        crawler.signals.connect(self.bytes_received, signals.bytes_received)

    def bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        received = request.meta.get(_RECEIVED, 0) + len(data)
        request.meta[_RECEIVED] = received
        if self._max_size and received > self._max_size:
            request.meta[OVERSIZE_AT] = received

    def _cut_short(self, request: Request, response: Response, why: str) -> Request | Response:
        retry = get_retry_request(request, spider=self.crawler.spider, reason="truncated",
                                  max_retry_times=self.retry_times)
        if retry is not None:
            return retry
        request.meta[TRUNCATED] = FetchFailure(FailureKind.TRUNCATED, f"{response.url}: cut short: {why}",
                                               response.status, response.url)
        return response

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        request.meta.pop(TRUNCATED, None)
        if request.method == "HEAD" or "playwright" in response.flags:
            # The browser's answer is the page it rendered, not the bytes sent: its lengths say nothing.
            return super().process_response(request, response)
        short = short_of_length(response)
        encodings = response.headers.getlist("Content-Encoding")
        if not encodings:
            return self._cut_short(request, response, short) if short else response
        max_size = request.meta.get("download_maxsize", self._max_size)
        try:
            decoded, kept = decode(response.body, encodings, max_size)
        except TooLarge as exc:
            raise IgnoreRequest(f"Ignored response {response} because its body exceeded DOWNLOAD_MAXSIZE "
                                f"({max_size} B) during decompression ({exc} B so far): max size") from None
        except Exception as exc:  # a stream that is not what it claims (zlib.error, brotli.error, ZstdError)
            return self._cut_short(request, response, f"its {b', '.join(encodings).decode('latin-1')} body "
                                   f"cannot be decoded ({type(exc).__name__}: {exc})")
        respcls = responsetypes.from_args(headers=response.headers, url=response.url, body=decoded.body)
        kwargs: dict[str, Any] = {"body": decoded.body}
        if issubclass(respcls, TextResponse):
            kwargs["encoding"] = None
        decoded_response = response.replace(cls=respcls, **kwargs)
        if kept:
            decoded_response.headers["Content-Encoding"] = kept
        else:
            del decoded_response.headers["Content-Encoding"]
        if not decoded.complete:
            encoding = b", ".join(encodings).decode("latin-1")
            return self._cut_short(request, decoded_response, short or f"its {encoding} stream ends before its end "
                                   f"({len(response.body)} bytes received, {len(decoded.body)} decoded)")
        if short:
            return self._cut_short(request, decoded_response, short)
        return decoded_response
