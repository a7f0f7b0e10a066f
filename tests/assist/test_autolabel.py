"""Bulk auto-label through the job kernel: only never-annotated images are filled, a person's
concurrent save wins, and what was written is accepted, by the job's creator."""

from __future__ import annotations

import pytest

from annotator import jobs
from annotator.models import Box, Image
from annotator.services.projects import create_label
from assist import autolabel, services
from assist.models import AutoLabelJob
from tests.assist.conftest import make_run, suggest
from tests.training.conftest import COLOURS, annotate, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(personas):
    """Five images: two fillable, one annotated, one "no objects", one with only weak suggestions."""
    project = personas.project
    red, blue = create_label(project, "red"), create_label(project, "blue")
    images = upload(project, personas.owner, [(f"{i}.png", COLOURS["red"]) for i in range(5)])
    run = make_run(project)
    suggest(images[0], run, red, 0.9, box=(0.1, 0.1, 0.4, 0.4))
    suggest(images[0], run, blue, 0.7, box=(0.5, 0.5, 0.8, 0.8))
    suggest(images[0], run, blue, 0.3, box=(0.1, 0.5, 0.3, 0.9))  # below the threshold: not written
    suggest(images[1], run, red, 0.8)
    annotate(images[2], personas.annotator, boxes=[(blue, (0.2, 0.2, 0.6, 0.6))])
    suggest(images[2], run, red, 0.95)
    annotate(images[3], personas.annotator, negative=True)
    suggest(images[3], run, red, 0.95)
    suggest(images[4], run, red, 0.2)
    return project, run, images, {"red": red, "blue": blue}


def boxes_of(image: Image) -> list[tuple]:
    return sorted((b.label.name, b.x, b.y, b.x2, b.y2) for b in Box.objects.filter(image=image))


def test_the_preview_counts_what_a_threshold_would_write(scene):
    project, _, _, _ = scene
    assert services.preview_autolabel(project, 0.5) == {
        "threshold": 0.5, "images": 2, "per_label": {"red": 2, "blue": 1}
    }  # fmt: skip
    assert services.preview_autolabel(project, 0.1)["per_label"] == {"red": 3, "blue": 2}
    assert services.preview_autolabel(project, 1)["images"] == 0


def test_only_never_annotated_images_are_filled(scene, personas):
    project, run, images, labels = scene
    before = {image.pk: (boxes_of(image), Image.objects.get(pk=image.pk).version) for image in images[2:4]}
    job = services.start_autolabel(project, personas.admin, 0.5)
    jobs.execute("autolabel", job.pk)

    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert (job.images_total, job.images_done, job.images_labelled, job.boxes_created) == (2, 2, 2, 3)
    assert job.per_label == {"blue": 1, "red": 2}
    assert boxes_of(images[0]) == [("blue", 0.5, 0.5, 0.8, 0.8), ("red", 0.1, 0.1, 0.4, 0.4)]
    filled = Image.objects.get(pk=images[0].pk)
    assert (filled.auto_labelled, filled.status, filled.annotated_by) == (True, "labelled", personas.admin)
    for image in images[2:4]:  # people's work is untouched
        assert (boxes_of(image), Image.objects.get(pk=image.pk).version) == before[image.pk]
        assert Image.objects.get(pk=image.pk).auto_labelled is False
    assert boxes_of(images[4]) == []

    accepted = run.suggestions.filter(status="accepted")
    assert accepted.count() == 3 and {s.decided_by for s in accepted} == {personas.admin}
    assert set(Box.objects.filter(image=images[0]).values_list("uid", flat=True)) == set(
        accepted.filter(image=images[0]).values_list("uid", flat=True)
    )
    # A person's save afterwards clears the mark reviewers filter on.
    annotate(filled, personas.annotator, boxes=[(labels["red"], (0.1, 0.1, 0.4, 0.4))])
    assert Image.objects.get(pk=filled.pk).auto_labelled is False


def test_a_concurrent_save_wins_over_the_job(scene, personas, monkeypatch):
    project, _, images, labels = scene
    real_save = autolabel.save_annotations

    def person_saves_first(image, data, **kwargs):
        if image.pk == images[1].pk:
            annotate(Image.objects.get(pk=image.pk), personas.annotator, boxes=[(labels["blue"], (0.3, 0.3, 0.7, 0.7))])
        return real_save(image, data, **kwargs)

    monkeypatch.setattr(autolabel, "save_annotations", person_saves_first)
    job = services.start_autolabel(project, personas.owner, 0.5)
    jobs.execute("autolabel", job.pk)

    job = AutoLabelJob.objects.get(pk=job.pk)
    assert (job.status, job.images_done, job.images_labelled) == ("succeeded", 2, 1)
    assert job.per_label == {"blue": 1, "red": 1}
    assert boxes_of(images[1]) == [("blue", 0.3, 0.3, 0.7, 0.7)]
    assert Image.objects.get(pk=images[1].pk).auto_labelled is False


def test_a_classifier_fills_its_best_class(personas, classification_project):
    project = classification_project
    red, blue = create_label(project, "red"), create_label(project, "blue")
    image, unsure = upload(project, personas.owner, [("a.png", COLOURS["red"]), ("b.png", COLOURS["blue"])])
    run = make_run(project, kind="classification")
    suggest(image, run, red, 0.7, box=None)
    suggest(image, run, blue, 0.6, box=None)
    suggest(unsure, run, blue, 0.4, box=None)
    assert services.preview_autolabel(project, 0.5) == {"threshold": 0.5, "images": 1, "per_label": {"red": 1}}

    job = services.start_autolabel(project, personas.owner, 0.5)
    jobs.execute("autolabel", job.pk)
    job.refresh_from_db()
    assert (job.status, job.images_labelled, job.boxes_created, job.per_label) == ("succeeded", 1, 0, {"red": 1})
    assert list(Image.objects.get(pk=image.pk).labels.all()) == [red]
    assert dict(run.suggestions.values_list("label__name", "status").filter(image=image)) == {
        "red": "accepted", "blue": "rejected",
    }  # fmt: skip
    assert not Image.objects.get(pk=unsure.pk).labels.exists()
