"""A run warm-started from an earlier one, end to end through the worker's code path: the
first run keeps its weights as a hidden `checkpoint` artifact, the second trains from them
with a renamed label reused and a new one added, and records so."""

from __future__ import annotations

import pytest

from annotator import jobs
from annotator.models import Label
from tests.training.conftest import COLOURS, WEIGHTS_FILE, annotate, classification_data, upload
from training.models import Run
from training.services import create_run

pytestmark = [
    pytest.mark.ml,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not WEIGHTS_FILE.is_file(), reason=f"needs the backbone weights at {WEIGHTS_FILE}"),
]
TINY = {"input_size": 64, "batch_size": 4, "augment": False, "epochs": 2, "fine_tune_epochs": 1}


def test_a_run_trains_from_an_earlier_runs_weights(classification_project, personas, settings, tmp_path):
    settings.ANNOTATOR_BACKBONE_WEIGHTS = str(WEIGHTS_FILE)
    settings.ANNOTATOR_TRAINING_CACHE_DIR = tmp_path / "cache"
    project = classification_project
    labels = classification_data(project, personas.owner, per_class=5)
    base = create_run(project, personas.owner, "classification", TINY)
    jobs.execute("run", base.pk)
    base.refresh_from_db()
    assert base.status == "succeeded", base.error
    checkpoint = base.artifacts.get(name="checkpoint")
    assert checkpoint.filename == "checkpoint.weights.h5" and checkpoint.size_bytes > 100_000
    assert "checkpoint" not in {a.name for a in base.offered_artifacts}

    Label.objects.filter(pk=labels["blue"].pk).update(name="navy")
    green = Label.objects.create(project=project, name="green")
    for image in upload(project, personas.owner, [(f"green-{i}.png", COLOURS["green"]) for i in range(5)]):
        annotate(image, personas.owner, labels=[green])
    # Without a "from ImageNet" backbone file: a warm start needs only the base run's weights.
    settings.ANNOTATOR_BACKBONE_WEIGHTS = str(tmp_path / "missing.h5")
    run = create_run(project, personas.owner, "classification", {**TINY, "epochs": 1}, base.pk)
    jobs.execute("run", run.pk)

    run = Run.objects.get(pk=run.pk)
    assert run.status == "succeeded", run.error
    assert run.base_run_id == base.pk and run.metrics["trained_from_scratch"] is False
    record = run.metrics["warm_start"]
    assert (record["reused_labels"], record["new_labels"], record["dropped_labels"]) == (
        ["red", "navy"], ["green"], []
    )  # fmt: skip
    assert f"starting from run {base.pk}: 2 labels reused, 1 new, 0 dropped" in run.log
    assert run.artifacts.filter(name="checkpoint").exists()  # a warm-started run can seed the next one
