"""Real prediction jobs: tiny real models (LiteRT and SavedModel) over real uploaded images, run by
the job kernel as a worker runs them."""

from __future__ import annotations

import pytest

from annotator import jobs
from annotator.models import Image, Label
from annotator.services.projects import create_label
from annotator.storage import project_bucket
from assist import services, worker
from assist.models import Prediction, PredictionJob, Suggestion
from tests.assist.conftest import DETECTOR_BOX, real_run
from tests.training.conftest import COLOURS, annotate, upload

pytestmark = [pytest.mark.ml, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def model_cache(settings, tmp_path):
    settings.ANNOTATOR_TRAINING_CACHE_DIR = tmp_path / "cache"


def predict(project, user, scope="unlabelled", **arguments) -> PredictionJob:
    job = services.start_prediction(project, user, scope=scope, **arguments)
    jobs.execute("predict", job.pk)
    return PredictionJob.objects.get(pk=job.pk)


@pytest.fixture
def detection(personas, model_folders):
    """A detection project with four unlabelled images and the tiny detector (SavedModel only)."""
    project = personas.project
    labels = [create_label(project, "red"), create_label(project, "blue")]
    images = upload(project, personas.owner, [(f"{i}.png", COLOURS["red"]) for i in range(4)], size=(80, 60))
    run = real_run(project, personas.owner, "detection", {"model": model_folders["detection"]["model"]}, labels)
    return project, run, images, labels


def test_a_detector_suggests_boxes_and_measures_uncertainty(detection, personas):
    project, run, images, labels = detection
    Label.objects.filter(pk=labels[0].pk).update(name="crimson")  # renamed since the run: followed by id
    annotate(images[3], personas.owner, boxes=[(labels[1], (0.1, 0.1, 0.2, 0.2))])

    job = predict(project, personas.owner)
    assert job.status == "succeeded", job.error
    assert (job.runtime, job.images_total, job.images_done, job.images_failed) == ("saved_model", 3, 3, 0)
    assert (job.suggestions_created, job.dropped_labels) == (3, [])
    assert job.images_per_second > 0
    suggestions = list(Suggestion.objects.filter(run=run).order_by("image__key"))
    assert [s.image_id for s in suggestions] == [i.pk for i in images[:3]]
    assert {(s.label_id, s.status) for s in suggestions} == {(labels[0].pk, "pending")}
    assert all(s.score == pytest.approx(0.9) for s in suggestions)
    assert all((s.x, s.y, s.x2, s.y2) == pytest.approx(DETECTOR_BOX) for s in suggestions)
    # One detection at 0.9 against the default threshold 0.5: 1 - |0.9 - 0.5| / 0.5.
    assert dict(Prediction.objects.filter(run=run).values_list("image_id", "uncertainty")) == pytest.approx(
        {i.pk: 0.2 for i in images[:3]}
    )
    assert [Image.objects.get(pk=i.pk).uncertainty for i in images] == pytest.approx([0.2, 0.2, 0.2, None])


def test_repredicting_keeps_decided_suggestions(detection, personas):
    project, run, images, labels = detection
    predict(project, personas.owner)
    first = Suggestion.objects.get(run=run, image=images[0])
    second = Suggestion.objects.get(run=run, image=images[1])
    image = Image.objects.get(pk=images[0].pk)
    from annotator.services.annotations import AnnotationSet, BoxData, save_annotations

    accepted = BoxData(labels[0].pk, first.x, first.y, first.x2, first.y2, uid=first.uid)
    save_annotations(image, AnnotationSet([accepted], [], False), base_version=image.version, user=personas.annotator)
    services.reject(images[1], personas.annotator, ids=[second.pk])

    job = predict(project, personas.owner, scope="all")
    # The accepted box and the rejected proposal are not proposed again; the other two images are.
    assert (job.status, job.images_total, job.suggestions_created) == ("succeeded", 4, 2)
    statuses = Suggestion.objects.filter(run=run).order_by("status")
    by_image = {i.pk: list(statuses.filter(image=i).values_list("status", flat=True)) for i in images}
    assert by_image[images[0].pk] == ["accepted"] and by_image[images[1].pk] == ["rejected"]
    assert by_image[images[2].pk] == ["pending"] == by_image[images[3].pk]
    assert Suggestion.objects.filter(pk__in=[first.pk, second.pk]).count() == 2  # the decided rows themselves
    assert not Suggestion.objects.filter(run=run, image=images[2], pk__lte=second.pk).exists()  # pending replaced
    assert Prediction.objects.filter(run=run).count() == 4


def test_unreadable_images_are_counted_and_skipped(detection, personas):
    project, _, images, _ = detection
    bucket = project_bucket(project)
    bucket.put(images[0].key, b"not an image at all")
    bucket.delete(images[1].key)

    job = predict(project, personas.owner)
    assert job.status == "succeeded", job.error
    assert (job.images_total, job.images_done, job.images_failed, job.suggestions_created) == (4, 4, 2, 2)
    assert set(Prediction.objects.values_list("image_id", flat=True)) == {images[2].pk, images[3].pk}


def test_cancelling_stops_before_the_next_batch(detection, personas, settings, monkeypatch):
    project, _, images, _ = detection
    settings.ANNOTATOR_PREDICT_BATCH = 2
    write_batch = worker._write_batch

    def cancel_after_first_batch(job, *args):
        write_batch(job, *args)
        services.cancel_prediction(PredictionJob.objects.get(pk=job.pk))

    monkeypatch.setattr(worker, "_write_batch", cancel_after_first_batch)
    job = predict(project, personas.owner)
    assert (job.status, job.images_total, job.images_done) == ("cancelled", 4, 2)
    assert set(Prediction.objects.values_list("image_id", flat=True)) == {images[0].pk, images[1].pk}
    assert Suggestion.objects.count() == 2


def test_a_classifier_on_litert_drops_deleted_labels(personas, classification_project, model_folders):
    project = classification_project
    red, blue = create_label(project, "red"), create_label(project, "blue")
    reds = upload(project, personas.owner, [(f"red-{i}.png", COLOURS["red"]) for i in range(2)])
    [navy] = upload(project, personas.owner, [("navy.png", COLOURS["blue"])])
    run = real_run(project, personas.owner, "classification", model_folders["classification"], [red, blue])

    job = predict(project, personas.owner)
    assert (job.status, job.runtime, job.images_done, job.dropped_labels) == ("succeeded", "litert", 3, [])
    best = {s.image_id: s for s in Suggestion.objects.filter(run=run).order_by("score")}
    assert best[reds[0].pk].label == red and best[navy.pk].label == blue and best[navy.pk].score > 0.9
    prediction = Prediction.objects.get(run=run, image=navy)
    assert prediction.uncertainty < 0.2  # margin sampling: 1 - (p1 - p2) on a clear answer

    blue.delete()
    job = predict(project, personas.owner, scope="all")
    assert (job.status, job.dropped_labels) == ("succeeded", ["blue"])
    assert set(Suggestion.objects.filter(run=run).values_list("label__name", flat=True)) == {"red"}


def test_a_detection_runs_box_classifier_names_its_boxes(personas, model_folders, tmp_path):
    """The tiny detector calls every box "red"; the run's box classifier sees a blue crop."""
    import shutil

    project = personas.project
    red, blue = create_label(project, "red"), create_label(project, "blue")
    images = upload(project, personas.owner, [(f"{i}.png", COLOURS["blue"]) for i in range(2)], size=(80, 60))
    namer = tmp_path / "box_classifier"  # the folder name the zip holds, as the worker uploads it
    shutil.copytree(model_folders["classification"]["model_android"], namer)
    folders = {**model_folders["detection"], "box_classifier": namer}
    run = real_run(project, personas.owner, "detection", folders, [red, blue])
    assert "box_classifier" not in {a.name for a in run.offered_artifacts}  # kept for workers, never downloaded

    job = predict(project, personas.owner)
    assert (job.status, job.images_done, job.suggestions_created) == ("succeeded", 2, 2), job.error
    suggestions = list(Suggestion.objects.filter(run=run))
    assert {s.image_id for s in suggestions} == {i.pk for i in images}
    assert all(s.label == blue and s.score == pytest.approx(0.9, abs=0.01) for s in suggestions)
    assert all((s.x, s.y, s.x2, s.y2) == pytest.approx(DETECTOR_BOX) for s in suggestions)


def test_auto_suggest_predicts_arriving_images(personas, model_folders):
    project = personas.project
    labels = [create_label(project, "red"), create_label(project, "blue")]
    real_run(project, personas.owner, "detection", model_folders["detection"], labels)
    services.update_settings(project, personas.owner, auto_suggest=True)
    [image] = upload(project, personas.owner, [("new.png", COLOURS["green"])])

    job = PredictionJob.objects.get(auto=True)
    jobs.execute("predict", job.pk)
    job.refresh_from_db()
    assert (job.status, job.runtime, job.images_done) == ("succeeded", "litert", 1)
    assert Suggestion.objects.filter(image=image).count() == 1
