"""The OpenAPI schema is exact: generated without warnings, lists typed as lists, every error documented.

The live counterpart, schemathesis against a running server, is test_schemathesis.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from drf_spectacular.checks import schema_check
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "patch", "post", "delete"}:
                yield method.upper(), path, operation


def _json_schema(operation: dict, status: str) -> dict:
    return operation["responses"][status]["content"]["application/json"]["schema"]


def test_generation_prints_no_warning_and_validates(tmp_path: Path):
    # --fail-on-warn turns every warning and error drf-spectacular prints into a CommandError.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_deploy_check_finds_nothing_in_the_schema():
    """`check --deploy` runs the same generation: its drf_spectacular.W001/W002 must stay empty."""
    GENERATOR_STATS.reset()
    assert schema_check(None) == []


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/api/v1/projects/", "array"),
        ("/api/v1/projects/{project_id}/labels/", "array"),
        ("/api/v1/projects/{project_id}/images/", "page"),
        ("/api/v1/projects/{project_id}/runs/", "page"),
        ("/api/v1/projects/{project_id}/imports/", "array"),
        ("/api/v1/projects/{project_id}/exports/", "array"),
        ("/api/v1/projects/{project_id}/sync/", "array"),
        ("/api/v1/projects/{project_id}/members/", "array"),
        ("/api/v1/projects/{project_id}/invitations/", "array"),
        ("/api/v1/projects/{project_id}/images/{image_id}/review/", "array"),
        ("/api/v1/projects/{project_id}/runs/{run_id}/artifacts/", "array"),
    ],
)
def test_list_endpoints_are_typed_as_lists_or_pages(schema: dict, path: str, shape: str):
    body = _json_schema(schema["paths"][path]["get"], "200")
    if shape == "array":
        assert body.get("type") == "array", body
        return
    component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"next", "previous", "results"}
    assert component["properties"]["results"]["type"] == "array"


def _resolve(schema: dict, node: dict) -> dict:
    """Follow a `$ref`, or the single `allOf: [$ref]` drf-spectacular wraps enums in."""
    if "allOf" in node:
        node = node["allOf"][0]
    if "$ref" in node:
        return _resolve(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
    return node


def test_storage_without_a_connection_is_its_own_shape(schema: dict):
    body = _resolve(schema, _json_schema(schema["paths"]["/api/v1/projects/{project_id}/storage/"]["get"], "200"))
    variants = [_resolve(schema, ref) for ref in body["oneOf"]]
    connected = {tuple(_resolve(schema, v["properties"]["connected"])["enum"]): v for v in variants}
    assert set(connected) == {(True,), (False,)}
    # The bare answer {"connected": false} must not be held to the connected shape's fields.
    assert connected[(False,)]["required"] == ["connected"]
    assert "endpoint_url" in connected[(True,)]["required"]


def test_every_operation_documents_its_errors_with_the_envelope(schema: dict):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    body = schema["components"]["schemas"][error["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
    assert {"code", "message"} <= set(body["required"])
    assert body["properties"]["code"]["type"] == body["properties"]["message"]["type"] == "string"

    for method, path, operation in _operations(schema):
        errors = [status for status in operation["responses"] if status[0] in "45"]
        assert {"400", "401", "403", "406"} <= set(errors), (method, path, errors)
        if "{" in path:
            assert "404" in errors, (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= set(errors), (method, path)
        for status in errors:
            assert _json_schema(operation, status) == {"$ref": ERROR_REF}, (method, path, status)


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("PUT", "/api/v1/projects/{project_id}/images/{image_id}/annotations/", {"409", "422", "428"}),
        ("POST", "/api/v1/projects/{project_id}/labels/", {"409"}),
        ("POST", "/api/v1/projects/{project_id}/sync/", {"409"}),
        ("POST", "/api/v1/projects/{project_id}/leave/", {"409"}),
        ("POST", "/api/v1/projects/{project_id}/invitations/{invitation_id}/resend/", {"409", "502"}),
        ("GET", "/api/v1/projects/{project_id}/exports/{export_id}/download/", {"400", "409"}),
    ],
)
def test_specific_errors_are_declared(schema: dict, method: str, path: str, statuses: set[str]):
    assert statuses <= set(schema["paths"][path][method.lower()]["responses"])


def test_creations_answer_201_and_ids_are_bounded_integers(schema: dict):
    for path in ("/api/v1/projects/{project_id}/labels/", "/api/v1/projects/{project_id}/invitations/"):
        assert "201" in schema["paths"][path]["post"]["responses"], path
    parameters = schema["paths"]["/api/v1/projects/{project_id}/"]["get"]["parameters"]
    project_id = next(p for p in parameters if p["name"] == "project_id")["schema"]
    assert project_id["type"] == "integer"
    assert project_id["maximum"] == 2**63 - 1
