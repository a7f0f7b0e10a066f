"""The pages a person sees: project list, new project, project grid."""

from __future__ import annotations

import pytest

from annotator.models import Project, Role

pytestmark = pytest.mark.django_db


def test_pages_need_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_project_list_shows_only_my_projects(client, personas):
    client.force_login(personas.viewer)
    body = client.get("/").content.decode()
    assert personas.project.name in body and personas.other_project.name not in body


def test_new_project_makes_me_owner_and_opens_it(client, personas):
    client.force_login(personas.viewer)
    response = client.post("/projects/new/", {"name": "Cards", "type": "classification"})

    project = Project.objects.get(name="Cards")
    assert response["Location"] == f"/projects/{project.pk}/"
    assert project.type == "classification" and project.role_of(personas.viewer) == Role.OWNER


def test_new_project_needs_a_name(client, personas):
    client.force_login(personas.viewer)
    response = client.post("/projects/new/", {"name": "  ", "type": "localization"})
    assert response.status_code == 200 and "A project needs a name." in response.content.decode()


def test_project_page_is_404_for_outsiders(client, personas):
    client.force_login(personas.outsider)
    assert client.get(f"/projects/{personas.project.pk}/").status_code == 404


def test_project_page_offers_upload_only_to_roles_that_may(client, personas):
    client.force_login(personas.annotator)
    assert 'id="upload"' in client.get(f"/projects/{personas.project.pk}/").content.decode()
    client.force_login(personas.viewer)
    assert 'id="upload"' not in client.get(f"/projects/{personas.project.pk}/").content.decode()


def test_project_name_is_escaped(client, personas):
    personas.project.name = "<script>alert(1)</script>"
    personas.project.save()
    client.force_login(personas.owner)
    body = client.get(f"/projects/{personas.project.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


def test_pages_carry_a_content_security_policy(client, personas):
    client.force_login(personas.owner)
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_api_docs_and_schema_are_served(client, personas):
    client.force_login(personas.owner)
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200
