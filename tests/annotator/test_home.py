"""The home page: a card per project with its size, share annotated, last activity and thumbnails."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotator.models import AnnotationEvent, BucketConnection, ImageStatus, Membership, Role
from annotator.services import tally
from annotator.services.overview import project_cards, share_percent
from annotator.services.projects import create_project
from tests.factories import ImageFactory, UserFactory

pytestmark = pytest.mark.django_db

STATUSES = [ImageStatus.UNLABELLED, ImageStatus.LABELLED, ImageStatus.APPROVED, ImageStatus.REJECTED]


def _projects(owner, n: int) -> list:
    projects = []
    for i in range(n):
        project = create_project(owner, f"P{i:02d}", "localization")
        for j, status in enumerate(STATUSES):
            ImageFactory(project=project, key=f"{j}.jpg", status=status)
        tally.recount(project.pk)
        projects.append(project)
    return projects


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


def test_the_home_page_costs_the_same_queries_for_twenty_projects_as_for_one(client):
    owner = UserFactory()
    client.force_login(owner)
    _projects(owner, 1)
    one = _queries(client)
    _projects(owner, 19)
    twenty = _queries(client)
    body = client.get("/").content.decode()
    assert body.count('class="project-card"') == 20
    assert twenty == one <= 4, (one, twenty)  # session, user, the cards, every project's counts


def test_a_card_shows_images_share_annotated_activity_and_the_first_thumbnails(client):
    owner = UserFactory()
    (project,) = _projects(owner, 1)
    ImageFactory(project=project, key="9.jpg", missing=True)  # gone from the bucket: not counted, not shown
    image = project.images.get(key="1.jpg")
    AnnotationEvent.objects.create(project=project, image=image, user=owner)

    (card,) = project_cards(owner)
    assert (card.images, card.annotated, card.percent_annotated) == (4, 3, 75)
    assert card.last_activity == AnnotationEvent.objects.get().created_at
    firsts = list(project.images.filter(missing=False).order_by("key").values_list("pk", flat=True)[:3])
    assert card.thumbnails == [f"/api/v1/projects/{project.pk}/images/{pk}/thumbnail/" for pk in firsts]

    client.force_login(owner)
    body = client.get("/").content.decode()
    assert "4 images" in body and "75% annotated" in body
    assert len(re.findall(r'<img src="/api/v1/projects/\d+/images/\d+/thumbnail/"', body)) == 3


def test_a_new_project_has_no_images_and_its_creation_as_last_activity():
    owner = UserFactory()
    project = create_project(owner, "Empty", "classification")
    (card,) = project_cards(owner)
    assert (card.images, card.percent_annotated, card.thumbnails) == (0, 0, [])
    assert card.last_activity == project.created_at


def test_cards_only_for_my_projects_with_my_role(personas):
    (card,) = project_cards(personas.viewer)
    assert card.project == personas.project and card.role == Role.VIEWER
    assert not Membership.objects.filter(user=personas.viewer, project=personas.other_project).exists()


def test_share_is_rounded_down_so_100_means_all():
    assert (share_percent(199, 200), share_percent(200, 200), share_percent(0, 0)) == (99, 100, 0)


def test_staff_see_the_admin_link_and_everyone_their_profile(client, personas):
    client.force_login(personas.viewer)
    body = client.get("/").content.decode()
    assert '<a href="/accounts/profile/" id="profile-link"' in body
    assert 'id="admin-link"' not in body
    personas.viewer.is_staff = True
    personas.viewer.save()
    assert 'id="admin-link"' in client.get("/").content.decode()


def test_thumbnails_from_a_project_s_own_bucket_are_allowed_by_the_home_page_s_csp(client):
    owner = UserFactory()
    mine, other = _projects(owner, 2)
    BucketConnection.objects.create(project=mine, endpoint_url="https://minio.lan:9000", addressing_style="path")
    BucketConnection.objects.create(project=other, endpoint_url="https://s3.example.com", addressing_style="virtual")
    client.force_login(owner)
    policy = client.get("/")["Content-Security-Policy"]
    img_src = next(d for d in policy.split("; ") if d.startswith("img-src "))
    assert "https://minio.lan:9000" in img_src
    assert "https://s3.example.com https://*.s3.example.com" in img_src
    client.force_login(UserFactory())  # someone else's home names none of them
    assert "minio.lan" not in client.get("/")["Content-Security-Policy"]
