"""The assist rules without a model: which run assists, pinning, thresholds, starting predictions,
auto-suggest on arrival, rejecting, and the run page's statistics."""

from __future__ import annotations

import pytest
from django.utils import timezone

from annotator.models import Image
from assist import services
from assist.errors import (
    AssistError,
    InvalidScope,
    InvalidThreshold,
    ModelMissing,
    NoAssistModel,
    PredictionRunning,
    RunNotFound,
    RunNotSucceeded,
    WrongKind,
)
from assist.models import AssistSettings, Prediction, PredictionJob, SuggestionStatus
from tests.assist.conftest import make_run, suggest
from tests.training.conftest import COLOURS, annotate, upload
from training.models import RunStatus

pytestmark = pytest.mark.django_db


def test_the_assist_run_is_the_newest_succeeded_run_of_the_projects_kind(project):
    assert services.assist_run(project) is None
    older = make_run(project)
    newest = make_run(project)
    make_run(project, kind="classification")
    make_run(project, status=RunStatus.FAILED)
    make_run(project, status=RunStatus.RUNNING)
    assert services.assist_run(project) == newest

    services.update_settings(project, None, pinned_run=older.pk)
    assert services.assist_run(project) == older and services.assist_state(project)["pinned"] is True
    older.delete()  # a pin that went stale falls back to the newest run
    assert services.assist_run(project) == newest and services.assist_state(project)["pinned"] is False


@pytest.mark.parametrize(
    ("make", "error", "status"),
    [
        (lambda p, other: make_run(p, kind="classification"), WrongKind, 409),
        (lambda p, other: make_run(p, status=RunStatus.FAILED), RunNotSucceeded, 409),
        (lambda p, other: make_run(other), RunNotFound, 404),
    ],
)
def test_pinning_refuses_runs_that_cannot_assist(personas, project, make, error, status):
    run = make(project, personas.other_project)
    with pytest.raises(error) as refused:
        services.update_settings(project, personas.owner, pinned_run=run.pk)
    assert refused.value.status == status and refused.value.code == error.error_code
    assert not AssistSettings.objects.filter(project=project, pinned_run__isnull=False).exists()


def test_pinning_another_run_shows_its_uncertainty(project, images):
    first, second = make_run(project), make_run(project)
    Prediction.objects.create(image=images[0], run=first, uncertainty=0.7)
    Prediction.objects.create(image=images[1], run=second, uncertainty=0.2)
    services.update_settings(project, None, pinned_run=first.pk)
    assert dict(Image.objects.filter(project=project).values_list("key", "uncertainty")) == {
        "img-0.png": 0.7, "img-1.png": None, "img-2.png": None,
    }  # fmt: skip
    assert list(services.uncertain_first(Image.objects.filter(project=project))) == [images[0]]
    services.update_settings(project, None, pinned_run=None)
    assert Image.objects.get(pk=images[1].pk).uncertainty == 0.2


def test_a_newer_succeeded_run_takes_over_the_uncertainty_at_the_next_read(project, images):
    first = make_run(project)
    Prediction.objects.create(image=images[0], run=first, uncertainty=0.7)
    assert services.follow_assist_run(project) == first
    assert Image.objects.get(pk=images[0].pk).uncertainty == 0.7
    newer = make_run(project)  # a newer run succeeded: the order must not mix its figures with the old ones
    Prediction.objects.create(image=images[1], run=newer, uncertainty=0.4)
    assert services.assist_state(project)["run"]["id"] == newer.pk
    assert dict(Image.objects.filter(project=project).values_list("key", "uncertainty")) == {
        "img-0.png": None, "img-1.png": 0.4, "img-2.png": None,
    }  # fmt: skip
    assert AssistSettings.objects.get(project=project).uncertainty_run == newer


@pytest.mark.parametrize("value", [0, 1, 0.35, "0.8", 1.0])
def test_thresholds_within_0_to_1_are_accepted(value):
    assert services.validate_threshold(value) == float(value)


@pytest.mark.parametrize("value", [-0.1, 1.01, "high", None, True, float("nan"), [0.5]])
def test_other_thresholds_are_refused(value):
    with pytest.raises(InvalidThreshold) as refused:
        services.validate_threshold(value)
    assert refused.value.code == "invalid_threshold" and refused.value.status == 400


def test_a_refused_threshold_is_quoted_cut_short():
    """A megabyte of text, or a list nested past Python's recursion limit, is not echoed back."""
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    for value in ("9" * 1_000_000, nested):
        with pytest.raises(InvalidThreshold) as refused:
            services.validate_threshold(value)
        assert len(str(refused.value)) < 200


