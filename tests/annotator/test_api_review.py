"""Review: reviewers approve or reject labelled images; annotators see the comment and fix them."""

from __future__ import annotations

import pytest

from annotator.models import ImageStatus, ReviewEvent
from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory

pytestmark = pytest.mark.django_db


def base(project) -> str:
    return f"/api/v1/projects/{project.pk}/images/"


def annotate(client, image, label, version: int):
    box = {"label": label.pk, "x": 0.1, "y": 0.1, "x2": 0.5, "y2": 0.5}
    return client.put(
        f"{base(image.project)}{image.pk}/annotations/", {"version": version, "boxes": [box]}, format="json"
    )


@pytest.fixture
def labelled(personas):
    label = LabelFactory(project=personas.project)
    image = ImageFactory(project=personas.project)
    assert annotate(client_for(personas.annotator), image, label, 0).status_code == 200
    image.refresh_from_db()
    return image, label


def review(user, image, **body):
    return client_for(user).post(f"{base(image.project)}{image.pk}/review/", body, format="json")


def test_reviewer_rejects_with_a_comment_the_annotator_sees(personas, labelled):
    image, _ = labelled

    response = review(personas.reviewer, image, decision="reject", comment="Box misses the tail.", version=1)

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "rejected"
    seen = client_for(personas.annotator).get(f"{base(image.project)}?status=rejected").json()["results"]
    assert [row["id"] for row in seen] == [image.pk]
    assert seen[0]["review"]["comment"] == "Box misses the tail."
    assert seen[0]["review"]["reviewer"] == personas.reviewer.pk
    assert seen[0]["review"]["decision"] == "rejected"


def test_fixing_a_rejected_image_sends_it_back_to_review(personas, labelled):
    image, label = labelled
    review(personas.reviewer, image, decision="reject")

    annotate(client_for(personas.annotator), image, label, 1)

    image.refresh_from_db()
    assert image.status == ImageStatus.LABELLED
    queue = client_for(personas.annotator).get(f"{base(image.project)}?status=unlabelled,rejected").json()
    assert queue["results"] == []


def test_approve_records_who_and_when(personas, labelled):
    image, _ = labelled

    response = review(personas.admin, image, decision="approve")

    assert response.json()["status"] == "approved"
    event = ReviewEvent.objects.get()
    assert (event.reviewer, event.decision, event.image_version) == (personas.admin, "approved", 1)
    history = client_for(personas.viewer).get(f"{base(image.project)}{image.pk}/review/").json()
    assert [h["decision"] for h in history] == ["approved"]


@pytest.mark.parametrize("role", ["annotator", "viewer"])
def test_only_reviewers_and_up_decide(personas, labelled, role):
    image, _ = labelled

    response = review(personas.of(role), image, decision="approve")

    assert response.status_code == 403
    assert ReviewEvent.objects.count() == 0


def test_unlabelled_image_cannot_be_reviewed(personas):
    image = ImageFactory(project=personas.project)

    response = review(personas.reviewer, image, decision="approve")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_labelled"


def test_review_of_an_old_version_is_refused(personas, labelled):
    image, label = labelled
    annotate(client_for(personas.annotator), image, label, 1)

    response = review(personas.reviewer, image, decision="approve", version=1)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale_version"
    assert response.json()["error"]["current"]["version"] == 2


def test_unknown_decision_is_invalid(personas, labelled):
    image, _ = labelled

    response = review(personas.reviewer, image, decision="maybe")

    assert response.status_code == 400
    assert "decision" in response.json()["error"]["details"]


def test_unknown_status_filter_is_refused(personas):
    response = client_for(personas.viewer).get(f"{base(personas.project)}?status=labelled,nope")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_filter"
