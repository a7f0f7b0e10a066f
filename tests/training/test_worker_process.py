"""End to end through a real Celery worker process on the serverless (filesystem) broker.

One test, in order, because every step needs a worker and TensorFlow start-up is the cost:
a worker killed with SIGKILL mid-run leaves the run failed by the reaper well within 60 s;
a new worker then honours a cancel, and trains a tiny classifier started by
`manage.py train --wait --json` to success with four verified, checksummed model zips that
`manage.py downloadmodel` unpacks.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from annotator.storage import project_bucket
from tests.conftest import REPO_ROOT, client_for
from tests.training.conftest import WEIGHTS_FILE, classification_data
from training.management.commands.runall import worker_command
from training.models import Run

pytestmark = [
    pytest.mark.ml,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not WEIGHTS_FILE.is_file(), reason=f"needs the backbone weights at {WEIGHTS_FILE}"),
]
# Shorter than the default 45 s to keep the suite quick, long enough that a loaded 2-core machine
# (native export calls can hold the GIL and delay the heartbeat thread) does not reap a live run.
HEARTBEAT_TIMEOUT = 25
TINY = {"input_size": 64, "batch_size": 4, "augment": False, "fine_tune_epochs": 1}
MODELS = {"model", "model_web", "model_android", "model_ios"}


def database_url() -> str:
    """The test database, as the worker process must reach it."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def start_worker(settings, private_queue: Path, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen]]:
    """Starts `celery -A config worker -Q training` processes, as `make run` does; stops them after."""
    settings.ANNOTATOR_RUN_HEARTBEAT_TIMEOUT = HEARTBEAT_TIMEOUT
    for stale in (private_queue / "queue").glob("*.msg"):  # messages of runs from earlier tests
        stale.unlink()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": "filesystem://",
        "ANNOTATOR_CELERY_DIR": str(private_queue),
        "ANNOTATOR_STORAGE": "local",
        "ANNOTATOR_LOCAL_BUCKETS_DIR": str(settings.ANNOTATOR_LOCAL_BUCKETS_DIR),
        "ANNOTATOR_BACKBONE_WEIGHTS": str(WEIGHTS_FILE),
        "ANNOTATOR_TRAINING_CACHE_DIR": str(tmp_path / "cache"),
        "ANNOTATOR_RUN_HEARTBEAT_INTERVAL": "2",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    workers: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(workers)}.log").open("wb")
        process = subprocess.Popen(
            worker_command("--hostname", f"test-{len(workers)}@%h"), cwd=REPO_ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        workers.append(process)
        return process

    yield start
    for process in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_for(read: Callable[[], dict], done: Callable[[dict], bool], timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {value}")
        time.sleep(0.5)


def test_killed_worker_cancel_and_a_run_to_success(start_worker, classification_project, personas, tmp_path, capsys):
    project = classification_project
    classification_data(project, personas.owner, per_class=5)
    client = client_for(personas.owner)

    def start_run(**params: object) -> int:
        response = client.post(reverse("api:run-list", args=[project.pk]), {"hyperparameters": params}, format="json")
        assert response.status_code == 201, response.content
        return response.json()["id"]

    def read(run_id: int) -> Callable[[], dict]:
        return lambda: client.get(reverse("api:run-detail", args=[project.pk, run_id])).json()

    def training(run: dict) -> bool:
        return run["status"] != "queued" and run["progress"].get("step", 0) >= 1

    # 1. SIGKILL mid-run: the reaper (here on read) fails the run within 60 s.
    first = start_worker()
    killed = start_run(epochs=1000, **TINY)
    assert wait_for(read(killed), training, 180, "the first run to train")["status"] == "running"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed_at = time.monotonic()
    failed = wait_for(read(killed), lambda r: r["status"] != "running", 60, "the reaper")
    assert failed["status"] == "failed" and "heartbeat" in failed["error"]
    assert time.monotonic() - killed_at < 60 and failed["artifacts"] == []

    # 2. A new worker: cancelling a running run stops it (the next run could not start otherwise).
    start_worker()
    cancelled = start_run(epochs=1000, **TINY)
    wait_for(read(cancelled), training, 180, "the second run to train")
    assert client.post(reverse("api:run-cancel", args=[project.pk, cancelled])).json()["status"] == "cancelled"

    # 3. The CLI starts a tiny run and follows it to success.
    settings_args = [arg for name, value in TINY.items() for arg in ("--set", f"{name}={json.dumps(value)}")]
    call_command("train", str(project.pk), "--steps", "6", *settings_args, "--wait", "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "succeeded", summary
    assert 0 <= summary["metrics"]["accuracy"] <= 1 and len(summary["metrics"]["confusion_matrix"]) == 2
    assert all(check["ok"] for check in summary["metrics"]["verification"].values())

    run = Run.objects.get(pk=summary["id"])
    bucket = project_bucket(project)
    artifacts = {a.name: a for a in run.artifacts.all()}
    assert MODELS | {"report"} <= set(artifacts) and any(n.startswith("prediction_") for n in artifacts)
    for artifact in artifacts.values():
        data = bucket.read(artifact.key)
        assert hashlib.sha256(data).hexdigest() == artifact.sha256 and len(data) == artifact.size_bytes
    for name in MODELS:
        names = zipfile.ZipFile(io.BytesIO(bucket.read(artifacts[name].key))).namelist()
        assert {f"{name}/labels.json", f"{name}/metadata.json", f"{name}/README.md"} <= set(names)
    everything = zipfile.ZipFile(io.BytesIO(bucket.read(artifacts["models"].key))).namelist()
    assert "README.md" in everything and {f"{name}/metadata.json" for name in MODELS} <= set(everything)
    assert Run.objects.get(pk=cancelled).status == "cancelled" and not Run.objects.get(pk=cancelled).artifacts.exists()
    assert Run.objects.get(pk=killed).status == "failed"

    call_command("downloadmodel", str(run.pk), "--out", str(tmp_path / "models"))
    for name in MODELS:
        assert json.loads((tmp_path / "models" / name / "labels.json").read_text()) == ["red", "blue"]
