"""A run whose export check fails still succeeds: the SavedModel, the evaluation and every
export that passed are offered, the failing one marked unverified with its reason (API and
run page), next to the validation curve and the best checkpoint measured while training.

Trains a tiny classifier in-process through the worker's code path; the fault is injected at
the TFLite runner (every answer's probabilities reversed).
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from django.urls import reverse

from annotator import jobs
from annotator.storage import project_bucket
from tests.conftest import client_for
from tests.training.conftest import WEIGHTS_FILE, classification_data
from training.models import Run
from training.services import create_run

pytestmark = [
    pytest.mark.ml,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not WEIGHTS_FILE.is_file(), reason=f"needs the backbone weights at {WEIGHTS_FILE}"),
]
TINY = {"input_size": 64, "batch_size": 4, "augment": False, "epochs": 2, "fine_tune_epochs": 1, "eval_every": 1}


def test_a_failed_export_check_leaves_a_succeeded_run_with_that_export_unverified(
    classification_project, personas, settings, tmp_path, monkeypatch, client
):
    from training.ml import verify

    settings.ANNOTATOR_BACKBONE_WEIGHTS = str(WEIGHTS_FILE)
    settings.ANNOTATOR_TRAINING_CACHE_DIR = tmp_path / "cache"
    real = verify.run_tflite

    def reversed_answers(path, images, num_threads=2):
        return [{"probabilities": np.ascontiguousarray(o["probabilities"][:, ::-1])} for o in real(path, images)]

    monkeypatch.setattr(verify, "run_tflite", reversed_answers)
    project = classification_project
    classification_data(project, personas.owner, per_class=5)
    run = create_run(project, personas.owner, "classification", TINY)
    jobs.execute("run", run.pk)

    run = Run.objects.get(pk=run.pk)
    assert run.status == "succeeded", run.error
    artifacts = {a.name: a for a in run.artifacts.all()}
    android = artifacts["model_android"]
    assert not android.verified and "probabilities differ" in android.verification_error
    assert (
        not artifacts["models"].verified and artifacts["models"].verification_error == "holds unverified model_android"
    )
    assert all(artifacts[name].verified for name in ("model", "model_web", "model_ios", "report"))
    with zipfile.ZipFile(project_bucket(project).open(artifacts["models"].key)) as bundle:
        readme = bundle.read("README.md").decode()  # models.zip says which folder failed its check, and why
    assert "| `model_android/` |" in readme and "**unverified**: image 0: probabilities differ" in readme
    assert "model_android is offered unverified" in run.log
    assert run.metrics["verification"]["model_android"]["ok"] is False and run.metrics["export_failures"] == {}
    # Evaluation during training: the curve, the exported (best) point, the metric's name.
    assert run.eval_curve and run.metrics["metric_name"] == "accuracy"
    assert run.metrics["best"]["value"] == max(value for _, value in run.eval_curve)
    assert run.metrics["accuracy"] == pytest.approx(run.metrics["best"]["value"])
    assert run.metrics["stopped_early"] is False

    owner = client_for(personas.owner)
    detail = owner.get(reverse("api:run-detail", args=[project.pk, run.pk])).json()
    listed = {a["name"]: a for a in detail["artifacts"]}
    assert listed["model_android"]["verified"] is False and listed["model_android"]["verification_error"]
    assert listed["model_web"] == {**listed["model_web"], "verified": True, "verification_error": ""}
    assert detail["eval_curve"] == run.eval_curve
    client.force_login(personas.owner)
    page = client.get(reverse("training:run-detail", args=[project.pk, run.pk])).content.decode()
    assert 'class="check-warning unverified"' in page and "image 0: probabilities differ" in page
