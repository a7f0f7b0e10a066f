"""Stale runs are failed by the job kernel's reaper (periodically and on read); fresh ones and
finished ones are left alone, and a reaped run offers nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from annotator import jobs
from annotator.storage import project_bucket
from tests.conftest import client_for
from tests.training.conftest import classification_data
from training.models import Run, RunStatus
from training.services import create_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(classification_project, personas) -> Run:
    classification_data(classification_project, personas.owner, per_class=5)
    return create_run(classification_project, personas.owner, "classification", {})


def reap() -> list[int]:
    return [job_id for kind, job_id in jobs.reap(kinds=[Run]) if kind == "run"]


def running(run: Run, seconds_ago: float) -> Run:
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(seconds=seconds_ago)
    )
    return Run.objects.get(pk=run.pk)


def test_default_timeout_is_45_seconds(run):
    running(run, 44)
    assert reap() == []
    running(run, 46)
    assert reap() == [run.pk]
    run.refresh_from_db()
    assert run.status == "failed" and "no heartbeat for 45 s" in run.error and run.finished_at
    assert run.error_code == "worker_lost"


def test_queued_and_finished_runs_are_left_alone(run):
    assert reap() == []
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, heartbeat_at=timezone.now() - timedelta(hours=1))
    assert reap() == []


def test_reading_a_run_reaps_it(run, personas):
    running(run, 120)
    body = client_for(personas.viewer).get(reverse("api:run-detail", args=[run.project_id, run.pk])).json()
    assert body["status"] == "failed" and "heartbeat" in body["error"]


def test_the_command_reaps(run, capsys):
    running(run, 120)
    call_command("reap_runs")
    assert f"1 stale runs failed: {run.pk}" in capsys.readouterr().out


def test_a_reaped_run_offers_nothing_it_half_wrote(run):
    bucket = project_bucket(run.project)
    bucket.put(f"{run.prefix}/model.zip", b"half")
    running(run, 120)
    reap()
    assert bucket.exists(run.snapshot_key)
    assert not bucket.exists(f"{run.prefix}/model.zip")
    assert not run.artifacts.exists()
