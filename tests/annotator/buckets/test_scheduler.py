"""Periodic syncs, and thumbnails made on first view of a synced image."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotator.buckets.scheduler import start_due_syncs, tick
from annotator.buckets.sync import start_sync
from annotator.models import BucketConnection, Image, JobStatus, SyncJob
from tests.annotator.buckets.conftest import connect, sync
from tests.conftest import client_for, make_image_bytes
from tests.factories import make_persona_project

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_periodic_sync_starts_when_its_interval_has_passed(remote):
    project = connect(make_persona_project().project, remote)
    BucketConnection.objects.filter(project=project).update(sync_interval_minutes=30)
    assert start_due_syncs() == []  # connected just now

    BucketConnection.objects.filter(project=project).update(created_at=timezone.now() - timedelta(minutes=31))
    assert start_due_syncs() == [project.pk]
    assert start_due_syncs() == []  # the queued one is recent
    SyncJob.objects.filter(project=project).update(
        status=JobStatus.SUCCEEDED, created_at=timezone.now() - timedelta(minutes=31)
    )
    tick()
    assert SyncJob.objects.filter(project=project, status=JobStatus.QUEUED).count() == 1


def test_a_synced_image_gets_its_thumbnail_on_first_view(remote):
    remote.put("big.jpg", make_image_bytes(1200, 900))
    personas = make_persona_project()
    project = connect(personas.project, remote)
    sync(project)
    image = Image.objects.get(project=project)
    assert image.thumbnail_key == ""

    response = client_for(personas.viewer).get(f"/api/v1/projects/{project.pk}/images/{image.pk}/thumbnail/")

    image.refresh_from_db()
    assert response.status_code == 302 and "_annotator/thumbnails/" in response.url
    assert image.thumbnail_key.startswith("_annotator/thumbnails/") and len(image.sha256) == 64
    assert len(remote.read(image.thumbnail_key)) < 20_000


def test_in_celery_mode_a_sync_is_delivered_on_the_storage_queue(
    remote, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from annotator.tasks import run_job
    from config.celery import app

    settings.ANNOTATOR_BUCKET_JOBS = "celery"
    remote.put("a.jpg", make_image_bytes())
    project = connect(make_persona_project().project, remote)
    sent = []
    send = run_job.apply_async

    def recorded(*args, **options):
        sent.append((options.get("args"), options.get("queue")))
        return send(*args, **options)

    monkeypatch.setattr(run_job, "apply_async", recorded)
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = start_sync(project)
    finally:
        app.conf.task_always_eager = False

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.added == 1
    assert sent == [(["sync", job.pk], "storage")]
