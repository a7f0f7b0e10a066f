"""The assist API: each endpoint for the roles that may and may not use it, and its coded refusals.

Runs here are rows with the metrics a trained run would have; the endpoints under test never open
the model (the prediction job itself is tests/assist/test_worker.py's). Every route's permission
for every role is also walked by tests/annotator/test_permissions_matrix.py.
"""

from __future__ import annotations

import pytest

from annotator.services.projects import create_label, create_project
from assist.models import AssistSettings, AutoLabelJob, PredictionJob, SuggestionStatus
from tests.assist.conftest import DETECTOR_BOX, make_run, suggest
from tests.conftest import client_for
from tests.training.conftest import COLOURS, annotate, upload
from training.models import RunStatus

pytestmark = pytest.mark.django_db

METRICS = {
    "map50": 0.8,
    "loss": 1.2,
    "suggestion_threshold": {"score": 0.4, "f1": 0.9, "precision": 0.9, "recall": 0.9},
}


def url(project, tail: str) -> str:
    return f"/api/v1/projects/{project.pk}/{tail}"


def code(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# --- The assist run and its settings --------------------------------------------------------


def test_the_state_without_a_run_says_so(personas, project):
    response = client_for(personas.viewer).get(url(project, "assist/"))

    assert response.status_code == 200
    assert response.json() == {
        "run": None,
        "pinned": False,
        "auto_suggest": False,
        "threshold": 0.5,
        "counts": {"predicted": 0, "unpredicted": 0, "pending_suggestions": 0, "auto_labelled": 0},
        "active_prediction": None,
    }
    assert client_for(personas.outsider).get(url(project, "assist/")).status_code == 404
    assert client_for(None).get(url(project, "assist/")).status_code == 401


def test_the_state_shows_the_newest_run_with_its_metrics_and_threshold(personas, project):
    run = make_run(project, metrics=METRICS)

    state = client_for(personas.annotator).get(url(project, "assist/")).json()

    assert state["run"]["id"] == run.pk and state["run"]["kind"] == "detection"
    assert state["run"]["score"] == 0.8 and state["run"]["url"] == run.urls["page"]
    assert state["run"]["metrics"] == {"map50": 0.8, "suggestion_threshold": METRICS["suggestion_threshold"]}
    assert state["threshold"] == 0.4 and state["pinned"] is False


def test_owners_and_admins_pin_a_run_and_switch_auto_suggest(personas, project):
    older, newest = make_run(project), make_run(project)

    pinned = client_for(personas.admin).patch(url(project, "assist/"), {"pinned_run": older.pk}, format="json")
    switched = client_for(personas.owner).patch(url(project, "assist/"), {"auto_suggest": True}, format="json")
    unpinned = client_for(personas.owner).patch(url(project, "assist/"), {"pinned_run": None}, format="json")

    assert pinned.status_code == 200 and pinned.json()["run"]["id"] == older.pk and pinned.json()["pinned"] is True
    assert switched.json()["run"]["id"] == older.pk and switched.json()["auto_suggest"] is True  # the pin stayed
    assert unpinned.json()["run"]["id"] == newest.pk and unpinned.json()["pinned"] is False
    assert AssistSettings.objects.get(project=project).updated_by == personas.owner


@pytest.mark.parametrize("role", ["annotator", "reviewer", "viewer"])
def test_other_members_may_not_pin(personas, project, role):
    run = make_run(project)
    response = client_for(personas.of(role)).patch(url(project, "assist/"), {"pinned_run": run.pk}, format="json")
    assert response.status_code == 403
    assert not AssistSettings.objects.exists()


def test_pinning_a_run_that_cannot_assist_is_a_coded_error(personas, project):
    owner = client_for(personas.owner)
    classifier = make_run(project, kind="classification")
    failed = make_run(project, status=RunStatus.FAILED)
    foreign = make_run(personas.other_project)

    def pin(run_id):
        return owner.patch(url(project, "assist/"), {"pinned_run": run_id}, format="json")

    assert code(pin(classifier.pk)) == (409, "wrong_kind")
    assert code(pin(failed.pk)) == (409, "run_not_succeeded")
    assert code(pin(foreign.pk)) == (404, "run_not_found")
    assert code(pin("latest")) == (400, "invalid")


# --- Prediction jobs ------------------------------------------------------------------------


def test_owners_start_a_prediction_and_follow_it(personas, project, images):
    run = make_run(project)
    owner = client_for(personas.owner)

    started = owner.post(url(project, "predictions/"), {"scope": "unpredicted"}, format="json")

    assert started.status_code == 202, started.content
    job = started.json()
    assert (job["kind"], job["status"], job["scope"], job["run"], job["auto"]) == (
        "predict", "queued", "unpredicted", run.pk, False
    )  # fmt: skip
    assert job["created_by"] == personas.owner.pk  # ids, as the job's websocket events carry them
    viewer = client_for(personas.viewer)
    assert [j["id"] for j in viewer.get(url(project, "predictions/")).json()] == [job["id"]]
    assert viewer.get(url(project, f"predictions/{job['id']}/")).json() == job
    assert viewer.get(url(project, "assist/")).json()["active_prediction"]["id"] == job["id"]


def test_a_prediction_of_listed_images_or_a_filter(personas, project, images, labels):
    make_run(project)
    owner = client_for(personas.owner)

    listed = owner.post(url(project, "predictions/"), {"scope": "images", "images": [images[1].pk]}, format="json")
    PredictionJob.objects.update(status="succeeded")
    filtered = owner.post(
        url(project, "predictions/"),
        {"scope": "filter", "status": ["unlabelled"], "label": labels["red"].pk},
        format="json",
    )

    assert listed.status_code == 202 and listed.json()["filters"] == {"ids": [images[1].pk]}
    assert filtered.status_code == 202 and filtered.json()["filters"] == {
        "status": ["unlabelled"],
        "label": labels["red"].pk,
    }


def test_one_person_started_prediction_at_a_time(personas, project):
    make_run(project)
    owner = client_for(personas.owner)
    first = owner.post(url(project, "predictions/"), {}, format="json")

    second = owner.post(url(project, "predictions/"), {}, format="json")

    assert first.status_code == 202 and first.json()["scope"] == "unlabelled"  # the default scope
    assert code(second) == (409, "prediction_running")
    assert second.json()["error"]["job"] == first.json()["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"scope": "everything"},
        {"scope": 3},
        {"scope": "filter", "status": ["done"]},
        {"scope": "images"},
        {"scope": "images", "images": [999_999]},
    ],
)
def test_a_bad_scope_is_invalid_scope(personas, project, body):
    make_run(project)
    response = client_for(personas.owner).post(url(project, "predictions/"), body, format="json")
    assert code(response) == (400, "invalid_scope")
    assert not PredictionJob.objects.exists()


