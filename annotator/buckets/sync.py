"""Syncing a project with its bucket: one paged listing, the database updated page by page.

Cost: one ListObjectsV2 pass, plus ranged GETs of the first bytes of objects that are
new or whose ETag changed. An unchanged bucket is listed and nothing is downloaded.
Memory: one page of keys at a time, and the keys a failed import left (`stranded.py`), which
the sync removes before listing. Safe to re-run and to interrupt: rows are upserts keyed by
(project, key), every page stamps the images it saw with the job's id, and only a job that
listed the whole bucket marks the unstamped ones missing.

A sync is a job of the kernel (annotator.jobs): its claim, heartbeats, reaping, end and
`job.progress` events are the kernel's; this module only queues it and does its work (`run`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import User
from annotator import domain_events, jobs
from annotator.buckets import stranded
from annotator.buckets.ca_import import import_document
from annotator.buckets.probe import Header, Unreadable, is_image_key, read_header
from annotator.errors import CodedError
from annotator.formats import cloud_annotations
from annotator.formats.dataset import FormatError
from annotator.models import Image, ImageStatus, Project, SyncJob, UnreadableObject
from annotator.models.jobs import ACTIVE_JOB_STATUSES
from annotator.services import tally
from annotator.storage import Bucket, BucketError, InvalidKey, ObjectInfo, ObjectMissing, layout, project_bucket
from annotator.storage.base import clean_key

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
MAX_PROBLEMS = 50


class SyncAlreadyRunning(CodedError):
    """409 with the running job in the error's `job`, as the API serialises it (so a client can follow it)."""

    status = 409

    def __init__(self, job: SyncJob) -> None:
        # The model's PAYLOAD_FIELDS are the serializer's fields: the same shape as GET sync/{id}/.
        super().__init__(
            "sync_running", "A sync of this project is already queued or running.", job=job.event_payload()
        )
        self.job = job


def start_sync(project: Project, user: User | None = None) -> SyncJob:
    """Queue a sync of the project's bucket; SyncAlreadyRunning when one is queued or running.

    A sync whose worker went silent is reaped first, so it cannot block the next one. The job
    runs in a thread of this process or on Celery's "storage" queue (ANNOTATOR_BUCKET_JOBS),
    once the caller's transaction commits; `run` below does its work.
    """
    jobs.reap(kinds=[SyncJob], project_id=project.pk)
    mode: jobs.DispatchMode = "celery" if settings.ANNOTATOR_BUCKET_JOBS == "celery" else "thread"
    try:
        with transaction.atomic():
            job = SyncJob.objects.create(project=project, requested_by=user)
            jobs.dispatch(job, mode)
            if mode == "thread":  # this process is then also the reaper and the scheduler
                transaction.on_commit(jobs.ensure_ticker)
    except IntegrityError:
        raise SyncAlreadyRunning(SyncJob.objects.get(project=project, status__in=ACTIVE_JOB_STATUSES)) from None
    return job


def run(job: SyncJob) -> None:
    """Sync a claimed job (SyncJob.runner): annotator.jobs.execute claims, finishes or fails it.

    A storage failure fails the job with the BucketError's own code and message, unreadable
    credentials with "credentials_unreadable"; the counts reached so far are kept either way.
    Each page's counts are a heartbeat, which raises JobAbandoned once the job was cancelled
    or reaped.
    """
    try:
        _sync(job)
    except BucketError as exc:  # not a CodedError itself: storage is below the services
        raise CodedError(exc.code, str(exc)) from exc


def _problem(job: SyncJob, key: str, message: str) -> None:
    if len(job.problems) < MAX_PROBLEMS:
        job.problems.append({"key": key, "message": message})


def _pages(objects: Iterable[ObjectInfo]) -> Iterator[list[ObjectInfo]]:
    iterator = iter(objects)
    while page := list(islice(iterator, PAGE_SIZE)):
        yield page


def _usable(job: SyncJob, info: ObjectInfo, stranded_keys: dict[str, str]) -> bool:
    if layout.is_reserved(info.key) or info.key.endswith("/") or not is_image_key(info.key):
        return False
    if info.key in stranded_keys:
        job.skipped += 1
        _problem(job, info.key, f"left by a failed import; the bucket refused to remove it: {stranded_keys[info.key]}")
        return False
    try:
        if clean_key(info.key) == info.key:
            return True
    except InvalidKey:
        pass
    job.skipped += 1
    _problem(job, info.key, "this key cannot be used as an image name (empty or '..' segments)")
    return False


def _sync(job: SyncJob) -> None:
    bucket = project_bucket(job.project)
    annotations_etag = ""
    # Objects a failed import could not remove: removed now, or skipped while the bucket refuses.
    left = stranded.retry(job.project, bucket)
    with ThreadPoolExecutor(max_workers=settings.ANNOTATOR_SYNC_READ_THREADS) as pool:
        for page in _pages(bucket.list()):
            job.listed += len(page)
            annotations_etag = next((i.etag for i in page if i.key == cloud_annotations.FILENAME), annotations_etag)
            _sync_page(job, bucket, pool, [info for info in page if _usable(job, info, left)])
            jobs.progress(job, *SyncJob.result_fields)
    _mark_missing(job)
    connection = job.project.bucket_connection
    if annotations_etag and annotations_etag != connection.annotations_file_etag:
        _import_annotations(job, bucket, annotations_etag)
    # Pages counted their new images as they came; missing, restored and imported ones move
    # many images at once, and an upload racing a page for a key is settled here too.
    tally.recount(job.project_id)
    jobs.progress(job, *SyncJob.result_fields)


