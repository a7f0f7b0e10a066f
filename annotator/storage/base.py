"""The small interface every bucket implementation offers, and its errors.

Keys are relative to the bucket's prefix, use "/" separators, and never
contain ".." segments; implementations refuse anything else.
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO


class BucketError(Exception):
    """Storage failed in a way a person can act on; `code` is stable for the API."""

    code = "storage_error"


class ObjectMissing(BucketError):
    code = "object_missing"


class InvalidKey(BucketError):
    code = "invalid_key"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime | None = None


def clean_key(key: str) -> str:
    """Refuse keys that could escape the prefix; return the normalised key."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidKey(f"Invalid object key {key!r}.")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidKey(f"Invalid object key {key!r}.")
    return posixpath.normpath(key)


class Bucket(ABC):
    """A place for bytes: a directory on disk or an S3-compatible bucket, under a prefix."""

    def __init__(self, name: str, prefix: str = "") -> None:
        self.name = name
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def full_key(self, key: str) -> str:
        return self.prefix + clean_key(key)

    def relative_key(self, full_key: str) -> str:
        return full_key[len(self.prefix) :]

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under `prefix` (relative), in key order, streamed page by page."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object's bytes; the caller closes it."""

    def read(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    @abstractmethod
    def read_range(self, key: str, start: int, length: int) -> bytes:
        """`length` bytes from `start`: enough to read an image header without the whole object."""

    @abstractmethod
    def put(self, key: str, data: bytes | BinaryIO, content_type: str = "application/octet-stream") -> None:
        """Store the object; readers see the old bytes or the new, never a partial write."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing one that is already gone is not an error."""

    def delete_many(self, keys: Sequence[str]) -> dict[str, BucketError]:
        """Remove the objects (those already gone are no error); answers the keys that may still
        be there, each with why, so a caller keeps exactly their rows. Empty: all went.

        One at a time here; S3 removes up to 1,000 per request. The first failure stops the
        rest (a storage that refused one call would refuse them all): they are answered with it.
        """
        keys = list(keys)
        for i, key in enumerate(keys):
            try:
                self.delete(key)
            except BucketError as exc:
                return dict.fromkeys(keys[i:], exc)
        return {}

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def presigned_url(self, key: str, expires: int) -> str | None:
        """A short-lived URL a browser can GET, or None when the app must serve the bytes itself."""
