"""Warm start through the API and the CLI: the offered default, what a run records it reused,
the coded refusals, who may do it, and the checkpoint that is kept but never offered."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from annotator.models import Image, Label
from annotator.storage import project_bucket
from tests.conftest import client_for
from tests.training.conftest import annotate, classification_data, upload
from training.models import Artifact, Run, RunStatus
from training.services import create_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5, classes=("red", "blue", "green"))
    return classification_project


def succeeded(project, user, *, checkpoint: bool = True, hyperparameters: dict | None = None) -> Run:
    """A run that finished with (or without) the weights later runs start from."""
    run = create_run(project, user, "classification", hyperparameters or {"epochs": 1})
    labels = run.dataset_summary["labels"]
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED, metrics={"accuracy": 0.9, "labels": labels, "map": None}
    )
    if checkpoint:
        data = b"\x89HDF weights"
        key = f"{run.prefix}/checkpoint.weights.h5"
        project_bucket(project).put(key, data)
        Artifact.objects.create(run=run, name="checkpoint", key=key, size_bytes=len(data),
                                sha256=hashlib.sha256(data).hexdigest(), content_type="application/x-hdf5")  # fmt: skip
    run.refresh_from_db()
    return run


def defaults(client, project, **query):
    response = client.get(reverse("api:run-hyperparameters", args=[project.pk]), {"kind": "classification", **query})
    assert response.status_code == 200, response.content
    return response.json()


def start(client, project, body):
    return client.post(reverse("api:run-list", args=[project.pk]), body, format="json")


def test_the_newest_compatible_run_is_offered_with_its_architecture_and_a_shorter_schedule(ready, personas):
    client = client_for(personas.owner)
    assert defaults(client, ready)["base_run"] is None  # nothing to start from yet
    older = succeeded(ready, personas.owner, hyperparameters={"epochs": 1, "input_size": 96})
    newest = succeeded(ready, personas.owner, hyperparameters={"epochs": 1, "input_size": 128, "alpha": 0.35})
    succeeded(ready, personas.owner, checkpoint=False)  # newer still, but kept no weights
    create_run(ready, personas.owner, "classification", {})  # queued: nothing to start from

    offered = defaults(client, ready)
    assert offered["base_run"] == newest.pk
    assert [r["id"] for r in offered["base_runs"]] == [newest.pk, older.pk]
    assert offered["base_runs"][0]["labels"] == ["red", "blue", "green"]
    assert offered["base_runs"][0]["metric_name"] == "accuracy" and offered["base_runs"][0]["metric"] == 0.9
    imagenet = defaults(client, ready, base_run="none")
    assert offered["input_size"] == 128 and offered["alpha"] == 0.35
    assert offered["epochs"] == imagenet["epochs"] // 2
    assert offered["fine_tune_epochs"] == imagenet["fine_tune_epochs"] // 2
    assert imagenet["base_run"] is None and imagenet["input_size"] == 288
    assert defaults(client, ready, base_run=str(older.pk))["input_size"] == 96
    assert defaults(client_for(personas.viewer), ready)["base_run"] == newest.pk  # readable like the runs list

    bad = client.get(reverse("api:run-hyperparameters", args=[ready.pk]), {"base_run": "latest"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_base_run"
    refused = client.get(reverse("api:run-hyperparameters", args=[ready.pk]), {"base_run": "999999"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "base_run_not_found"


def test_a_warm_started_run_records_which_labels_it_reuses(ready, personas):
    base = succeeded(ready, personas.owner)
    blue, green = Label.objects.get(project=ready, name="blue"), Label.objects.get(project=ready, name="green")
    Label.objects.filter(pk=blue.pk).update(name="navy")  # renamed: same id, same output row
    Image.objects.filter(project=ready, labels=green).delete()
    green.delete()  # gone: its row is dropped
    purple = Label.objects.create(project=ready, name="purple")
    for image in upload(ready, personas.owner, [(f"purple-{i}.png", (120, 30, 160)) for i in range(5)]):
        annotate(image, personas.owner, labels=[purple])

    response = start(client_for(personas.owner), ready, {"base_run": base.pk, "hyperparameters": {}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["base_run"] == base.pk
    assert body["hyperparameters"]["epochs"] == 20 and body["hyperparameters"]["input_size"] == 288
    record = body["metrics"]["warm_start"]
    assert {k: v for k, v in record.items() if k != "mapping"} == {
        "base_run": base.pk,
        "reused_labels": ["red", "navy"],
        "new_labels": ["purple"],
        "dropped_labels": ["green"],
    }
    # Output rows follow the project's label order; each reused one points at its base row.
    rows = dict(zip(body["dataset_summary"]["labels"], record["mapping"], strict=True))
    assert rows == {"red": 0, "navy": 1, "purple": None}
    assert Run.objects.get(pk=body["id"]).base_run_id == base.pk

    imagenet = start(client_for(personas.owner), ready, {"hyperparameters": {}})
    assert imagenet.json()["base_run"] is None and "warm_start" not in imagenet.json()["metrics"]


@pytest.mark.parametrize("why", ["failed", "no_checkpoint", "other_kind", "other_input_size"])
def test_an_incompatible_base_run_is_refused_naming_why(ready, personas, why):
    base = succeeded(ready, personas.owner, checkpoint=why != "no_checkpoint")
    body: dict = {"base_run": base.pk, "hyperparameters": {}}
    if why == "failed":
        Run.objects.filter(pk=base.pk).update(status=RunStatus.FAILED)
    elif why == "other_kind":
        Run.objects.filter(pk=base.pk).update(kind="detection")
    elif why == "other_input_size":
        body["hyperparameters"] = {"input_size": 96}
    response = start(client_for(personas.owner), ready, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "base_run_incompatible"
    expected = {"failed": "failed", "no_checkpoint": "kept no weights", "other_kind": "detection model",
                "other_input_size": "input_size 96"}[why]  # fmt: skip
    assert expected in error["message"]
    assert Run.objects.filter(project=ready).count() == 1  # nothing was queued


def test_another_projects_run_is_never_a_base(ready, personas):
    other = personas.other_project
    other.type = ready.type
    other.save(update_fields=["type"])
    classification_data(other, personas.outsider, per_class=5)
    foreign = succeeded(other, personas.outsider)
    for base_run in (foreign.pk, 2**63 - 2):
        response = start(client_for(personas.owner), ready, {"base_run": base_run, "hyperparameters": {}})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "base_run_not_found"
    response = start(client_for(personas.owner), ready, {"base_run": 0, "hyperparameters": {}})
    assert response.status_code == 400 and "base_run" in response.json()["error"]["details"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 201), ("admin", 201), ("reviewer", 403), ("annotator", 403), ("viewer", 403), ("outsider", 404),
     ("anonymous", 401)],
)  # fmt: skip
def test_only_people_who_may_train_start_from_a_run(ready, personas, role, expected):
    base = succeeded(ready, personas.owner)
    response = start(client_for(personas.of(role)), ready, {"base_run": base.pk, "hyperparameters": {}})
    assert response.status_code == expected, response.content


def test_the_checkpoint_is_kept_but_never_offered_for_download(ready, personas):
    base = succeeded(ready, personas.owner)
    client = client_for(personas.owner)
    listed = client.get(reverse("api:run-artifacts", args=[ready.pk, base.pk])).json()
    detail = client.get(reverse("api:run-detail", args=[ready.pk, base.pk])).json()
    assert "checkpoint" not in [a["name"] for a in listed]
    assert "checkpoint" not in [a["name"] for a in detail["artifacts"]]
    page = client_for(personas.owner)
    page.force_login(personas.owner)
    html = page.get(reverse("training:run-detail", args=[ready.pk, base.pk])).content.decode()
    assert "checkpoint.weights.h5" not in html


def test_the_cli_starts_from_the_newest_compatible_run_unless_told_otherwise(ready, personas, capsys):
    base = succeeded(ready, personas.owner)
    call_command("train", str(ready.pk), "--json")
    default = json.loads(capsys.readouterr().out)
    assert Run.objects.get(pk=default["id"]).base_run_id == base.pk
    assert default["metrics"]["warm_start"]["reused_labels"] == ["red", "blue", "green"]

    call_command("train", str(ready.pk), "--json", "--from-imagenet")
    assert Run.objects.get(pk=json.loads(capsys.readouterr().out)["id"]).base_run_id is None
    # Another input size: the newest run does not fit, so the run starts from ImageNet.
    call_command("train", str(ready.pk), "--json", "--set", "input_size=96")
    assert Run.objects.get(pk=json.loads(capsys.readouterr().out)["id"]).base_run_id is None
    call_command("train", str(ready.pk), "--json", "--base-run", str(base.pk))
    assert Run.objects.get(pk=json.loads(capsys.readouterr().out)["id"]).base_run_id == base.pk
    failed = succeeded(ready, personas.owner, checkpoint=False)
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="kept no weights"):
        call_command("train", str(ready.pk), "--base-run", str(failed.pk))
