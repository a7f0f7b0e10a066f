"""The Team, Review and delete pages, driven through their forms."""

from __future__ import annotations

import pytest
from django.core import mail

from annotator.models import Membership, Project, Role
from teams.models import Invitation
from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, personas):
    client.force_login(personas.admin)
    return client


def team_url(project, suffix: str = "") -> str:
    return f"/projects/{project.pk}/team/{suffix}"


def test_team_page_shows_members_and_pending_invitations(admin_client, personas):
    Invitation.objects.all().delete()
    admin_client.post(team_url(personas.project, "invite/"), {"emails": "pending@example.com", "role": "viewer"})

    response = admin_client.get(team_url(personas.project))

    assert response.status_code == 200
    assert personas.annotator.email.encode() in response.content
    assert b"pending@example.com" in response.content


def test_invite_form_takes_several_addresses(admin_client, personas):
    response = admin_client.post(
        team_url(personas.project, "invite/"),
        {"emails": "a@example.com, b@example.com\nc@example.com", "role": "reviewer"},
    )

    assert response.status_code == 302
    assert sorted(Invitation.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert {i.role for i in Invitation.objects.all()} == {Role.REVIEWER}
    assert len(mail.outbox) == 3


def test_invite_form_refuses_the_owner_role(admin_client, personas):
    response = admin_client.post(team_url(personas.project, "invite/"), {"emails": "a@example.com", "role": "owner"})

    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_role_change_and_removal_from_the_page(admin_client, personas):
    admin_client.post(team_url(personas.project, f"members/{personas.viewer.pk}/role/"), {"role": "annotator"})
    admin_client.post(team_url(personas.project, f"members/{personas.annotator.pk}/remove/"))

    roles = dict(Membership.objects.filter(project=personas.project).values_list("user_id", "role"))
    assert roles[personas.viewer.pk] == Role.ANNOTATOR
    assert personas.annotator.pk not in roles


def test_removing_the_owner_from_the_page_is_refused_with_a_message(admin_client, personas):
    response = admin_client.post(team_url(personas.project, f"members/{personas.owner.pk}/remove/"), follow=True)

    assert Membership.objects.filter(project=personas.project, user=personas.owner).exists()
    assert b"Only an owner can remove an owner" in response.content


def test_owner_deletes_the_project_after_typing_its_name(client, personas):
    client.force_login(personas.owner)
    url = f"/projects/{personas.project.pk}/delete/"

    wrong = client.post(url, {"name": "something else"})
    kept = Project.objects.filter(pk=personas.project.pk).exists()
    right = client.post(url, {"name": personas.project.name})

    assert wrong.status_code == 200 and kept
    assert right.status_code == 302 and not Project.objects.filter(pk=personas.project.pk).exists()


def test_review_page_starts_the_queue_on_the_image_asked_for(client, personas):
    label = LabelFactory(project=personas.project)
    image = ImageFactory(project=personas.project)
    client_for(personas.annotator).put(
        f"/api/v1/projects/{personas.project.pk}/images/{image.pk}/annotations/",
        {"version": 0, "boxes": [{"label": label.pk, "x": 0.1, "y": 0.2, "x2": 0.3, "y2": 0.4}]},
        format="json",
    )
    client.force_login(personas.reviewer)

    page = client.get(f"/projects/{personas.project.pk}/review/")
    asked = client.get(f"/projects/{personas.project.pk}/review/", {"image": image.pk})
    foreign = client.get(
        f"/projects/{personas.project.pk}/review/", {"image": ImageFactory(project=personas.other_project).pk}
    )

    assert page.status_code == 200 and page.context["waiting"] == 1 and page.context["start"] is None
    assert b'id="rv-start"' in page.content and b"dist/review.js" in page.content
    start = asked.context["start"]
    assert start["id"] == image.pk and start["version"] == 1
    assert start["annotated_by"] == {"id": personas.annotator.pk, "name": personas.annotator.name}
    assert foreign.status_code == 404