def test_predicting_needs_a_succeeded_run_of_the_projects_kind_with_a_model(personas, project):
    owner = client_for(personas.owner)
    make_run(project, kind="classification")
    make_run(project, status=RunStatus.RUNNING)

    assert code(owner.post(url(project, "predictions/"), {}, format="json")) == (409, "no_assist_model")
    make_run(project, models=False)
    assert code(owner.post(url(project, "predictions/"), {}, format="json")) == (409, "model_missing")
    assert not PredictionJob.objects.exists()


@pytest.mark.parametrize("role", ["annotator", "reviewer", "viewer"])
def test_only_owners_and_admins_predict(personas, project, role):
    make_run(project)
    response = client_for(personas.of(role)).post(url(project, "predictions/"), {}, format="json")
    assert response.status_code == 403
    assert not PredictionJob.objects.exists()


def test_cancelling_a_prediction(personas, project):
    make_run(project)
    owner = client_for(personas.owner)
    job = owner.post(url(project, "predictions/"), {}, format="json").json()
    cancel = url(project, f"predictions/{job['id']}/cancel/")

    assert client_for(personas.annotator).post(cancel).status_code == 403
    cancelled = owner.post(cancel)
    again = owner.post(cancel)

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert code(again) == (409, "job_finished")


def test_another_projects_jobs_are_not_found(personas, project):
    other = personas.other_project
    run = make_run(other)
    prediction = PredictionJob.objects.create(project=other, run=run)
    autolabel = AutoLabelJob.objects.create(project=other, run=run, threshold=0.5)
    owner = client_for(personas.owner)

    assert owner.get(url(project, f"predictions/{prediction.pk}/")).status_code == 404
    assert owner.post(url(project, f"predictions/{prediction.pk}/cancel/")).status_code == 404
    assert owner.get(url(project, f"auto-label/{autolabel.pk}/")).status_code == 404
    prediction.refresh_from_db()
    assert prediction.status == "queued"


# --- An image's suggestions -----------------------------------------------------------------


