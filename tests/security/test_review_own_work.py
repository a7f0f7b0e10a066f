"""Nobody approves or rejects their own labelling, unless the project allows it (off by default).

"Their own" is the image's latest annotation write (`Image.annotated_by`): the
API, the Review page and its queue all follow the same rule from the service.
"""

from __future__ import annotations

import pytest

from annotator.models import ImageStatus, ReviewEvent
from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory

pytestmark = pytest.mark.django_db


def _labelled_by(user, project):
    label = LabelFactory(project=project)
    image = ImageFactory(project=project)
    box = {"label": label.pk, "x": 0.1, "y": 0.1, "x2": 0.5, "y2": 0.5}
    response = client_for(user).put(
        f"/api/v1/projects/{project.pk}/images/{image.pk}/annotations/", {"version": 0, "boxes": [box]}, format="json"
    )
    assert response.status_code == 200, response.content
    image.refresh_from_db()
    return image


def _review(user, image, decision: str = "approve"):
    return client_for(user).post(
        f"/api/v1/projects/{image.project_id}/images/{image.pk}/review/",
        {"decision": decision, "version": image.version},
        format="json",
    )


def _settings_of(user, project) -> dict:
    return client_for(user).get(f"/api/v1/projects/{project.pk}/").json()


@pytest.mark.parametrize("role", ["reviewer", "admin", "owner"])
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_own_work_is_refused_with_a_code(personas, role, decision):
    image = _labelled_by(personas.of(role), personas.project)

    response = _review(personas.of(role), image, decision)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "own_work"
    assert "labelled it yourself" in response.json()["error"]["message"]
    image.refresh_from_db()
    assert image.status == ImageStatus.LABELLED and not ReviewEvent.objects.exists()


def test_someone_else_reviews_it(personas):
    image = _labelled_by(personas.reviewer, personas.project)

    assert _review(personas.admin, image).status_code == 200


def test_the_setting_is_off_by_default_and_admins_switch_it_on(personas):
    image = _labelled_by(personas.reviewer, personas.project)
    assert _settings_of(personas.viewer, personas.project)["reviewers_review_own_work"] is False

    switched = client_for(personas.admin).patch(
        f"/api/v1/projects/{personas.project.pk}/", {"reviewers_review_own_work": True}, format="json"
    )

    assert switched.status_code == 200 and switched.json()["reviewers_review_own_work"] is True
    assert _review(personas.reviewer, image).status_code == 200


def test_the_review_queue_skips_own_work_and_a_bulk_approval_leaves_it(client, personas):
    own = _labelled_by(personas.reviewer, personas.project)
    other = _labelled_by(personas.annotator, personas.project)
    client.force_login(personas.reviewer)
    base = f"/api/v1/projects/{personas.project.pk}/review/"

    page = client.get(f"/projects/{personas.project.pk}/review/")
    queue = client_for(personas.reviewer).get(f"{base}queue/")
    bulk = client_for(personas.reviewer).post(
        f"{base}bulk/",
        {"decision": "approve", "images": [{"id": own.pk, "version": 1}, {"id": other.pk, "version": 1}]},
        format="json",
    )

    assert page.context["waiting"] == 1
    assert [item["id"] for item in queue.json()["results"]] == [other.pk]
    assert bulk.json()["decided"] == [other.pk]
    assert [(s["image"], s["code"]) for s in bulk.json()["skipped"]] == [(own.pk, "own_work")]
    own.refresh_from_db()
    assert own.status == ImageStatus.LABELLED


def test_an_edit_by_someone_else_makes_it_reviewable(personas):
    image = _labelled_by(personas.reviewer, personas.project)
    box = {"label": image.boxes.get().label_id, "x": 0.2, "y": 0.1, "x2": 0.5, "y2": 0.5}
    client_for(personas.annotator).put(
        f"/api/v1/projects/{image.project_id}/images/{image.pk}/annotations/",
        {"version": image.version, "boxes": [box]},
        format="json",
    )
    image.refresh_from_db()

    assert _review(personas.reviewer, image).status_code == 200
