"""Syncing a project with its bucket: one paged listing, the database updated page by page.

Cost: one ListObjectsV2 pass, plus ranged GETs of the first bytes of objects that are
new or whose ETag changed. An unchanged bucket is listed and nothing is downloaded.
Memory: one page of keys at a time. Safe to re-run and to interrupt: rows are upserts
keyed by (project, key), every page stamps the images it saw with the job's id, and
only a job that listed the whole bucket marks the unstamped ones missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from annotator.buckets.ca_import import import_document
from annotator.buckets.crypto import CredentialsUnreadable
from annotator.buckets.jobs import enqueue, progress
from annotator.buckets.probe import Header, Unreadable, is_image_key, read_header
from annotator.formats import cloud_annotations
from annotator.formats.dataset import FormatError
from annotator.models import Image, ImageStatus, JobStatus, Project, SyncJob, UnreadableObject
from annotator.models.storage import ACTIVE_JOB_STATUSES
from annotator.services import tally
from annotator.storage import Bucket, BucketError, InvalidKey, ObjectInfo, ObjectMissing, layout, project_bucket
from annotator.storage.base import clean_key
from config.logs import job_event

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
MAX_PROBLEMS = 50


class SyncAlreadyRunning(Exception):
    code = "sync_running"

    def __init__(self, job: SyncJob) -> None:
        super().__init__("A sync of this project is already queued or running.")
        self.job = job


class _Abandoned(Exception):
    """The job was failed by the reaper while this worker still ran: stop quietly."""


def reap_stale_syncs() -> int:
    """Fail active jobs whose worker stopped sending heartbeats."""
    timeout = settings.ANNOTATOR_SYNC_HEARTBEAT_TIMEOUT
    stale = [job.pk for job in SyncJob.objects.filter(status__in=ACTIVE_JOB_STATUSES) if job.is_stale(timeout)]
    return SyncJob.objects.filter(pk__in=stale, status__in=ACTIVE_JOB_STATUSES).update(
        status=JobStatus.FAILED,
        error=f"The sync stopped answering for {timeout} s (worker restarted?); run it again.",
        finished_at=timezone.now(),
    )


def start_sync(project: Project, user: User | None = None) -> SyncJob:
    """Queue a sync of the project's bucket; SyncAlreadyRunning when one is queued or running."""
    reap_stale_syncs()
    try:
        with transaction.atomic():
            job = SyncJob.objects.create(project=project, requested_by=user)
            enqueue(run_sync_job, job.pk)
    except IntegrityError:
        raise SyncAlreadyRunning(SyncJob.objects.get(project=project, status__in=ACTIVE_JOB_STATUSES)) from None
    return job


def run_sync_job(job_id: int) -> None:
    """Run one queued sync to its end. Thread and Celery runners call exactly this."""
    now = timezone.now()
    claimed = SyncJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return
    job = SyncJob.objects.select_related("project__storage").get(pk=job_id)
    job_event("sync", job.pk, "started", project_id=job.project_id)
    try:
        _sync(job)
    except _Abandoned:
        return
    except (BucketError, CredentialsUnreadable) as exc:
        _finish(job, JobStatus.FAILED, str(exc))
    except Exception as exc:
        log.exception("Sync %s of project %s failed", job.pk, job.project_id)
        _finish(job, JobStatus.FAILED, f"Unexpected error: {type(exc).__name__}; see the server log.")
    else:
        _finish(job, JobStatus.SUCCEEDED)


def _finish(job: SyncJob, status: JobStatus, error: str = "") -> None:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=status, error=error, finished_at=job.finished_at, **_counts(job)
    )
    progress(job)
    job_event("sync", job.pk, status, project_id=job.project_id, listed=job.listed, added=job.added)


def _counts(job: SyncJob) -> dict:
    fields = ("listed", "added", "replaced", "missing", "restored", "skipped", "header_reads", "annotations_imported")
    return {name: getattr(job, name) for name in fields} | {"problems": job.problems}


def _heartbeat(job: SyncJob) -> None:
    job.heartbeat_at = timezone.now()
    alive = SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        heartbeat_at=job.heartbeat_at, **_counts(job)
    )
    if not alive:
        raise _Abandoned
    progress(job)


def _problem(job: SyncJob, key: str, message: str) -> None:
    if len(job.problems) < MAX_PROBLEMS:
        job.problems.append({"key": key, "message": message})


def _pages(objects: Iterable[ObjectInfo]) -> Iterator[list[ObjectInfo]]:
    iterator = iter(objects)
    while page := list(islice(iterator, PAGE_SIZE)):
        yield page


def _usable(job: SyncJob, info: ObjectInfo) -> bool:
    if layout.is_reserved(info.key) or info.key.endswith("/") or not is_image_key(info.key):
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
    with ThreadPoolExecutor(max_workers=settings.ANNOTATOR_SYNC_READ_THREADS) as pool:
        for page in _pages(bucket.list()):
            job.listed += len(page)
            annotations_etag = next((i.etag for i in page if i.key == cloud_annotations.FILENAME), annotations_etag)
            _sync_page(job, bucket, pool, [info for info in page if _usable(job, info)])
            _heartbeat(job)
    _mark_missing(job)
    connection = job.project.storage
    if annotations_etag and annotations_etag != connection.annotations_file_etag:
        _import_annotations(job, bucket, annotations_etag)
    # Pages counted their new images as they came; missing, restored and imported ones move
    # many images at once, and an upload racing a page for a key is settled here too.
    tally.recount(job.project_id)
    _heartbeat(job)


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
    job.project.storage.annotations_file_etag = etag
    job.project.storage.save(update_fields=["annotations_file_etag", "updated_at"])
