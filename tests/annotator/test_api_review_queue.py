"""The review queue (filters, own work), bulk decisions (one transaction, bounded, coded), and "n / N"."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotator.models import ImageStatus, ProjectType, ReviewEvent
from annotator.services import tally
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from annotator.services.review import MAX_BULK_REVIEW
from tests.annotator.test_tally import assert_true_counts
from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory

pytestmark = pytest.mark.django_db


def api(project) -> str:
    return f"/api/v1/projects/{project.pk}/"


def labelled(project, user, label, key: str | None = None):
    image = ImageFactory(project=project, **({"key": key} if key else {}))
    data = AnnotationSet([BoxData(label.pk, 0.1, 0.1, 0.5, 0.5)], [], False)
    return save_annotations(image, data, base_version=0, user=user)


@pytest.fixture
def queue(personas):
    """Two images by the annotator (cat, dog), one by the reviewer (cat), one unlabelled."""
    project = personas.project
    cat, dog = LabelFactory(project=project, name="cat"), LabelFactory(project=project, name="dog")
    a = labelled(project, personas.annotator, cat, "a.jpg")
    b = labelled(project, personas.annotator, dog, "b.jpg")
    own = labelled(project, personas.reviewer, cat, "c.jpg")
    ImageFactory(project=project, key="d.jpg")
    return project, cat, dog, a, b, own


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_the_queue_lists_waiting_images_by_name_without_ones_own_work(personas, queue):
    project, cat, dog, a, b, own = queue
    reviewer = client_for(personas.reviewer)

    listed = reviewer.get(f"{api(project)}review/queue/")
    by_annotator = reviewer.get(f"{api(project)}review/queue/", {"annotator": personas.annotator.pk})
    by_label = reviewer.get(f"{api(project)}review/queue/", {"label": cat.pk})
    summary = reviewer.get(f"{api(project)}review/queue/summary/", {"label": dog.pk}).json()

    assert ids(listed) == [a.pk, b.pk]  # c.jpg is the reviewer's own, d.jpg is unlabelled
    first = listed.json()["results"][0]
    assert first["annotated_by"] == {"id": personas.annotator.pk, "name": personas.annotator.name}
    assert first["annotated_at"] and first["version"] == 1 and first["box_count"] == 1
    assert ids(by_annotator) == [a.pk, b.pk]
    assert ids(by_label) == [a.pk]
    assert summary["count"] == 1 and summary["max_bulk"] == MAX_BULK_REVIEW
    assert summary["annotators"] == [{"id": personas.annotator.pk, "name": personas.annotator.name, "count": 2}]
    # The admin reviews the reviewer's work too; the project's switch lets the reviewer see it.
    assert ids(client_for(personas.admin).get(f"{api(project)}review/queue/")) == [a.pk, b.pk, own.pk]
    project.reviewers_review_own_work = True
    project.save()
    assert ids(reviewer.get(f"{api(project)}review/queue/")) == [a.pk, b.pk, own.pk]


def test_the_queue_filters_classification_projects_by_class(personas):
    project = personas.project
    project.type = ProjectType.CLASSIFICATION
    project.save()
    cat = LabelFactory(project=project, name="cat")
    image = ImageFactory(project=project)
    save_annotations(image, AnnotationSet([], [cat.pk], False), base_version=0, user=personas.annotator)
    ImageFactory(project=project)

    listed = client_for(personas.reviewer).get(f"{api(project)}review/queue/", {"label": cat.pk})

    assert ids(listed) == [image.pk]


@pytest.mark.parametrize(("role", "expected"), [("annotator", 403), ("viewer", 403), ("outsider", 404)])
def test_only_reviewers_see_the_queue_and_decide_in_bulk(personas, queue, role, expected):
    project, _, _, a, *_ = queue
    client = client_for(personas.of(role))

    listed = client.get(f"{api(project)}review/queue/")
    summary = client.get(f"{api(project)}review/queue/summary/")
    bulk = client.post(
        f"{api(project)}review/bulk/", {"decision": "approve", "images": [{"id": a.pk, "version": 1}]}, format="json"
    )

    assert (listed.status_code, summary.status_code, bulk.status_code) == (expected,) * 3
    a.refresh_from_db()
    assert a.status == ImageStatus.LABELLED


def test_bulk_approval_decides_what_was_shown_and_skips_the_rest_with_reasons(personas, queue):
    project, cat, _, a, b, own = queue
    changed = labelled(project, personas.annotator, cat, "e.jpg")
    save_annotations(changed, AnnotationSet([], [], True), base_version=1, user=personas.admin)  # now v2, by admin
    decided_elsewhere = labelled(project, personas.annotator, cat, "f.jpg")
    client_for(personas.admin).post(
        f"{api(project)}images/{decided_elsewhere.pk}/review/", {"decision": "reject"}, format="json"
    )
    shown = [a, b, own, changed, decided_elsewhere]
    tally.recount(project.pk)  # the factory's rows bypass the counts

    with CaptureQueriesContext(connection) as queries:
        response = client_for(personas.reviewer).post(
            f"{api(project)}review/bulk/",
            {"decision": "approve", "images": [{"id": i.pk, "version": 1} for i in shown]},
            format="json",
        )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["decided"] == [a.pk, b.pk]
    assert {s["image"]: s["code"] for s in body["skipped"]} == {
        own.pk: "own_work",
        changed.pk: "stale_version",
        decided_elsewhere.pk: "already_reviewed",
    }
    statuses = dict(project.images.filter(pk__in=[i.pk for i in shown]).values_list("pk", "status"))
    assert statuses == {
        a.pk: "approved", b.pk: "approved", own.pk: "labelled", changed.pk: "labelled", decided_elsewhere.pk: "rejected"
    }  # fmt: skip
    assert ReviewEvent.objects.filter(image__in=[a, b], reviewer=personas.reviewer, decision="approved").count() == 2
    assert_true_counts(project.pk)
    # One transaction: a single BEGIN/COMMIT pair around the whole decision (SQLite names them; PostgreSQL too).
    assert sum(1 for q in queries.captured_queries if q["sql"].upper().startswith(("BEGIN", "SAVEPOINT"))) <= 1


def test_a_bulk_request_naming_an_image_of_another_project_changes_nothing(personas, queue):
    project, _, _, a, *_ = queue
    foreign = labelled(personas.other_project, personas.outsider, LabelFactory(project=personas.other_project), "x")

    response = client_for(personas.reviewer).post(
        f"{api(project)}review/bulk/",
        {"decision": "approve", "images": [{"id": a.pk, "version": 1}, {"id": foreign.pk, "version": 1}]},
        format="json",
    )

    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_images"
    a.refresh_from_db()
    foreign.refresh_from_db()
    assert a.status == foreign.status == ImageStatus.LABELLED
    assert not ReviewEvent.objects.exists()


@pytest.mark.parametrize(
    ("images", "code"),
    [
        ([], "no_images"),
        ([{"id": 1, "version": 1}] * (MAX_BULK_REVIEW + 1), "too_many_images"),
        ([{"id": 1, "version": 1}, {"id": 1, "version": 2}], "duplicate_images"),
        ([{"id": "x", "version": 1}], "invalid"),
        ("not a list", "invalid"),
    ],
)
def test_malformed_bulk_requests_are_refused_with_a_code(personas, images, code):
    response = client_for(personas.reviewer).post(
        f"{api(personas.project)}review/bulk/", {"decision": "approve", "images": images}, format="json"
    )

    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_bulk_rejection_carries_the_comment(personas, queue):
    project, _, _, a, *_ = queue

    response = client_for(personas.reviewer).post(
        f"{api(project)}review/bulk/",
        {"decision": "reject", "comment": "  Too loose  ", "images": [{"id": a.pk, "version": 1}]},
        format="json",
    )

    assert response.json() == {"decided": [a.pk], "skipped": []}
    a.refresh_from_db()
    assert a.status == ImageStatus.REJECTED and a.last_review.comment == "Too loose"


def test_position_counts_the_image_within_the_list_filter(personas, queue):
    project, cat, dog, a, b, own = queue
    d = project.images.get(key="d.jpg")
    viewer = client_for(personas.viewer)

    def position(image, **query):
        response = viewer.get(f"{api(project)}images/{image.pk}/position/", query)
        assert response.status_code == 200, response.content
        return response.json()["position"]

    def total(**query):
        return viewer.get(f"{api(project)}images/{a.pk}/position/", query).json()["total"]

    assert [position(i) for i in (a, b, own, d)] == [1, 2, 3, 4]
    assert position(d, status="unlabelled") == 1
    assert position(own, status="labelled,approved,rejected") == 3
    assert position(own, label=cat.pk) == 2
    assert position(b, label=cat.pk) is None  # not in the filter: the strip keeps it, but it has no place
    assert (total(), total(status="unlabelled"), total(label=cat.pk), total(label=dog.pk)) == (4, 1, 2, 1)
    assert viewer.get(f"{api(project)}images/{a.pk}/position/", {"status": "bogus"}).status_code == 400
    assert client_for(personas.outsider).get(f"{api(project)}images/{a.pk}/position/").status_code == 404
