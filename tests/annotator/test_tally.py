"""The maintained image counts stay equal to the images themselves, through every way of writing.

Each step below changes images the way a person or a job does (API uploads, saves,
reviews, deletes, imports, label deletion) and then compares the maintained counts
with counts measured from the rows.
"""

from __future__ import annotations

import threading
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection

from annotator.datasets.importing import import_dataset
from annotator.models import Image, ImageTally, ProjectType
from annotator.services import tally
from tests.conftest import SHARED_DATA, client_for, make_image_bytes
from tests.factories import ImageFactory, LabelFactory, make_persona_project

RACCOON = SHARED_DATA / "raccoon"


def assert_true_counts(project_id: int) -> dict[str, int]:
    maintained = {k: n for k, n in tally.read(project_id).items() if n}
    assert maintained == {k: n for k, n in tally.measure(project_id).items() if n}
    return maintained


def images_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/images/"


def put(client, image, version: int, **body):
    url = f"{images_url(image.project)}{image.pk}/annotations/"
    response = client.put(url, {"version": version, **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["version"]


def box(label, x: float = 0.1) -> dict:
    return {"id": str(uuid.uuid4()), "label": label.pk, "x": x, "y": 0.1, "x2": x + 0.3, "y2": 0.5}


@pytest.mark.django_db
def test_uploads_saves_reviews_and_deletes_keep_the_counts_true(personas):
    project, owner = personas.project, client_for(personas.owner)
    cat, dog = LabelFactory(project=project, name="cat"), LabelFactory(project=project, name="dog")
    files = [SimpleUploadedFile(f"{i}.png", make_image_bytes(20 + i, 20, "PNG")) for i in range(4)]
    assert owner.post(images_url(project), {"files": files}, format="multipart").status_code == 201
    assert assert_true_counts(project.pk) == {"status:unlabelled": 4}
    a, b, c, _ = Image.objects.filter(project=project).order_by("key")

    version = put(owner, a, 0, boxes=[box(cat), box(cat, 0.5), box(dog)])
    put(owner, b, 0, boxes=[box(dog)])
    put(owner, c, 0, negative=True)
    assert assert_true_counts(project.pk) == {
        "status:unlabelled": 1, "status:labelled": 3, f"label:{cat.pk}": 1, f"label:{dog.pk}": 2,
    }  # fmt: skip

    put(owner, a, version, boxes=[box(dog)])  # cat gone from a, dog stays counted once per image
    review = client_for(personas.reviewer).post(f"{images_url(project)}{b.pk}/review/", {"decision": "reject"})
    assert review.status_code == 200, review.content
    assert assert_true_counts(project.pk) == {
        "status:unlabelled": 1, "status:labelled": 2, "status:rejected": 1, f"label:{dog.pk}": 2,
    }  # fmt: skip

    assert owner.delete(f"{images_url(project)}{b.pk}/").status_code == 204
    assert owner.delete(f"/api/v1/projects/{project.pk}/labels/{dog.pk}/").status_code == 204
    assert_true_counts(project.pk)
    assert owner.get(images_url(project) + "counts/").json() == {
        "all": 3, "annotated": 2, "labelled_total": 2, "missing": 0, "labels": {},
        "status": {"unlabelled": 1, "labelled": 2, "approved": 0, "rejected": 0},
    }  # fmt: skip


@pytest.mark.django_db
def test_classes_count_once_per_image_in_classification_projects():
    personas = make_persona_project(ProjectType.CLASSIFICATION)
    project, owner = personas.project, client_for(personas.owner)
    red, blue = LabelFactory(project=project, name="red"), LabelFactory(project=project, name="blue")
    images = ImageFactory.create_batch(3, project=project)
    tally.recount(project.pk)  # rows made by the factory, not by a service
    put(owner, images[0], 0, labels=[red.pk, blue.pk])
    put(owner, images[1], 0, labels=[red.pk])

    counts = owner.get(images_url(project) + "counts/").json()

    assert counts["labels"] == {str(red.pk): 2, str(blue.pk): 1}
    assert counts["labelled_total"] == 2 and counts["status"]["unlabelled"] == 1
    assert_true_counts(project.pk)


@pytest.mark.django_db
def test_an_import_into_a_project_with_images_counts_what_it_added_and_claimed(personas, tmp_path: Path):
    project = personas.project
    files = [SimpleUploadedFile("extra.png", make_image_bytes(33, 33, "PNG"))]
    client_for(personas.owner).post(images_url(project), {"files": files}, format="multipart")

    report = import_dataset(project, RACCOON, user=personas.owner)

    counts = assert_true_counts(project.pk)
    assert counts["status:labelled"] == report.images and counts["status:unlabelled"] == 1


@pytest.mark.django_db
def test_a_recount_repairs_counts_that_drifted(personas):
    project = personas.project
    label = LabelFactory(project=project)
    image = ImageFactory(project=project)
    image.boxes.create(label=label, x=0.1, y=0.1, x2=0.2, y2=0.2)
    ImageTally.objects.create(project=project, key="label:999999", n=7)
    ImageTally.objects.create(project=project, key="status:approved", n=-3)

    tally.recount(project.pk)

    counts = tally.read(project.pk)
    assert counts[f"label:{label.pk}"] == 1 and counts["status:approved"] == 0
    assert "label:999999" not in counts
    assert_true_counts(project.pk)


def _save_many(user, images: list, labels: list, errors: list, start: threading.Barrier) -> None:
    client = client_for(user)
    start.wait()
    try:
        for _ in range(3):
            for image in images:
                url = f"{images_url(image.project)}{image.pk}/annotations/"
                version = client.get(url).json()["version"]
                boxes = [box(label, 0.1 + 0.2 * i) for i, label in enumerate(labels)]
                response = client.put(url, {"version": version, "boxes": boxes}, format="json")
                if response.status_code not in (200, 409):
                    errors.append(response.content)
    except Exception as exc:  # reported by the test, not swallowed
        errors.append(repr(exc))
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_on_shared_labels_neither_deadlock_nor_drift():
    personas = make_persona_project()
    project = personas.project
    labels = [LabelFactory(project=project, name=f"l{i}") for i in range(3)]
    images = ImageFactory.create_batch(4, project=project)
    tally.recount(project.pk)
    errors: list = []
    start = threading.Barrier(2)
    threads = [
        # Opposite orders of images and labels on the two threads (and l0 comes and goes): no deadlock.
        threading.Thread(target=_save_many, args=(personas.owner, images, labels, errors, start)),
        threading.Thread(target=_save_many, args=(personas.annotator, images[::-1], labels[:0:-1], errors, start)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert_true_counts(project.pk)


@pytest.mark.django_db
def test_recountimages_command_corrects_drift_and_says_so(personas):
    ImageFactory(project=personas.project)
    out = StringIO()

    call_command("recountimages", str(personas.project.pk), stdout=out)

    assert f"project {personas.project.pk}: corrected {{'status:unlabelled': (0, 1)}}" in out.getvalue()
    assert_true_counts(personas.project.pk)
