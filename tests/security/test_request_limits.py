"""Requests over Django's size limits answer the API's error envelope (issue #14, item 11).

Django refuses them with SuspiciousOperation, which would otherwise be its HTML 400 page.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import client_for, make_image_bytes

pytestmark = pytest.mark.django_db


def images_url(personas) -> str:
    return f"/api/v1/projects/{personas.project.pk}/images/"


def assert_envelope(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_too_many_files_in_one_request(personas, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"{i}.jpg", make_image_bytes(color=(i, i, i))) for i in range(3)]

    response = client_for(personas.owner).post(images_url(personas), {"files": files}, format="multipart")

    assert_envelope(response, 400, "too_many_files")
    assert "2" in response.json()["error"]["message"]
    assert personas.project.images.count() == 0


def test_too_many_fields_in_a_form(personas, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    payload = {f"field{i}": "x" for i in range(5)} | {"files": [SimpleUploadedFile("a.jpg", make_image_bytes())]}

    response = client_for(personas.owner).post(images_url(personas), payload, format="multipart")

    assert_envelope(response, 400, "too_many_fields")


def test_too_many_query_parameters(personas, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3

    response = client_for(personas.owner).get(images_url(personas) + "?" + "&".join(f"a{i}=1" for i in range(5)))

    assert_envelope(response, 400, "too_many_fields")


def test_form_fields_over_the_memory_limit(personas, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = {"note": "x" * 5000, "files": [SimpleUploadedFile("a.jpg", make_image_bytes())]}

    response = client_for(personas.owner).post(images_url(personas), payload, format="multipart")

    assert_envelope(response, 413, "request_too_large")


def test_a_logged_in_browser_gets_the_envelope_too(personas, settings, client):
    """Session authentication checks CSRF, which reads the form before the view does."""
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1
    client.force_login(personas.owner)
    files = [SimpleUploadedFile(f"{i}.jpg", make_image_bytes(color=(i, 0, 0))) for i in range(2)]

    response = client.post(images_url(personas), {"files": files})

    assert_envelope(response, 400, "too_many_files")


def test_a_request_refused_before_any_view_still_gets_the_envelope_under_the_api(client):
    response = client.get("/api/v1/projects/", HTTP_HOST="evil.example")

    assert_envelope(response, 400, "bad_request")
    assert "text/html" in client.get("/accounts/login/", HTTP_HOST="evil.example")["Content-Type"]
