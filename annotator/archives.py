"""Safe reading of zip archives that users upload.

Invariants:
- Every entry's header is checked before a byte is decompressed, and a hostile archive is
  refused as a whole: too many entries, too many bytes, a suspicious compression ratio,
  absolute or `..` paths, links, encryption, an unknown compression method.
- No header is trusted for sizes: members are decompressed in chunks of `CHUNK_BYTES`, the
  real bytes are counted, and a member that yields more or fewer bytes than its header
  declares, or fails its CRC, makes the archive `archive_corrupt`.
- An archive is all or nothing. `iter_members` decompresses every member it will hand out
  once, into a hash and nowhere else (one chunk in memory), before it yields the first, so a
  damaged member anywhere refuses the archive before anything of it is stored. Members over
  the caller's size cap are not decompressed: nothing of them can be stored.
- `safe_extract` writes as it reads; its caller extracts into a folder it discards when
  `ArchiveError` is raised.
"""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

from django.conf import settings

from annotator.errors import CodedError

CHUNK_BYTES = 1024 * 1024
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
# What decompressing a damaged member raises (zipfile: BadZipFile for a CRC mismatch; the codecs
# their own errors for a broken stream, EOFError for one that stops short).
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


class ArchiveError(CodedError):
    """The archive as a whole is refused; nothing of it was stored."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_total_bytes: int
    max_ratio: int

    @classmethod
    def from_settings(cls) -> ArchiveLimits:
        return cls(
            max_entries=settings.ANNOTATOR_ZIP_MAX_ENTRIES,
            max_total_bytes=settings.ANNOTATOR_ZIP_MAX_TOTAL_BYTES,
            max_ratio=settings.ANNOTATOR_ZIP_MAX_RATIO,
        )


@dataclass(frozen=True)
class Member:
    """A file in a verified archive: its bytes are read only when `open` or `read` is called."""

    name: str
    size: int
    # Of the bytes the verification pass read; empty for members over the size cap (never read).
    sha256: str
    _info: zipfile.ZipInfo
    _archive: zipfile.ZipFile

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The member's bytes as a stream (seekable), within `iter_members`' iteration."""
        try:
            with self._archive.open(self._info) as stream:
                yield stream
        except (zipfile.BadZipFile, zlib.error) as exc:
            raise _damaged(self._info, exc) from None

    def read(self) -> bytes:
        """The member's bytes, read in chunks and never beyond the size its header declared."""
        out = io.BytesIO()
        _decompress(self._archive, self._info, out.write)
        return out.getvalue()


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_name(name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError("archive_unsafe_path", f"The archive contains an absolute path: {name!r}.")
    if ".." in path.parts:
        raise ArchiveError("archive_unsafe_path", f"The archive contains a path that leaves it: {name!r}.")


def _skipped(name: str) -> bool:
    """Folders and the litter that macOS and Windows leave in archives."""
    parts = PurePosixPath(name).parts
    return name.endswith("/") or "__MACOSX" in parts or parts[-1] in {".DS_Store", "Thumbs.db"}


def _damaged(info: zipfile.ZipInfo, exc: Exception) -> ArchiveError:
    return ArchiveError(
        "archive_corrupt",
        f"{info.filename!r} in the archive is damaged ({exc}); nothing of the archive was stored.",
    )


def _entries(archive: zipfile.ZipFile, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise ArchiveError(
            "archive_too_many_entries",
            f"The archive has {len(infos)} entries; at most {limits.max_entries} are accepted.",
        )
    total = 0
    for info in infos:
        _check_name(info.filename)
        if _is_link(info):
            raise ArchiveError("archive_link", f"The archive contains a link: {info.filename!r}.")
        if info.flag_bits & 0x1:
            raise ArchiveError("archive_encrypted", "Encrypted archives are not supported.")
        if info.compress_type not in _METHODS:
            raise ArchiveError(
                "archive_unsupported",
                f"{info.filename!r} uses a compression method we cannot read; use deflate (any zip tool's default).",
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > limits.max_ratio:
            raise ArchiveError(
                "archive_ratio", f"{info.filename!r} expands {ratio:.0f}-fold; this looks like a zip bomb."
            )
    if total > limits.max_total_bytes:
        raise ArchiveError(
            "archive_too_large",
            f"The archive expands to {total} bytes; at most {limits.max_total_bytes} are accepted.",
        )
    return [info for info in infos if not _skipped(info.filename)]


@contextmanager
def _opened(source: BinaryIO | Path) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ArchiveError("archive_invalid", "This is not a readable zip archive.") from None
    with archive:
        yield archive


def checked_entries(source: BinaryIO | Path, limits: ArchiveLimits | None = None) -> list[zipfile.ZipInfo]:
    """The archive's file entries, after refusing the whole archive if any header is unsafe."""
    with _opened(source) as archive:
        return _entries(archive, limits or ArchiveLimits.from_settings())


def _decompress(archive: zipfile.ZipFile, info: zipfile.ZipInfo, sink: Callable[[bytes], object]) -> None:
    """Feed the member's bytes to `sink` chunk by chunk; refuse the archive if they are not
    exactly what the header promised."""
    count = 0
    try:
        member = archive.open(info)
    except _DAMAGED as exc:
        raise _damaged(info, exc) from None
    with member:
        while True:
            try:
                chunk = member.read(CHUNK_BYTES)
            except _DAMAGED as exc:
                raise _damaged(info, exc) from None
            if not chunk:
                break
            count += len(chunk)
            if count > info.file_size:
                raise ArchiveError(
                    "archive_corrupt", f"{info.filename!r} is larger than its header says; nothing was stored."
                )
            sink(chunk)
    if count != info.file_size:
        raise ArchiveError("archive_corrupt", f"{info.filename!r} is shorter than its header says; nothing was stored.")


def iter_members(
    source: BinaryIO | Path, limits: ArchiveLimits | None = None, *, max_member_bytes: int
) -> Iterator[Member]:
    """Each file of an archive whose every readable member was verified first (see the module)."""
    with _opened(source) as archive:
        entries = _entries(archive, limits or ArchiveLimits.from_settings())
        members = []
        for info in entries:
            digest = ""
            if info.file_size <= max_member_bytes:
                hasher = hashlib.sha256()
                _decompress(archive, info, hasher.update)
                digest = hasher.hexdigest()
            members.append(Member(info.filename.replace("\\", "/"), info.file_size, digest, info, archive))
        yield from members


def safe_extract(source: BinaryIO | Path, dest: Path, limits: ArchiveLimits | None = None) -> list[Path]:
    """Extract a checked archive under `dest` and return the written files."""
    written = []
    with _opened(source) as archive:
        for info in _entries(archive, limits or ArchiveLimits.from_settings()):
            target = dest.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                _decompress(archive, info, out.write)
            written.append(target)
    return written
