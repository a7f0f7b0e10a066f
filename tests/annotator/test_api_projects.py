"""Projects and labels over the REST API, with token auth as scripts use it."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.factories import LabelFactory

pytestmark = pytest.mark.django_db


def test_token_auth_creates_and_lists_projects(personas):
    token = Token.objects.create(user=personas.viewer)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")

    created = client.post("/api/v1/projects/", {"name": "Birds", "type": "classification"}, format="json")
    listed = client.get("/api/v1/projects/").json()

    assert created.status_code == 201
    assert created.json()["role"] == "owner"
    assert {p["name"]: p["role"] for p in listed} == {"Raccoons": "viewer", "Birds": "owner"}


def test_obtain_token_with_email_and_password(personas):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": personas.owner.email, "password": "correct horse battery"}
    )
    assert response.status_code == 200 and len(response.json()["token"]) == 40


def test_bad_token_is_401_with_code():
    response = APIClient(HTTP_AUTHORIZATION="Token nope").get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_create_project_validates_type(personas):
    response = client_for(personas.owner).post("/api/v1/projects/", {"name": "X", "type": "detection"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["type"] == [
        '"detection" is not a project type: use "localization" (boxes) or "classification".'
    ]


@pytest.mark.parametrize("role,expected", [("owner", 200), ("admin", 200), ("annotator", 403), ("outsider", 404)])
def test_rename_project_needs_manage_permission(personas, role, expected):
    response = client_for(personas.of(role)).patch(
        f"/api/v1/projects/{personas.project.pk}/", {"name": "Renamed"}, format="json"
    )
    assert response.status_code == expected


def test_project_type_cannot_change(personas):
    response = client_for(personas.owner).patch(
        f"/api/v1/projects/{personas.project.pk}/", {"type": "classification"}, format="json"
    )
    assert response.status_code == 400


def test_only_owner_deletes_project(personas):
    url = f"/api/v1/projects/{personas.project.pk}/"
    assert client_for(personas.admin).delete(url).status_code == 403
    assert client_for(personas.owner).delete(url).status_code == 204
    assert client_for(personas.owner).get(url).status_code == 404


def test_labels_unique_case_insensitively(personas):
    client = client_for(personas.annotator)
    url = f"/api/v1/projects/{personas.project.pk}/labels/"
    first = client.post(url, {"name": "Cat"}, format="json")
    second = client.post(url, {"name": "cat "}, format="json")

    assert first.status_code == 201 and first.json()["color"].startswith("#")
    assert second.status_code == 409 and second.json()["error"]["code"] == "label_exists"


def test_annotators_cannot_create_labels_when_project_forbids(personas):
    personas.project.annotators_create_labels = False
    personas.project.save()
    url = f"/api/v1/projects/{personas.project.pk}/labels/"
    assert client_for(personas.annotator).post(url, {"name": "Cat"}, format="json").status_code == 403
    assert client_for(personas.admin).post(url, {"name": "Cat"}, format="json").status_code == 201


def test_label_rename_and_delete_need_manage_labels(personas):
    label = LabelFactory(project=personas.project, name="cat")
    url = f"/api/v1/projects/{personas.project.pk}/labels/{label.pk}/"
    assert client_for(personas.annotator).patch(url, {"name": "Dog"}, format="json").status_code == 403
    assert client_for(personas.admin).patch(url, {"name": "Dog"}, format="json").json()["name"] == "Dog"
    assert client_for(personas.admin).delete(url).status_code == 204


def test_label_text_is_returned_verbatim(personas):
    name = "<img src=x onerror=alert(1)>"
    client = client_for(personas.owner)
    client.post(f"/api/v1/projects/{personas.project.pk}/labels/", {"name": name}, format="json")
    assert client.get(f"/api/v1/projects/{personas.project.pk}/labels/").json()[0]["name"] == name