def test_the_default_threshold_is_the_runs_best_f1_else_one_half(project):
    assert services.suggestion_threshold(make_run(project)) == 0.5
    tuned = make_run(project, metrics={"suggestion_threshold": {"score": 0.42, "f1": 0.9}})
    assert services.suggestion_threshold(tuned) == 0.42
    assert services.assist_state(project)["threshold"] == 0.42


def test_predicting_without_a_succeeded_run_is_refused(project, personas):
    make_run(project, status=RunStatus.FAILED)
    with pytest.raises(NoAssistModel) as refused:
        services.start_prediction(project, personas.owner, scope="unlabelled")
    assert (refused.value.code, refused.value.status) == ("no_assist_model", 409)
    with pytest.raises(NoAssistModel):
        services.start_autolabel(project, personas.owner, 0.5)
    with pytest.raises(NoAssistModel):
        services.preview_autolabel(project, 0.5)


def test_a_run_without_models_cannot_predict(project, personas):
    make_run(project, models=False)
    with pytest.raises(ModelMissing) as refused:
        services.start_prediction(project, personas.owner, scope="all")
    assert refused.value.status == 409


@pytest.mark.parametrize(
    "arguments",
    [{"scope": "everything"}, {"scope": "filter", "status": ["done"]}, {"scope": "filter", "label": 10**9},
     {"scope": "images", "image_ids": []}, {"scope": "images", "image_ids": [10**9]}],
)  # fmt: skip
def test_bad_scopes_are_refused(project, personas, arguments):
    make_run(project)
    with pytest.raises(InvalidScope) as refused:
        services.start_prediction(project, personas.owner, **arguments)
    assert refused.value.status == 400


def test_one_person_started_prediction_at_a_time(project, personas, images, labels):
    make_run(project)
    job = services.start_prediction(project, personas.owner, scope="filter", status=["unlabelled"],
                                    label=labels["red"].pk)  # fmt: skip
    assert (job.status, job.auto) == ("queued", False)
    assert job.filters == {"status": ["unlabelled"], "label": labels["red"].pk}
    with pytest.raises(PredictionRunning) as refused:
        services.start_prediction(project, personas.owner, scope="all")
    assert refused.value.details == {"job": job.pk}
    assert services.assist_state(project)["active_prediction"]["id"] == job.pk
    services.cancel_prediction(job)
    with pytest.raises(AssistError, match="already cancelled"):
        services.cancel_prediction(job)
    again = services.start_prediction(project, personas.owner, scope="images", image_ids=[images[1].pk])
    assert again.filters == {"ids": [images[1].pk]}
    assert list(services.scope_images(again)) == [images[1]]


def test_scopes_select_their_images(project, personas, images, labels):
    run = make_run(project)
    annotate(images[0], personas.owner, boxes=[(labels["red"], (0.1, 0.1, 0.5, 0.5))])
    Prediction.objects.create(image=images[1], run=run, uncertainty=0.5)
    Image.objects.filter(pk=images[2].pk).update(missing=True)

    def chosen(scope, **filters):
        job = PredictionJob(project=project, run=run, scope=scope, filters=filters)
        return [image.key for image in services.scope_images(job)]

    assert chosen("unlabelled") == ["img-1.png"]
    assert chosen("unpredicted") == ["img-0.png"]
    assert chosen("all") == ["img-0.png", "img-1.png"]
    assert chosen("filter", status=["labelled"]) == ["img-0.png"]
    assert chosen("filter", label=labels["blue"].pk) == []


def test_arriving_images_queue_one_auto_prediction(project, personas):
    make_run(project)
    upload(project, personas.owner, [("before.png", COLOURS["red"])])
    assert not PredictionJob.objects.exists()  # auto-suggest is off by default

    services.update_settings(project, personas.owner, auto_suggest=True)
    upload(project, personas.owner, [("a.png", COLOURS["blue"]), ("b.png", COLOURS["green"])])
    upload(project, personas.owner, [("c.png", (10, 10, 10))])
    job = PredictionJob.objects.get()
    assert (job.auto, job.scope, job.status, job.created_by) == (True, "unpredicted", "queued", None)
    # A person's prediction is not blocked by the auto one.
    assert services.start_prediction(project, personas.owner, scope="unlabelled").auto is False

    job.status = "running"
    job.save()
    upload(project, personas.owner, [("d.png", (90, 90, 90))])
    assert PredictionJob.objects.filter(auto=True, status="queued").count() == 1

    # A queued job whose message was lost must not hold auto-suggest back forever.
    PredictionJob.objects.filter(status="queued").update(created_at=timezone.now() - services.AUTO_QUEUED_PATIENCE)
    upload(project, personas.owner, [("e.png", (150, 90, 90))])
    assert PredictionJob.objects.filter(auto=True, status="queued").count() == 2


