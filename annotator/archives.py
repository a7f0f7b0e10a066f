"""Safe reading of zip archives that users upload.

Every entry is checked before anything is extracted, so a hostile archive is
refused as a whole and nothing of it is stored: too many entries, too many
bytes, a suspicious compression ratio, absolute or `..` paths, and links.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings

from annotator.errors import CodedError


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


def checked_entries(source: BinaryIO | Path, limits: ArchiveLimits | None = None) -> list[zipfile.ZipInfo]:
    """The archive's file entries, after refusing the whole archive if any entry is unsafe."""
    limits = limits or ArchiveLimits.from_settings()
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError):
        raise ArchiveError("archive_invalid", "This is not a readable zip archive.") from None
    with archive:
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


def iter_members(source: BinaryIO | Path, limits: ArchiveLimits | None = None) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each file in a checked archive; reads stop at the declared size."""
    limits = limits or ArchiveLimits.from_settings()
    entries = checked_entries(source, limits)
    if hasattr(source, "seek"):
        source.seek(0)
    with zipfile.ZipFile(source) as archive:
        for info in entries:
            with archive.open(info) as member:
                # Never trust the header: read at most what it declared, plus one byte to notice lies.
                data = member.read(info.file_size + 1)
            if len(data) > info.file_size:
                raise ArchiveError("archive_invalid", f"{info.filename!r} is larger than its header says.")
            yield info.filename.replace("\\", "/"), data


def safe_extract(source: BinaryIO | Path, dest: Path, limits: ArchiveLimits | None = None) -> list[Path]:
    """Extract a checked archive under `dest` and return the written files."""
    written = []
    for name, data in iter_members(source, limits):
        target = dest.joinpath(*PurePosixPath(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written
