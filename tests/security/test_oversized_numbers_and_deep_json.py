"""Oversized numbers and deeply nested JSON from outside are a 4xx, never a 500 (issue #14, item 5).

The databases hold ids as signed 64-bit integers: a larger number that reaches a query
overflows (SQLite: OverflowError, PostgreSQL: NumericValueOutOfRange). Python's json
raises RecursionError on very deep input, and values only a little less deep break the
first `str()` that walks them. Every case here must answer a client error with the
`{"error": {"code", "message"}}` envelope on the API.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from rest_framework.test import APIClient

from annotator.models import ImageStatus
from tests.annotator.test_permissions_matrix import ROUTES, Route, supported_methods
from tests.conftest import client_for
from tests.factories import ImageFactory, LabelFactory
from training.models import Run, RunKind, RunStatus

pytestmark = pytest.mark.django_db

HUGE = 10**23
HUGER = 10**30
DEEP = 50_000
# Deep enough to break a recursive str()/repr() under a web stack, shallow enough for json to parse.
NEARLY_TOO_DEEP = 900


def _envelope(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str), body
    return body["error"]


def _assert_refused(response, *statuses: int) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.content[:300])
    if response.get("Content-Type", "").startswith("application/json"):
        _envelope(response)


def _fill(route: str, values: dict[str, object]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


ID_CASES = [
    pytest.param(route, kwarg, method, id=f"{route} {kwarg}={HUGE} {method}")
    for route in ROUTES
    for kwarg in route.kwargs
    if kwarg != "name"
    for method in supported_methods(route)
]


@pytest.mark.parametrize(("route", "kwarg", "method"), ID_CASES)
def test_an_id_beyond_64_bits_in_any_url_is_not_found(personas, route: Route, kwarg: str, method: str):
    """The owner asks for an object whose id no database can hold: 404, as for any id naming nothing."""
    values = {k: (HUGE if k == kwarg else 1) for k in route.kwargs}
    values["project_id"] = HUGE if kwarg == "project_id" else personas.project.pk
    values["name"] = "model_web"
    client = APIClient() if route.is_api else Client()
    client.force_login(personas.owner)

    response = client.generic(method, _fill(route.route, values), "{}", content_type="application/json")

    _assert_refused(response, 404)
    if route.is_api:
        assert _envelope(response)["code"] == "not_found"


def _cursor(position: str) -> str:
    return base64.b64encode(urlencode({"p": position}).encode()).decode()


@pytest.fixture
def run(personas):
    return Run.objects.create(
        project=personas.project, kind=RunKind.CLASSIFICATION, status=RunStatus.SUCCEEDED, created_by=personas.owner
    )


QUERY_CASES = {
    "label filter": ("api/v1/projects/{p}/images/", {"label": HUGE}),
    "label filter, huge": ("api/v1/projects/{p}/images/", {"label": "9" * 5000}),
    "label filter, superscript digit": ("api/v1/projects/{p}/images/", {"label": "²"}),
    "label filter, arabic digits": ("api/v1/projects/{p}/images/", {"label": "١٢"}),
    "page size": ("api/v1/projects/{p}/images/", {"page_size": HUGE}),
    "image cursor with NUL": ("api/v1/projects/{p}/images/", {"cursor": _cursor("a\x00b")}),
    "run cursor beyond 64 bits": ("api/v1/projects/{p}/runs/", {"cursor": _cursor(str(HUGE))}),
    "run cursor not a number": ("api/v1/projects/{p}/runs/", {"cursor": _cursor("abc")}),
    "run page size": ("api/v1/projects/{p}/runs/", {"page_size": HUGE}),
    "progress days": ("api/v1/projects/{p}/progress/", {"days": HUGE}),
    "progress days, superscript": ("api/v1/projects/{p}/progress/", {"days": "²"}),
    "review page image": ("projects/{p}/review/", {"image": HUGE}),
    "review page image, superscript": ("projects/{p}/review/", {"image": "²"}),
    "new run from": ("projects/{p}/runs/", {"from": HUGE}),
    "compare runs": ("projects/{p}/runs/compare/", {"run": HUGE}),
}


@pytest.mark.parametrize(("path", "query"), QUERY_CASES.values(), ids=QUERY_CASES.keys())
def test_oversized_or_odd_numbers_in_query_parameters_are_refused_or_ignored(personas, run, path, query):
    client = Client()
    client.force_login(personas.owner)

    response = client.get("/" + path.format(p=personas.project.pk), query)

    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400 and path.startswith("api/"):
        _envelope(response)


@pytest.mark.parametrize(
    ("param", "value", "code"),
    [("label", HUGE, "invalid_filter"), ("label", "²", "invalid_filter"), ("days", HUGE, "invalid_days")],
)
def test_a_number_parameter_out_of_range_names_the_parameter(personas, param, value, code):
    path = "images/" if param == "label" else "progress/"

    response = client_for(personas.owner).get(f"/api/v1/projects/{personas.project.pk}/{path}", {param: value})

    assert response.status_code == 400
    error = _envelope(response)
    assert error["code"] == code and param in error["message"]


# --- bodies -------------------------------------------------------------------------------------


@pytest.fixture
def image(personas):
    return ImageFactory(project=personas.project)


def _annotations(image) -> str:
    return f"/api/v1/projects/{image.project_id}/images/{image.pk}/annotations/"


def _box(label_id: object) -> dict:
    return {"label": label_id, "x": 0.1, "y": 0.1, "x2": 0.5, "y2": 0.5}


PUT_BODIES = {
    "box label id 10**30": {"version": 0, "boxes": [_box(HUGER)]},
    "class label id 10**30": {"version": 0, "labels": [HUGER]},
    "negative label id": {"version": 0, "labels": [-HUGER]},
    "version 10**30": {"version": HUGER, "boxes": []},
    "coordinate 10**400": {"version": 0, "boxes": [{**_box(1), "x2": 10**400}]},
}


@pytest.mark.parametrize("body", PUT_BODIES.values(), ids=PUT_BODIES.keys())
def test_a_put_with_oversized_numbers_is_refused_with_a_code(personas, image, body):
    LabelFactory(project=personas.project)

    response = client_for(personas.annotator).put(
        _annotations(image), json.dumps(body), content_type="application/json"
    )

    _assert_refused(response, 400)
    image.refresh_from_db()
    assert image.version == 0


@pytest.mark.parametrize("version", [str(HUGER), "²"])
def test_an_if_match_that_is_no_version_is_refused(personas, image, version):
    response = client_for(personas.annotator).put(
        _annotations(image), {"boxes": []}, format="json", HTTP_IF_MATCH=f'"{version}"'
    )

    _assert_refused(response, 400)
    assert _envelope(response)["code"] == "invalid_version"


def test_a_review_of_version_10_30_is_refused(personas):
    image = ImageFactory(project=personas.project, status=ImageStatus.LABELLED)
    url = f"/api/v1/projects/{personas.project.pk}/images/{image.pk}/review/"

    response = client_for(personas.reviewer).post(url, {"decision": "approve", "version": HUGER}, format="json")

    _assert_refused(response, 400, 409)


@pytest.mark.parametrize(
    "item", [{"id": HUGER, "version": 1}, {"id": 1, "version": HUGER}, {"id": -HUGER, "version": 0}]
)
def test_a_bulk_review_naming_numbers_too_big_is_refused(personas, item):
    image = ImageFactory(project=personas.project, status=ImageStatus.LABELLED)
    url = f"/api/v1/projects/{personas.project.pk}/review/bulk/"

    response = client_for(personas.reviewer).post(url, {"decision": "approve", "images": [item]}, format="json")

    _assert_refused(response, 400)
    image.refresh_from_db()
    assert image.status == ImageStatus.LABELLED


@pytest.mark.parametrize("user", [HUGER, -HUGER])
def test_transferring_ownership_to_user_10_30_is_refused(personas, user):
    url = f"/api/v1/projects/{personas.project.pk}/transfer-ownership/"

    response = client_for(personas.owner).post(url, {"user": user}, format="json")

    _assert_refused(response, 400, 404)


def test_the_transfer_page_refuses_user_10_30(personas):
    client = Client()
    client.force_login(personas.owner)

    response = client.post(f"/projects/{personas.project.pk}/team/transfer/", {"user": str(HUGER)})

    assert response.status_code < 500


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


DEEP_TARGETS = [
    ("POST", "api/v1/projects/"),
    ("PATCH", "api/v1/projects/{p}/"),
    ("POST", "api/v1/projects/{p}/labels/"),
    ("PUT", "api/v1/projects/{p}/images/{i}/annotations/"),
    ("POST", "api/v1/projects/{p}/images/{i}/review/"),
    ("POST", "api/v1/projects/{p}/invitations/"),
    ("POST", "api/v1/projects/{p}/transfer-ownership/"),
    ("POST", "api/v1/projects/{p}/runs/"),
    ("POST", "api/v1/projects/{p}/exports/"),
    ("POST", "api/v1/storage/test/"),
    ("POST", "api/v1/auth/token/"),
]


@pytest.mark.parametrize(("method", "path"), DEEP_TARGETS, ids=[f"{m} {p}" for m, p in DEEP_TARGETS])
@pytest.mark.parametrize(
    ("where", "depth"), [("top level", DEEP), ("inside a field", NEARLY_TOO_DEEP), ("inside a field", 40)]
)
def test_deeply_nested_json_bodies_are_malformed_requests(personas, image, method, path, where, depth):
    if where == "top level":
        body = _deep(depth)
    else:
        inner = _deep(depth)
        body = '{"name": %s, "labels": %s, "version": %s, "decision": %s, "emails": %s, "user": %s}' % ((inner,) * 6)
    url = "/" + path.format(p=personas.project.pk, i=image.pk)
    client = client_for(personas.owner)

    response = client.generic(method, url, body, content_type="application/json")

    _assert_refused(response, 400)
    assert _envelope(response)["code"] == "malformed_request"
