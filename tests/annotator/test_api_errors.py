"""Refusals of invalid fields name the fields in `error.message`, for the people reading a toast."""

from __future__ import annotations

import pytest

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_too_long_label_name_is_refused_with_the_field_named(personas):
    url = f"/api/v1/projects/{personas.project.pk}/labels/"
    response = client_for(personas.owner).post(url, {"name": "x" * 101}, format="json")
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid"
    assert error["message"] == "Name: Ensure this field has no more than 100 characters."
    assert error["details"] == {"name": ["Ensure this field has no more than 100 characters."]}


def test_several_fields_are_named_in_order_and_nested_ones_with_their_parent(personas):
    response = client_for(personas.owner).post(
        "/api/v1/projects/",
        {"name": "", "type": "boxes", "storage": {"bucket": "", "sync_interval_minutes": -1}},
        format="json",
    )
    message = response.json()["error"]["message"]
    assert response.status_code == 400
    assert message.startswith("Name: This field may not be blank. Type: ")


def test_a_nested_storage_block_names_its_fields(personas):
    response = client_for(personas.owner).post(
        "/api/v1/projects/",
        {"name": "Cats", "type": "localization", "storage": {"bucket": "b" * 300, "sync_interval_minutes": -1}},
        format="json",
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert "Storage bucket: Ensure this field has no more than 255 characters." in error["message"]
    assert "Storage sync interval minutes: Ensure this value is greater than or equal to 0." in error["message"]