def test_auto_suggest_never_breaks_an_upload(project, personas, monkeypatch):
    make_run(project)
    services.update_settings(project, personas.owner, auto_suggest=True)

    def broken(project):
        raise RuntimeError("the assist run cannot be found today")

    monkeypatch.setattr(services, "assist_run", broken)
    [image] = upload(project, personas.owner, [("fine.png", COLOURS["red"])])
    assert Image.objects.filter(pk=image.pk).exists() and not PredictionJob.objects.exists()


def test_suggestions_are_shown_and_rejected(project, personas, images, labels):
    old, run = make_run(project), make_run(project)
    first = suggest(images[0], run, labels["red"], 0.9)
    second = suggest(images[0], run, labels["blue"], 0.4)
    stale = suggest(images[0], old, labels["red"], 0.95)
    elsewhere = suggest(images[1], run, labels["red"])

    shown_run, threshold, shown = services.suggestions_for(images[0])
    assert (shown_run, threshold, shown) == (run, 0.5, [first, second])
    assert services.reject(images[0], personas.annotator, ids=[second.pk, elsewhere.pk]) == 1
    second.refresh_from_db()
    assert (second.status, second.decided_by) == ("rejected", personas.annotator)
    assert services.suggestions_for(images[0])[2] == [first]
    assert services.suggestions_for(images[0], include_decided=True)[2] == [first, second]

    assert services.reject(images[0], personas.annotator, everything=True) == 1
    first.refresh_from_db()
    stale.refresh_from_db()
    assert (first.status, stale.status) == ("rejected", "pending")  # only the assist run's are "all"
    assert services.suggestions_for(images[0])[2] == []


def test_statistics_count_outcomes_and_boxes_people_added(project, personas, images, labels):
    run = make_run(project)
    accepted = suggest(images[0], run, labels["red"])
    suggest(images[0], run, labels["blue"], 0.3)
    suggest(images[1], run, labels["red"], status=SuggestionStatus.REJECTED)
    red = labels["red"]
    annotate(images[0], personas.annotator, boxes=[(red, (0.1, 0.25, 0.5, 0.75))])  # a new uid: drawn, not accepted
    image = Image.objects.get(pk=images[0].pk)
    from annotator.services.annotations import AnnotationSet, BoxData, save_annotations

    boxes = [BoxData(red.pk, 0.1, 0.25, 0.5, 0.75, uid=accepted.uid), BoxData(red.pk, 0.6, 0.6, 0.9, 0.9)]
    save_annotations(image, AnnotationSet(boxes, [], False), base_version=image.version, user=personas.annotator)
    annotate(images[2], personas.annotator, boxes=[(red, (0.2, 0.2, 0.3, 0.3))])  # no suggestions there: not counted

    assert services.suggestion_stats(run) == {"pending": 1, "accepted": 1, "edited": 0, "rejected": 1, "added": 1}
    assert services.suggestion_stats(make_run(project, kind="classification"))["added"] == 0


def test_the_assist_state_counts_the_projects_images(project, personas, images, labels):
    run = make_run(project, metrics={"map50": 0.8, "suggestion_threshold": {"score": 0.6}, "loss": 1.0})
    Prediction.objects.create(image=images[0], run=run, uncertainty=0.5)
    suggest(images[0], run, labels["red"])
    suggest(images[0], run, labels["red"], status=SuggestionStatus.REJECTED)
    Image.objects.filter(pk=images[1].pk).update(auto_labelled=True)
    state = services.assist_state(project)
    assert state["run"]["id"] == run.pk and state["run"]["score"] == 0.8
    assert state["run"]["metrics"] == {"map50": 0.8, "suggestion_threshold": {"score": 0.6}}
    assert (state["pinned"], state["auto_suggest"], state["threshold"], state["active_prediction"]) == (
        False, False, 0.6, None
    )  # fmt: skip
    assert state["counts"] == {"predicted": 1, "unpredicted": 2, "pending_suggestions": 1, "auto_labelled": 1}