def test_members_see_the_assist_runs_pending_suggestions_best_first(personas, project, images, labels):
    old, run = make_run(project), make_run(project, metrics=METRICS)
    best = suggest(images[0], run, labels["red"], 0.9)
    second = suggest(images[0], run, labels["blue"], 0.3)
    decided = suggest(images[0], run, labels["blue"], 0.8, status=SuggestionStatus.REJECTED)
    suggest(images[0], old, labels["red"], 0.95)  # not the assist run's
    viewer = client_for(personas.viewer)

    shown = viewer.get(url(project, f"images/{images[0].pk}/suggestions/")).json()
    everything = viewer.get(url(project, f"images/{images[0].pk}/suggestions/"), {"all": "true"}).json()

    assert (shown["run"], shown["threshold"], shown["kind"]) == (run.pk, 0.4, "detection")
    assert [s["id"] for s in shown["suggestions"]] == [best.pk, second.pk]
    x, y, x2, y2 = DETECTOR_BOX
    assert shown["suggestions"][0] == {
        "id": best.pk, "uid": str(best.uid), "label": labels["red"].pk, "label_name": "red", "score": 0.9,
        "box": {"x": x, "y": y, "x2": x2, "y2": y2}, "status": "pending",
    }  # fmt: skip
    assert [s["id"] for s in everything["suggestions"]] == [best.pk, decided.pk, second.pk]


def test_class_suggestions_have_no_box_and_no_run_means_none(personas):
    project = create_project(personas.owner, "Colours", "classification")
    image = upload(project, personas.owner, [("c.png", COLOURS["blue"])])[0]
    owner = client_for(personas.owner)
    empty = owner.get(url(project, f"images/{image.pk}/suggestions/")).json()

    run = make_run(project, kind="classification")
    suggest(image, run, create_label(project, "blue"), 0.7, box=None)
    shown = owner.get(url(project, f"images/{image.pk}/suggestions/")).json()

    assert empty == {"run": None, "threshold": 0.5, "kind": "classification", "suggestions": []}
    assert [(s["label_name"], s["box"]) for s in shown["suggestions"]] == [("blue", None)]


def test_another_projects_image_has_no_suggestions_here(personas, project):
    foreign = upload(personas.other_project, personas.outsider, [("f.png", COLOURS["red"])])[0]
    owner = client_for(personas.owner)
    assert owner.get(url(project, f"images/{foreign.pk}/suggestions/")).status_code == 404
    response = owner.post(url(project, f"images/{foreign.pk}/suggestions/reject/"), {"all": True}, format="json")
    assert response.status_code == 404


def test_annotators_reject_listed_or_all_suggestions(personas, project, images, labels):
    run = make_run(project)
    first = suggest(images[0], run, labels["red"], 0.9)
    second = suggest(images[0], run, labels["blue"], 0.6)
    third = suggest(images[0], run, labels["blue"], 0.5)
    elsewhere = suggest(images[1], run, labels["red"])
    annotator = client_for(personas.annotator)
    reject = url(project, f"images/{images[0].pk}/suggestions/reject/")

    listed = annotator.post(reject, {"ids": [second.pk, elsewhere.pk]}, format="json")
    everything = annotator.post(reject, {"all": True}, format="json")

    assert listed.json() == {"rejected": 1}  # another image's suggestion is not this image's to reject
    assert everything.json() == {"rejected": 2}
    for suggestion in (first, second, third, elsewhere):
        suggestion.refresh_from_db()
    assert [s.status for s in (first, second, third, elsewhere)] == ["rejected"] * 3 + ["pending"]
    assert second.decided_by == personas.annotator
    assert code(annotator.post(reject, {}, format="json")) == (400, "no_suggestions")
    assert client_for(personas.viewer).post(reject, {"all": True}, format="json").status_code == 403


# --- Bulk auto-label ------------------------------------------------------------------------


@pytest.fixture
def planned(personas, project, images, labels):
    """img-0: red 0.9, blue 0.6; img-1: red 0.3; img-2 annotated by a person, red 0.95."""
    run = make_run(project, metrics=METRICS)
    suggest(images[0], run, labels["red"], 0.9)
    suggest(images[0], run, labels["blue"], 0.6, box=(0.5, 0.5, 0.9, 0.9))
    suggest(images[1], run, labels["red"], 0.3)
    annotate(images[2], personas.annotator, boxes=[(labels["red"], (0.1, 0.1, 0.2, 0.2))])
    suggest(images[2], run, labels["red"], 0.95, box=(0.3, 0.3, 0.4, 0.4))
    return run


