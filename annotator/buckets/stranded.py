"""Objects a failed import left in the bucket because the bucket refused their removal too.

A failed import removes every object it wrote (`datasets.image_store.ImageStore.remove_written`).
When the bucket refuses that as well, the image objects stay, and a later sync would list them
as new images: half of a failed import, brought back. So the keys are remembered here
(`StrandedObject`), and:

- a sync first tries the removal again (`retry`): what goes is forgotten; what the bucket still
  refuses is not added as an image, and the sync lists it among its problems with the reason;
- a write of the same key (an upload, an import) claims it first (`claim`): the object is the
  project's again, and nothing removes it.

Invariant: an object is removed only while its row is held (`select_for_update`), and `claim`
deletes the row before its writer puts the object, so a removal and a new write of one key
never interleave; a key that an image row names is never removed, only forgotten.
Thumbnails are not remembered: they are shared by content, and a stray one costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import transaction

from annotator.models import Image, Project, StrandedObject
from annotator.storage import Bucket, BucketError, layout

REASON_LENGTH = 300


def record(project: Project, refused: Mapping[str, BucketError]) -> None:
    """Remember the image objects whose removal the bucket refused, with why."""
    rows = [
        StrandedObject(project=project, key=key, reason=str(error)[:REASON_LENGTH])
        for key, error in refused.items()
        if not layout.is_reserved(key)
    ]
    StrandedObject.objects.bulk_create(rows, ignore_conflicts=True)


def claim(project: Project, keys: Iterable[str]) -> None:
    """Before writing ``keys``: they are the project's objects from now on (waits for a removal
    of one of them that is under way, so the write lands after it)."""
    keys = list(keys)
    if keys:
        StrandedObject.objects.filter(project=project, key__in=keys).delete()


def retry(project: Project, bucket: Bucket) -> dict[str, str]:
    """Try the removals again; answers the keys still there, each with why."""
    with transaction.atomic():
        rows = list(StrandedObject.objects.select_for_update().filter(project=project).order_by("pk"))
        if not rows:
            return {}
        named = set(Image.objects.filter(project=project, key__in=[r.key for r in rows]).values_list("key", flat=True))
        refused = bucket.delete_many([r.key for r in rows if r.key not in named])
        StrandedObject.objects.filter(pk__in=[r.pk for r in rows if r.key not in refused]).delete()
        for row in rows:
            if row.key in refused:
                row.reason = str(refused[row.key])[:REASON_LENGTH]
        StrandedObject.objects.bulk_update([r for r in rows if r.key in refused], ["reason"])
    return {key: str(error) for key, error in refused.items()}
