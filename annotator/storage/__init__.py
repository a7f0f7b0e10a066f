"""Bucket storage: where a project's bytes live.

This is the storage layer every feature uses (images, thumbnails, datasets, training
artifacts): Bucket objects over a local folder or S3, `project_bucket`, `layout`. It is not the
"bucket" feature — a project's own S3-compatible bucket, its connection, syncs and
`_annotations.json` write-back — which lives in annotator/buckets/, annotator/models/bucket.py,
annotator/api/bucket_views.py and annotator/bucket_views.py, and uses this layer like any other.

This package sits below the models: annotator.models.bucket builds its S3Settings from here,
so nothing here imports a model. `project_bucket` asks only for what it reads (BucketOwner).
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings

from annotator.storage.base import Bucket, BucketError, InvalidKey, ObjectInfo, ObjectMissing
from annotator.storage.local import LocalBucket
from annotator.storage.s3 import S3Bucket, S3Settings

__all__ = [
    "Bucket",
    "BucketError",
    "BucketOwner",
    "InvalidKey",
    "LocalBucket",
    "ObjectInfo",
    "ObjectMissing",
    "S3Bucket",
    "S3Settings",
    "default_bucket",
    "project_bucket",
]


def default_bucket(name: str | None = None, prefix: str = "") -> Bucket:
    """The instance's configured storage (ANNOTATOR_STORAGE), optionally under a prefix."""
    name = name or settings.ANNOTATOR_BUCKET
    if settings.ANNOTATOR_STORAGE == "s3":
        return S3Bucket(S3Settings(**settings.ANNOTATOR_S3), name, prefix)
    return LocalBucket(settings.ANNOTATOR_LOCAL_BUCKETS_DIR, name, prefix)


class BucketOwner(Protocol):
    """What `project_bucket` reads of a project: annotator.models.Project is one.

    A project bound to its own bucket also has `storage`, a connection whose `s3_settings()`
    gives the S3Settings to reach it; one without it uses the instance's storage.
    """

    @property
    def bucket(self) -> str: ...

    @property
    def prefix(self) -> str: ...


def project_bucket(project: BucketOwner) -> Bucket:
    """The bucket holding this project's images, scoped to its prefix: the project's own
    connection (docs/buckets.md) when it has one, else the instance's storage."""
    connection = getattr(project, "bucket_connection", None)
    if connection is not None:
        return S3Bucket(connection.s3_settings(), project.bucket, project.prefix)
    return default_bucket(project.bucket or None, project.prefix)
