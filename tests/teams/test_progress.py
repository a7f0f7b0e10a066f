"""Team progress: per member and per day, counted from the activity rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotator.models import AnnotationEvent
from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory

pytestmark = pytest.mark.django_db


def put_boxes(user, image, label, version: int, count: int = 1):
    boxes = [{"label": label.pk, "x": 0.1 * i, "y": 0.1, "x2": 0.1 * i + 0.05, "y2": 0.5} for i in range(count)]
    url = f"/api/v1/projects/{image.project_id}/images/{image.pk}/annotations/"
    response = client_for(user).put(url, {"version": version, "boxes": boxes}, format="json")
    assert response.status_code == 200, response.json()


def test_counts_per_member(personas):
    project, label = personas.project, LabelFactory(project=personas.project)
    first, second = ImageFactory(project=project), ImageFactory(project=project)
    put_boxes(personas.annotator, first, label, 0, count=2)
    put_boxes(personas.annotator, first, label, 1, count=3)  # the same image again: still one image
    put_boxes(personas.annotator, second, label, 0)
    client_for(personas.reviewer).post(
        f"/api/v1/projects/{project.pk}/images/{first.pk}/review/", {"decision": "reject"}, format="json"
    )

    response = client_for(personas.viewer).get(f"/api/v1/projects/{project.pk}/progress/")

    assert response.status_code == 200
    members = {row["user"]: row for row in response.json()["members"]}
    annotator, reviewer = members[personas.annotator.pk], members[personas.reviewer.pk]
    assert (annotator["labelled_images"], annotator["boxes"], annotator["reviewed_images"]) == (2, 4, 0)
    assert (reviewer["reviewed_images"], reviewer["rejected"], reviewer["approved"]) == (1, 1, 0)
    assert annotator["last_activity"] and reviewer["last_activity"]
    assert members[personas.viewer.pk]["last_activity"] is None
    today = timezone.localdate().isoformat()
    assert {"date": today, "user": personas.annotator.pk, "labelled_images": 2, "reviewed_images": 0} in (
        response.json()["days"]
    )


def test_days_window_leaves_out_older_activity(personas):
    image = ImageFactory(project=personas.project)
    put_boxes(personas.annotator, image, LabelFactory(project=personas.project), 0)
    AnnotationEvent.objects.update(created_at=timezone.now() - timedelta(days=10))

    recent = client_for(personas.viewer).get(f"/api/v1/projects/{personas.project.pk}/progress/?days=3").json()
    longer = client_for(personas.viewer).get(f"/api/v1/projects/{personas.project.pk}/progress/?days=30").json()

    assert recent["days"] == [] and len(longer["days"]) == 1
    assert {m["user"]: m["labelled_images"] for m in recent["members"]}[personas.annotator.pk] == 1


def test_bad_days_parameter_is_a_clear_400(personas):
    response = client_for(personas.viewer).get(f"/api/v1/projects/{personas.project.pk}/progress/?days=many")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_days"


def test_progress_page_lists_every_member(personas, client):
    client.force_login(personas.viewer)

    response = client.get(f"/projects/{personas.project.pk}/progress/")

    assert response.status_code == 200
    for user in (personas.owner, personas.annotator, personas.reviewer):
        assert user.name.encode() in response.content