def _read_headers(
    job: SyncJob, bucket: Bucket, pool: ThreadPoolExecutor, infos: list[ObjectInfo]
) -> dict[str, Header | Unreadable | None]:
    """Each object's header, Unreadable, or None when it vanished since the listing."""

    def read(info: ObjectInfo) -> tuple[Header | Unreadable | None, int]:
        try:
            return read_header(bucket, info.key, info.size, settings.ANNOTATOR_MAX_IMAGE_PIXELS)
        except Unreadable as exc:
            return exc, 1
        except ObjectMissing:
            return None, 1

    results = {}
    for info, (outcome, reads) in zip(infos, pool.map(read, infos), strict=True):
        job.header_reads += reads
        results[info.key] = outcome
    return results


def _sync_page(job: SyncJob, bucket: Bucket, pool: ThreadPoolExecutor, infos: list[ObjectInfo]) -> None:
    project = job.project
    keys = [info.key for info in infos]
    rows = {
        row.key: row
        for row in Image.objects.filter(project=project, key__in=keys).only("id", "key", "etag", "size_bytes")
    }
    known_bad = dict(UnreadableObject.objects.filter(project=project, key__in=keys).values_list("key", "etag"))
    seen, adopted, to_read = [], [], []
    for info in infos:
        row = rows.get(info.key)
        if known_bad.get(info.key) == info.etag:
            job.skipped += 1
        elif row is not None and (row.etag == info.etag or (not row.etag and row.size_bytes == info.size)):
            seen.append(row.pk)
            if not row.etag:  # uploaded through Annotator: the listing tells us its ETag
                row.etag = info.etag
                adopted.append(row)
        else:
            to_read.append(info)
    headers = _read_headers(job, bucket, pool, to_read)
    with transaction.atomic():
        Image.objects.filter(pk__in=seen).update(seen_by_sync=job.pk)
        Image.objects.bulk_update(adopted, ["etag"])
        _store(job, [(info, rows.get(info.key), headers[info.key]) for info in to_read])


def _store(job: SyncJob, outcomes: list[tuple[ObjectInfo, Image | None, Header | Unreadable | None]]) -> None:
    """New images created, replaced ones refreshed (thumbnail rebuilt lazily), bad ones remembered."""
    project = job.project
    created, replaced, bad, good_keys = [], [], [], []
    for info, row, header in outcomes:
        if header is None:
            continue
        if isinstance(header, Unreadable):
            job.skipped += 1
            _problem(job, info.key, str(header))
            bad.append(UnreadableObject(project=project, key=info.key, etag=info.etag, reason=str(header)[:300]))
            continue
        good_keys.append(info.key)
        fields = dict(
            width=header.width, height=header.height, content_type=header.content_type,
            etag=info.etag, size_bytes=info.size, seen_by_sync=job.pk,
        )  # fmt: skip
        if row is None:
            created.append(Image(project=project, key=info.key, sha256="", **fields))
        else:
            for name, value in (fields | {"sha256": "", "thumbnail_key": ""}).items():
                setattr(row, name, value)
            replaced.append(row)
    UnreadableObject.objects.filter(project=project, key__in=good_keys + [b.key for b in bad]).delete()
    UnreadableObject.objects.bulk_create(bad)
    Image.objects.bulk_create(created, ignore_conflicts=True)
    tally.add(project.pk, {tally.status_key(ImageStatus.UNLABELLED): len(created)})
    if created:  # ignore_conflicts sets no primary keys: read back the rows this page made
        ours = Image.objects.filter(project=project, key__in=[image.key for image in created], seen_by_sync=job.pk)
        ids = list(ours.values_list("pk", flat=True))
        domain_events.images_added.send(sender=Project, project_id=project.pk, image_ids=ids)
    Image.objects.bulk_update(
        replaced, ["width", "height", "content_type", "etag", "size_bytes", "seen_by_sync", "sha256", "thumbnail_key"]
    )
    job.added += len(created)
    job.replaced += len(replaced)


def _mark_missing(job: SyncJob) -> None:
    """After a full listing: unseen images are missing, seen missing ones are back.

    Images created after the job started (uploads meanwhile) are left alone, and so are
    images stamped by a later job, should a reaped job still be running.
    """
    images = Image.objects.filter(project=job.project)
    with transaction.atomic():
        job.missing = (
            images.filter(missing=False, created_at__lt=job.started_at)
            .exclude(seen_by_sync__gte=job.pk)
            .update(missing=True)
        )
        job.restored = images.filter(missing=True, seen_by_sync=job.pk).update(missing=False)


def _import_annotations(job: SyncJob, bucket: Bucket, etag: str) -> None:
    """Merge the bucket's `_annotations.json`; a broken file is reported, not fatal."""
    try:
        doc = cloud_annotations.parse(bucket.read(cloud_annotations.FILENAME))
    except FormatError as error:
        _problem(job, cloud_annotations.FILENAME, f"not imported: {error}")
        return
    report = import_document(job.project, doc)
    job.annotations_imported = report.imported
    for problem in report.problems:
        _problem(job, problem["key"], problem["message"])
    if report.unknown_keys:
        unknown = f"{report.unknown_keys} records name images that are not in the bucket"
        _problem(job, cloud_annotations.FILENAME, unknown)
    job.project.bucket_connection.annotations_file_etag = etag
    job.project.bucket_connection.save(update_fields=["annotations_file_etag", "updated_at"])
