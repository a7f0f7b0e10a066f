"""Reading and writing an image's annotations with optimistic versioning."""

from __future__ import annotations

import uuid

import pytest

from annotator.models import ImageStatus, ProjectType
from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory, make_persona_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def image(personas):
    return ImageFactory(project=personas.project)


@pytest.fixture
def cat(personas):
    return LabelFactory(project=personas.project, name="cat")


def url(image) -> str:
    return f"/api/v1/projects/{image.project_id}/images/{image.pk}/annotations/"


def box(label, **coords) -> dict:
    return {"label": label.pk, "x": 0.1, "y": 0.2, "x2": 0.5, "y2": 0.6, **coords}


def test_get_returns_empty_set_with_version_etag(personas, image):
    response = client_for(personas.viewer).get(url(image))

    assert response.status_code == 200
    assert response["ETag"] == '"0"'
    assert response.json() == {
        "image": image.pk, "version": 0, "status": "unlabelled", "negative": False, "labels": [], "boxes": [],
    }  # fmt: skip


def test_put_with_current_version_is_accepted_and_bumps_version(personas, image, cat):
    response = client_for(personas.annotator).put(url(image), {"version": 0, "boxes": [box(cat)]}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 1 and body["status"] == "labelled"
    [stored] = body["boxes"]
    assert (stored["label"], stored["x"], stored["y2"], stored["author"]) == (cat.pk, 0.1, 0.6, personas.annotator.pk)
    image.refresh_from_db()
    assert (image.version, image.status, image.annotated_by) == (1, ImageStatus.LABELLED, personas.annotator)


def test_if_match_header_names_the_base_version(personas, image, cat):
    client = client_for(personas.annotator)
    response = client.put(url(image), {"boxes": [box(cat)]}, format="json", HTTP_IF_MATCH='"0"')
    assert response.status_code == 200
    assert response["ETag"] == '"1"'


def test_stale_write_gets_409_with_current_state_and_changes_nothing(personas, image, cat):
    client = client_for(personas.annotator)
    client.put(url(image), {"version": 0, "boxes": [box(cat)]}, format="json")

    response = client.put(url(image), {"version": 0, "negative": True}, format="json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "stale_version"
    assert error["current"]["version"] == 1 and len(error["current"]["boxes"]) == 1
    image.refresh_from_db()
    assert (image.version, image.negative) == (1, False)


def test_missing_version_is_428(personas, image):
    response = client_for(personas.annotator).put(url(image), {"boxes": []}, format="json")
    assert response.status_code == 428
    assert response.json()["error"]["code"] == "version_required"


def test_box_ids_are_stable_across_writes_so_edits_merge(personas, image, cat):
    client = client_for(personas.annotator)
    box_id = str(uuid.uuid4())
    client.put(url(image), {"version": 0, "boxes": [box(cat, id=box_id)]}, format="json")

    moved = client.put(url(image), {"version": 1, "boxes": [box(cat, id=box_id, x=0.3)]}, format="json").json()

    assert [(b["id"], b["x"]) for b in moved["boxes"]] == [(box_id, 0.3)]
    assert image.boxes.get().author == personas.annotator


def test_retried_write_with_same_idempotency_key_is_not_refused_or_doubled(personas, image, cat):
    client = client_for(personas.annotator)
    payload = {"version": 0, "boxes": [box(cat)]}

    first = client.put(url(image), payload, format="json", HTTP_IDEMPOTENCY_KEY="op-1")
    retry = client.put(url(image), payload, format="json", HTTP_IDEMPOTENCY_KEY="op-1")

    assert first.status_code == retry.status_code == 200
    assert retry.json()["version"] == 1
    assert image.boxes.count() == 1


def test_negative_image_counts_as_labelled(personas, image):
    body = client_for(personas.annotator).put(url(image), {"version": 0, "negative": True}, format="json").json()
    assert (body["negative"], body["status"]) == (True, "labelled")


def test_clearing_everything_makes_it_unlabelled_again(personas, image, cat):
    client = client_for(personas.annotator)
    client.put(url(image), {"version": 0, "boxes": [box(cat)]}, format="json")
    body = client.put(url(image), {"version": 1, "boxes": []}, format="json").json()
    assert body["status"] == "unlabelled"


def test_edit_sends_a_reviewed_image_back_to_review(personas, cat):
    image = ImageFactory(project=personas.project, status=ImageStatus.REJECTED)
    body = client_for(personas.annotator).put(url(image), {"version": 0, "boxes": [box(cat)]}, format="json").json()
    assert body["status"] == "labelled"


INVALID = {
    "x >= x2": ({"x": 0.5, "x2": 0.5}, "invalid"),
    "out of range": ({"x2": 1.5}, "invalid"),
    "negative": ({"y": -0.2}, "invalid"),
    "not a number": ({"x": "NaN"}, "invalid"),
}


@pytest.mark.parametrize("coords,code", INVALID.values(), ids=INVALID.keys())
def test_invalid_boxes_are_refused_and_nothing_is_written(personas, image, cat, coords, code):
    response = client_for(personas.annotator).put(
        url(image), {"version": 0, "boxes": [box(cat, **coords)]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert image.boxes.count() == 0


def test_rounding_just_past_the_edge_is_clamped(personas, image, cat):
    body = (
        client_for(personas.annotator)
        .put(url(image), {"version": 0, "boxes": [box(cat, x2=1.0000000001)]}, format="json")
        .json()
    )
    assert body["boxes"][0]["x2"] == 1.0


def test_label_of_another_project_is_refused(personas, image):
    foreign = LabelFactory(project=personas.other_project)
    response = client_for(personas.annotator).put(url(image), {"version": 0, "boxes": [box(foreign)]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_label"


def test_negative_with_boxes_is_refused(personas, image, cat):
    response = client_for(personas.annotator).put(
        url(image), {"version": 0, "negative": True, "boxes": [box(cat)]}, format="json"
    )
    assert response.json()["error"]["code"] == "negative_with_annotations"


def test_classification_projects_take_labels_not_boxes(db):
    personas = make_persona_project(ProjectType.CLASSIFICATION)
    image = ImageFactory(project=personas.project)
    dog = LabelFactory(project=personas.project, name="dog")
    client = client_for(personas.annotator)

    refused = client.put(url(image), {"version": 0, "boxes": [box(dog)]}, format="json")
    accepted = client.put(url(image), {"version": 0, "labels": [dog.pk]}, format="json")

    assert refused.json()["error"]["code"] == "boxes_not_allowed"
    assert accepted.status_code == 200 and accepted.json()["labels"] == [dog.pk]


@pytest.mark.parametrize("role,expected", [("viewer", 403), ("outsider", 404), ("anonymous", 401)])
def test_write_refused_without_permission(personas, image, cat, role, expected):
    response = client_for(personas.of(role)).put(url(image), {"version": 0, "boxes": [box(cat)]}, format="json")
    assert response.status_code == expected
    assert image.boxes.count() == 0


def test_malformed_json_is_a_clear_400(personas, image):
    response = client_for(personas.annotator).put(url(image), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