def test_the_preview_counts_never_annotated_images_and_labels(personas, planned, project):
    owner = client_for(personas.owner)
    preview = url(project, "auto-label/preview/")

    at_half = owner.get(preview, {"threshold": "0.5"}).json()
    at_low = owner.get(preview, {"threshold": 0.2}).json()
    default = owner.get(preview).json()

    assert at_half == {"threshold": 0.5, "images": 1, "per_label": {"blue": 1, "red": 1}}
    assert at_low == {"threshold": 0.2, "images": 2, "per_label": {"blue": 1, "red": 2}}
    assert default["threshold"] == 0.4 and default["images"] == 1  # the run's own threshold


@pytest.mark.parametrize("threshold", ["-0.1", "1.5", "abc", "nan"])
def test_a_threshold_outside_0_to_1_is_invalid_threshold(personas, planned, project, threshold):
    owner = client_for(personas.owner)

    previewed = owner.get(url(project, "auto-label/preview/"), {"threshold": threshold})
    started = owner.post(url(project, "auto-label/"), {"threshold": threshold}, format="json")

    assert code(previewed) == (400, "invalid_threshold")
    assert code(started) == (400, "invalid_threshold")
    assert not AutoLabelJob.objects.exists()


@pytest.mark.parametrize("threshold", [-0.1, 1.5, True, [0.5]])
def test_a_json_threshold_outside_0_to_1_is_invalid_threshold(personas, planned, project, threshold):
    started = client_for(personas.owner).post(url(project, "auto-label/"), {"threshold": threshold}, format="json")
    assert code(started) == (400, "invalid_threshold")


def test_auto_labelling_starts_a_job_to_follow(personas, planned, project):
    owner = client_for(personas.owner)

    started = owner.post(url(project, "auto-label/"), {"threshold": 0.55}, format="json")
    defaulted = owner.post(url(project, "auto-label/"), {"threshold": None}, format="json")

    assert started.status_code == 202, started.content
    job = started.json()
    assert (job["kind"], job["status"], job["threshold"], job["run"]) == ("autolabel", "queued", 0.55, planned.pk)
    assert defaulted.json()["threshold"] == 0.4
    viewer = client_for(personas.viewer)
    assert viewer.get(url(project, f"auto-label/{job['id']}/")).json() == job
    assert [j["id"] for j in viewer.get(url(project, "auto-label/")).json()] == [defaulted.json()["id"], job["id"]]


def test_auto_labelling_without_a_model_is_no_assist_model(personas, project):
    owner = client_for(personas.owner)
    make_run(project, kind="classification")

    assert code(owner.get(url(project, "auto-label/preview/"))) == (409, "no_assist_model")
    assert code(owner.get(url(project, "auto-label/preview/"), {"threshold": 0.5})) == (409, "no_assist_model")
    assert code(owner.post(url(project, "auto-label/"), {"threshold": 0.5}, format="json")) == (409, "no_assist_model")


@pytest.mark.parametrize("role", ["annotator", "reviewer", "viewer"])
def test_only_owners_and_admins_auto_label(personas, planned, project, role):
    client = client_for(personas.of(role))
    assert client.get(url(project, "auto-label/preview/")).status_code == 403
    assert client.post(url(project, "auto-label/"), {"threshold": 0.5}, format="json").status_code == 403
    assert not AutoLabelJob.objects.exists()


# --- Is the model saving us work? -----------------------------------------------------------


def test_a_runs_suggestion_statistics(personas, project, images, labels):
    run = make_run(project)
    suggest(images[0], run, labels["red"])
    suggest(images[1], run, labels["red"], status=SuggestionStatus.ACCEPTED)
    suggest(images[1], run, labels["blue"], status=SuggestionStatus.EDITED)
    suggest(images[2], run, labels["blue"], status=SuggestionStatus.REJECTED)
    annotate(images[0], personas.annotator, boxes=[(labels["blue"], (0.6, 0.6, 0.9, 0.9))])  # no suggestion's uid

    response = client_for(personas.viewer).get(url(project, f"runs/{run.pk}/suggestion-stats/"))

    assert response.json() == {"accepted": 1, "edited": 1, "rejected": 1, "pending": 1, "added": 1}
    foreign = make_run(personas.other_project)
    assert client_for(personas.owner).get(url(project, f"runs/{foreign.pk}/suggestion-stats/")).status_code == 404
    assert client_for(personas.outsider).get(url(project, f"runs/{run.pk}/suggestion-stats/")).status_code == 404
