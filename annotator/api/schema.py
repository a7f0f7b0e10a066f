"""The OpenAPI schema says exactly what the API answers, errors included.

Invariants, enforced here for every operation rather than view by view:

- Every error answer (4xx, 5xx) is documented with the `Error` envelope that
  annotator.api.errors produces: `{"error": {"code", "message", "details"?, ...}}`.
- Every operation documents the errors any of our views can give: 400 (a malformed
  request, or a query string over Django's limits, which content negotiation already
  reads), 401 and 403 (no or a bad credential, a role without the action, a missing
  CSRF token), 406 (an `Accept` nothing renders); 404 where the path names a row or a
  cursor can go stale; 413 and 415 where a body is read (over DATA_UPLOAD_MAX_MEMORY_SIZE,
  or of a type no parser takes); 429 where the view is throttled.
- A view declares the errors only it gives (409, 428, 502, ...) with `errors(...)` in
  its `extend_schema(responses=...)`; those are rendered the same way.

tests/security/test_openapi_schema.py checks the schema; test_schemathesis.py checks it
against a live server.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

_MEDIA_TYPES = ["application/json"]
_DESCRIPTIONS = {
    400: "The request is malformed or a field is invalid (`details` names the fields).",
    401: "No credentials, or a bad token.",
    403: "Your role does not allow this (or a session request lacks its CSRF token).",
    404: "No such thing here; also what people who are not members get for anything in a project.",
    406: "Nothing can be rendered for the `Accept` header.",
    409: "Conflicts with the current state; `code` says which.",
    413: "The request is too large.",
    415: "Unsupported `Content-Type` for the body.",
    422: "The `Idempotency-Key` was already used for a different request.",
    428: "Say which version you edited (`If-Match` or `version`).",
    429: "Too many requests; retry later.",
    502: "The bucket or the mail server failed.",
}


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable: clients branch on it.")
    message = serializers.CharField(help_text="For people: what happened and what to do.")
    details = serializers.DictField(required=False, help_text="Per-field problems of an `invalid` request.")


class ErrorSerializer(serializers.Serializer):
    """Every error answer. Some carry more keys beside `code` and `message` (e.g. `current` on 409)."""

    error = ErrorBodySerializer()


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses={200: X, **errors(409)})`: errors only this operation gives."""
    return {status: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[status]) for status in statuses}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus the errors every operation can answer (module docstring)."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for status in self._implied_errors(operation):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    errors(status)[status], str(status), media_types=_MEDIA_TYPES
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _implied_errors(self, operation: dict) -> set[int]:
        statuses = {400, 406}
        if self.view.get_authenticators() or self.view.get_permissions():
            statuses |= {401, 403}
        if any(p["in"] == "path" for p in operation.get("parameters", [])) or self._is_paginated():
            statuses.add(404)  # a row that is not there (or not yours), or a stale cursor
        if "requestBody" in operation:
            statuses |= {413, 415}
        if self.view.get_throttles():
            statuses.add(429)
        return statuses

    def _is_paginated(self) -> bool:
        return self.method == "GET" and self._get_paginator() is not None and self._is_list_view()
