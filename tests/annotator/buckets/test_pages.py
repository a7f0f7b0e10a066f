"""The pages: a project from a bucket, a project's bucket settings, and images allowed by the CSP."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.annotator.buckets.conftest import SECRET_KEY, connect
from tests.factories import make_persona_project

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_new_project_from_a_bucket_page(personas):
    page = _client(personas.viewer).get("/projects/new/bucket/")

    assert page.status_code == 200
    assert b'name="secret_access_key"' in page.content and b"Test connection" in page.content


@pytest.mark.integration
def test_bucket_page_shows_the_connection_but_never_the_secret(remote):
    personas = make_persona_project()
    project = connect(personas.project, remote)

    page = _client(personas.admin).get(f"/projects/{project.pk}/storage/")

    assert page.status_code == 200
    assert remote.name.encode() in page.content
    assert SECRET_KEY.encode() not in page.content
    assert _client(personas.annotator).get(f"/projects/{project.pk}/storage/").status_code == 403
    assert _client(personas.outsider).get(f"/projects/{project.pk}/storage/").status_code == 404


@pytest.mark.integration
def test_project_pages_let_images_come_from_the_project_s_own_endpoint(remote):
    personas = make_persona_project()
    project = connect(personas.project, remote)

    page = _client(personas.viewer).get(f"/projects/{project.pk}/")
    outsider = _client(personas.outsider).get(f"/projects/{project.pk}/")

    assert f"img-src {remote.endpoint} " in page["Content-Security-Policy"]
    assert remote.endpoint not in outsider.get("Content-Security-Policy", "")
