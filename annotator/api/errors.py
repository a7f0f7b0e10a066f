"""One error shape for the whole API: {"error": {"code", "message", "details"?}}.

Codes are stable strings clients can branch on; messages are for people.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotator.storage import BucketError

_CODES: dict[type[Exception], str] = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


class ApiError(exceptions.APIException):
    """An error with our own stable code, raised by views after a service refused."""

    def __init__(self, code: str, message: str, status_code: int = 400, **details: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_code = code
        self.details = details


def error_response(code: str, message: str, status_code: int, **details: Any) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(details)
    return Response({"error": body}, status=status_code)


def _message(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "Some fields are invalid; see details."
    return str(exc.detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApiError):
        return error_response(exc.error_code, str(exc.detail), exc.status_code, **exc.details)
    if isinstance(exc, BucketError):
        return error_response(exc.code, str(exc), status.HTTP_502_BAD_GATEWAY)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    body: dict[str, Any] = {"code": code, "message": _message(exc)}
    if isinstance(exc, exceptions.ValidationError):
        body["details"] = exc.detail
    response.data = {"error": body}
    return response
