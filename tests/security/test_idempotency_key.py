"""An Idempotency-Key replays only the request it was first sent with (issue #14, item 7).

Before, a key reused with another body answered 200 with the earlier write's state and
the new body was dropped without a word. Like payment APIs (and the IETF Idempotency-Key
draft), a reuse with a different request is refused with 422 `idempotency_key_reused`.
"""

from __future__ import annotations

import pytest

from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def image(personas):
    return ImageFactory(project=personas.project)


@pytest.fixture
def cat(personas):
    return LabelFactory(project=personas.project, name="cat")


def url(image) -> str:
    return f"/api/v1/projects/{image.project_id}/images/{image.pk}/annotations/"


def box(label, **coords) -> dict:
    return {"label": label.pk, "x": 0.1, "y": 0.2, "x2": 0.5, "y2": 0.6, **coords}


def put(user, image, body: dict, key: str, **headers):
    return client_for(user).put(url(image), body, format="json", HTTP_IDEMPOTENCY_KEY=key, **headers)


def test_a_key_reused_with_another_body_is_refused_and_nothing_changes(personas, image, cat):
    first = put(personas.annotator, image, {"version": 0, "boxes": [box(cat)]}, "op-1")

    reused = put(personas.annotator, image, {"version": 0, "boxes": [box(cat, x=0.3)]}, "op-1")

    assert first.status_code == 200
    assert reused.status_code == 422, reused.json()
    error = reused.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error["message"]
    image.refresh_from_db()
    assert image.version == 1
    assert [b.x for b in image.boxes.all()] == [0.1]


def test_a_key_reused_for_another_base_version_is_refused(personas, image, cat):
    body = {"boxes": [box(cat)]}
    assert put(personas.annotator, image, body, "op-1", HTTP_IF_MATCH='"0"').status_code == 200

    reused = put(personas.annotator, image, body, "op-1", HTTP_IF_MATCH='"1"')

    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")


def test_a_key_reused_by_another_member_is_refused(personas, image, cat):
    body = {"version": 0, "boxes": [box(cat)]}
    assert put(personas.annotator, image, body, "op-1").status_code == 200

    reused = put(personas.owner, image, body, "op-1")

    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")


def test_the_same_request_again_replays_the_answer(personas, image, cat):
    body = {"version": 0, "negative": False, "boxes": [box(cat)]}
    first = put(personas.annotator, image, body, "op-1")

    # The same request, spelled differently: keys in another order, a default left out.
    retry = put(personas.annotator, image, {"boxes": [box(cat)], "version": 0}, "op-1")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert image.boxes.count() == 1


def test_long_keys_are_compared_whole_not_by_their_first_64_characters(personas, image, cat):
    prefix = "k" * 64
    assert put(personas.annotator, image, {"version": 0, "boxes": [box(cat)]}, prefix + "-first").status_code == 200

    second = put(personas.annotator, image, {"version": 1, "boxes": [box(cat, x=0.3)]}, prefix + "-second")

    assert second.status_code == 200
    assert second.json()["version"] == 2
    assert [b["x"] for b in second.json()["boxes"]] == [0.3]
