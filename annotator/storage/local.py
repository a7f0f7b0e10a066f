"""A bucket that is a directory on disk: the embedded default."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from annotator.storage.base import Bucket, BucketError, ObjectInfo, ObjectMissing


class LocalBucket(Bucket):
    def __init__(self, root: Path, name: str, prefix: str = "") -> None:
        super().__init__(name, prefix)
        self.root = Path(root) / name

    def _path(self, key: str) -> Path:
        return self.root / self.full_key(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self.root / self.prefix
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for filename in sorted(filenames):
                if filename.startswith(".tmp-"):
                    continue
                path = Path(dirpath) / filename
                key = path.relative_to(base).as_posix()
                if not key.startswith(prefix):
                    continue
                stat = path.stat()
                yield ObjectInfo(
                    key=key,
                    size=stat.st_size,
                    etag=hashlib.md5(f"{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest(),
                    last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                )

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectMissing(f"{key} is not in the bucket.") from None
        except OSError as exc:
            raise BucketError(f"Could not read {key}: {exc.strerror}.") from exc

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with self.open(key) as stream:
            stream.seek(start)
            return stream.read(length)

    def put(self, key: str, data: bytes | BinaryIO, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write beside the target and rename: readers never see a partial file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out)
            os.replace(tmp, path)
        except OSError as exc:
            raise BucketError(f"Could not write {key}: {exc.strerror}.") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def presigned_url(self, key: str, expires: int) -> str | None:
        return None
