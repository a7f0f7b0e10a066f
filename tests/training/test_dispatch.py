"""A run on the job kernel: announced and sent to the `training` queue once committed, failed at
once (saying so) when the queue refuses it, succeeded only together with its artifacts, and failed
by its runner with a stable code and a message that says what to do."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from kombu.exceptions import OperationalError

from annotator import jobs
from annotator.events import project_group
from annotator.storage import project_bucket
from annotator.tasks import run_job
from tests.training.conftest import classification_data
from training import services
from training.models import CHECKPOINT_ARTIFACT, Artifact, Run
from training.services import create_run

pytestmark = pytest.mark.django_db


class Listener:
    """A channel in the project's group: the `job.progress` payloads a browser would get."""

    def __init__(self, project_id: int) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(project_group(project_id), self.channel)

    def events(self) -> list[dict]:
        payloads = []
        while True:
            try:
                message = async_to_sync(self._receive)()
            except TimeoutError:
                return payloads
            assert message["event"] == "job.progress"
            payloads.append(message["payload"])

    async def _receive(self) -> dict:
        return await asyncio.wait_for(self.layer.receive(self.channel), 0.3)


@pytest.fixture
def ready(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    return classification_project


def test_a_new_run_is_announced_then_sent_to_the_training_queue(
    ready, personas, private_queue, django_capture_on_commit_callbacks
):
    for stale in (private_queue / "queue").glob("*.msg"):
        stale.unlink()
    listener = Listener(ready.pk)
    with django_capture_on_commit_callbacks(execute=True):
        run = create_run(ready, personas.owner, "classification", {})
        assert not list((private_queue / "queue").glob("*.msg"))  # nothing leaves before the commit
    [created] = listener.events()
    assert created["kind"] == "run" and created["id"] == run.pk and created["status"] == "queued"
    assert created["urls"]["page"].endswith(f"/runs/{run.pk}/") and created["artifacts"] == []
    assert created["created_by"] == (personas.owner.display_name or personas.owner.email)
    [message] = [json.loads(path.read_text()) for path in (private_queue / "queue").glob("*.msg")]
    assert message["headers"]["task"] == run_job.name == "annotator.tasks.run_job"
    assert message["properties"]["delivery_info"]["routing_key"] == "training"
    assert json.loads(message["headers"]["argsrepr"].replace("'", '"')) == ["run", run.pk]


def test_a_refused_queue_fails_the_run_at_once_saying_so(
    ready, personas, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(run_job, "apply_async", refuse)  # the broker is down
    with django_capture_on_commit_callbacks(execute=True):
        run = create_run(ready, personas.owner, "classification", {})
    run.refresh_from_db()
    assert run.status == "failed" and run.error_code == "queue_unavailable"
    assert "connection refused" in run.error and "CELERY_BROKER_URL" in run.error
    assert project_bucket(ready).exists(run.snapshot_key)  # kept, for the record


def artifact(run: Run, name: str, verified: bool = True) -> Artifact:
    return Artifact(run=run, name=name, key=f"{run.prefix}/{name}.zip", size_bytes=10, sha256="0" * 64,
                    content_type="application/zip", verified=verified)  # fmt: skip


def test_a_run_succeeds_only_with_its_artifacts_and_says_what_it_offers(
    ready, personas, django_capture_on_commit_callbacks
):
    run = jobs.claim(Run, create_run(ready, personas.owner, "classification", {}).pk)
    listener = Listener(ready.pk)
    offered = [artifact(run, "model"), artifact(run, "model_web", verified=False), artifact(run, CHECKPOINT_ARTIFACT)]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.succeed_run(run, {"accuracy": 0.5}, offered)
    [event] = listener.events()
    assert event["status"] == "succeeded" and event["metrics"] == {"accuracy": 0.5}
    assert event["artifacts"] == [
        {"name": "model", "size_bytes": 10, "verified": True},
        {"name": "model_web", "size_bytes": 10, "verified": False},
    ]
    assert Run.objects.get(pk=run.pk).status == "succeeded" and run.artifacts.count() == 3


def test_a_run_that_ended_meanwhile_offers_nothing(ready, personas):
    run = jobs.claim(Run, create_run(ready, personas.owner, "classification", {}).pk)
    services.cancel_run(Run.objects.get(pk=run.pk))  # another process cancels
    assert not services.succeed_run(run, {"accuracy": 0.5}, [artifact(run, "model")])
    assert not Artifact.objects.filter(run=run).exists() and Run.objects.get(pk=run.pk).status == "cancelled"


def test_a_failing_run_counts_its_claim_and_says_why(ready, personas):
    run = create_run(ready, personas.owner, "classification", {})
    bucket = project_bucket(ready)
    bucket.put(run.snapshot_key, b"{}")  # the snapshot changed under the run
    bucket.put(f"{run.prefix}/model.zip", b"half")
    jobs.execute("run", run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and run.error_code == "data_changed" and run.attempts == 1
    assert "changed after the run was created" in run.error and "Start a new run" in run.error
    assert "SnapshotChanged" in run.log and not bucket.exists(f"{run.prefix}/model.zip")
