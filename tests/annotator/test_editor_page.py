"""The labelling editor's page: who may open it and what the page tells the editor."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def editor_url(project) -> str:
    return f"/projects/{project.pk}/label/"


def test_editor_needs_login(client, personas):
    response = client.get(editor_url(personas.project))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_editor_is_404_for_outsiders(client, personas):
    client.force_login(personas.outsider)
    assert client.get(editor_url(personas.project)).status_code == 404
    assert client.get("/projects/999999/label/").status_code == 404


@pytest.mark.parametrize(
    ("role", "annotate", "create_label"),
    [("owner", "true", "true"), ("annotator", "true", "true"), ("viewer", "false", "false")],
)
def test_editor_page_carries_the_members_permissions(client, personas, role, annotate, create_label):
    client.force_login(personas.of(role))
    response = client.get(editor_url(personas.project))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'data-can-annotate="{annotate}"' in body
    assert f'data-can-create-label="{create_label}"' in body
    assert f'data-ws="/ws/projects/{personas.project.pk}/"' in body
    assert ('id="label-input"' in body) is (annotate == "true")
    assert "<script>" not in body and "style=" not in body  # the CSP allows neither


def test_annotators_cannot_create_labels_when_the_project_says_so(client, personas):
    personas.project.annotators_create_labels = False
    personas.project.save()
    client.force_login(personas.annotator)
    body = client.get(editor_url(personas.project)).content.decode()
    assert 'data-can-create-label="false"' in body and "Find a label" in body


def test_project_page_links_tiles_and_a_button_to_the_editor(client, personas):
    client.force_login(personas.viewer)
    body = client.get(f"/projects/{personas.project.pk}/").content.decode()
    assert f'data-editor-url="{editor_url(personas.project)}"' in body
