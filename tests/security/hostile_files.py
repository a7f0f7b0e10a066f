"""Small files that cost a server a lot: the inputs of the upload hardening tests and bench/upload_memory.py.

Every builder streams what it writes (zlib and zipfile in chunks), so building a file that
expands to hundreds of megabytes never holds those megabytes here.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator

_CHUNK = 1024 * 1024


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_16bit_rgba(width: int, height: int, *, garbage_pixels: bool = False) -> bytes:
    """A valid 16-bit RGBA PNG of flat colour: a few hundred KB that decode to width*height*8 bytes.

    With `garbage_pixels` the IDAT stream is not zlib at all, so any attempt to decode it fails:
    a refusal that names the size proves the budget was applied before decoding.
    """
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    if garbage_pixels:
        idat = b"\xff" * 4096
    else:
        packer = zlib.compressobj(9)
        row = b"\0" + b"\x12\x34" * 4 * width  # filter byte, then RGBA at 16 bits per sample
        idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def png_8bit_rgb(width: int, height: int, color: tuple[int, int, int] = (64, 128, 192)) -> bytes:
    """A valid 8-bit RGB PNG of flat colour, streamed like `png_16bit_rgba`."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\0" + bytes(color) * width
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def compressible_bytes(size: int, ratio: int = 190, prefix: bytes = b"") -> Iterator[bytes]:
    """`size` bytes (after `prefix`) that deflate about `ratio`-fold: zeros with a sprinkle of noise,
    just under the archive ratio cap so the header checks let them through."""
    noise = max(1, int(_CHUNK / ratio) - _CHUNK // 1030)
    yield prefix
    left = size - len(prefix)
    while left > 0:
        n = min(_CHUNK, left)
        block = os.urandom(min(noise, n)) + bytes(max(0, n - noise))
        yield block[:n]
        left -= n


def zip_streamed(members: dict[str, Iterator[bytes]]) -> bytes:
    """A deflated zip of members whose bytes arrive in chunks."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, chunks in members.items():
            with archive.open(name, "w", force_zip64=False) as member:
                for chunk in chunks:
                    member.write(chunk)
    return out.getvalue()


def zip_with(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _central_entry(archive: bytes, name: str) -> int:
    """Offset of `name`'s central directory record."""
    needle = name.encode()
    offset = 0
    while True:
        offset = archive.index(b"PK\x01\x02", offset)
        name_length = struct.unpack_from("<H", archive, offset + 28)[0]
        if archive[offset + 46 : offset + 46 + name_length] == needle:
            return offset
        offset += 4


def with_declared_size(archive: bytes, name: str, size: int) -> bytes:
    """The archive with `name`'s uncompressed size rewritten in both headers: a member that lies."""
    data = bytearray(archive)
    central = _central_entry(archive, name)
    struct.pack_into("<I", data, central + 24, size)
    local = struct.unpack_from("<I", archive, central + 42)[0]
    struct.pack_into("<I", data, local + 22, size)
    return bytes(data)


def with_bad_crc(archive: bytes, name: str) -> bytes:
    """The archive with `name`'s CRC-32 changed in both headers: its bytes no longer match."""
    data = bytearray(archive)
    central = _central_entry(archive, name)
    crc = struct.unpack_from("<I", archive, central + 16)[0] ^ 0xDEADBEEF
    struct.pack_into("<I", data, central + 16, crc)
    local = struct.unpack_from("<I", archive, central + 42)[0]
    struct.pack_into("<I", data, local + 14, crc)
    return bytes(data)


def with_garbled_data(archive: bytes, name: str) -> bytes:
    """The archive with the start of `name`'s compressed bytes overwritten: not a deflate stream any more."""
    data = bytearray(archive)
    local = struct.unpack_from("<I", archive, _central_entry(archive, name) + 42)[0]
    name_length, extra_length = struct.unpack_from("<HH", archive, local + 26)
    start = local + 30 + name_length + extra_length
    data[start : start + 64] = b"\xff" * 64
    return bytes(data)
