"""A prediction job goes to the `predict` queue and runs in `manage.py runall`'s predict worker.

A real Celery worker process (`predict_worker_command`, what `make run` starts) on the
serverless filesystem broker, with tests/assist's tiny LiteRT classifier: the job queued by the
API is claimed by that process, not this one, and its suggestions land in the database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.urls import reverse

from annotator.services.projects import create_label
from assist.models import PredictionJob, Suggestion
from tests.assist import conftest as assist
from tests.conftest import REPO_ROOT, client_for
from tests.training import conftest as training
from tests.training.test_worker_process import database_url
from training.management.commands.runall import predict_worker_command

pytestmark = [pytest.mark.ml, pytest.mark.django_db(transaction=True)]
# Fixtures of other folders' conftest files, shared here.
model_folders = assist.model_folders
classification_project = training.classification_project


def test_a_prediction_runs_on_the_predict_worker(
    settings, private_queue: Path, tmp_path: Path, personas, classification_project, model_folders
) -> None:
    for stale in (private_queue / "queue").glob("*.msg"):  # messages of jobs from earlier tests
        stale.unlink()
    project = classification_project
    labels = [create_label(project, "red"), create_label(project, "blue")]
    images = [(f"{name}-{i}.png", training.COLOURS[name]) for name in ("red", "blue") for i in range(3)]
    training.upload(project, personas.owner, images)
    folders = {"model_android": model_folders["classification"]["model_android"]}
    assist.real_run(project, personas.owner, "classification", folders, labels)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": "filesystem://",
        "ANNOTATOR_CELERY_DIR": str(private_queue),
        "ANNOTATOR_STORAGE": "local",
        "ANNOTATOR_LOCAL_BUCKETS_DIR": str(settings.ANNOTATOR_LOCAL_BUCKETS_DIR),
        "ANNOTATOR_TRAINING_CACHE_DIR": str(tmp_path / "cache"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        predict_worker_command(), cwd=REPO_ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        client = client_for(personas.owner)
        answer = client.post(reverse("api:prediction-list", args=[project.pk]), {"scope": "all"}, format="json")
        assert answer.status_code == 202, answer.content
        job_id = answer.json()["id"]
        deadline = time.monotonic() + 240
        while (job := PredictionJob.objects.get(pk=job_id)).status in ("queued", "running"):
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()[-4000:]
            time.sleep(0.5)
        assert job.status == "succeeded", (job.error, log.read_text()[-4000:])
        assert (job.runtime, job.images_done, job.images_failed) == ("litert", 6, 0)
        assert job.worker.split(":")[1] != str(os.getpid())  # claimed by the worker process
        assert Suggestion.objects.filter(run=job.run, image__project=project).values("image").distinct().count() == 6
        assert "predict@" in log.read_text()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
