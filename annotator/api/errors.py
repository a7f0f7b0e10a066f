"""One error shape for the whole API: {"error": {"code", "message", "details"?}}.

Codes are stable strings clients can branch on; messages are for people. A service's refusal
(any annotator.errors.CodedError) reaches the client as it is, with its own status and details:
views let it propagate and raise ApiError only for refusals that are the view's own.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from annotator.errors import CodedError
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


def _request_limit(exc: Exception) -> tuple[str, str, int] | None:
    """Django refuses requests over its limits with SuspiciousOperation (its HTML 400): our envelope instead."""
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return "too_many_files", f"Send at most {limit} files in one request; split the batch.", 400
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return "too_many_fields", f"Send at most {limit} form fields or query parameters in one request.", 400
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
        return "request_too_large", f"The request's form fields exceed {limit} KB; send files as files.", 413
    return None


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refused before (or outside) the API's views, in the envelope under /api/."""
    if not request.path_info.startswith("/api/"):
        return defaults.bad_request(request, exception)
    code, message, status_code = _request_limit(exception) or ("bad_request", "The request is malformed.", 400)
    return JsonResponse({"error": {"code": code, "message": message}}, status=status_code)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: API clients get the envelope even when no view matched the URL."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": "Not found."}}, status=404)
    return defaults.page_not_found(request, exception)


MAX_FIELD_MESSAGES = 3  # a toast stays readable; `details` has every one


def _field_name(path: list[str]) -> str:
    """`["storage", "bucket"]` -> "Storage bucket"; list positions and non_field_errors name nothing."""
    parts = [p for p in path if not p.isdigit() and p != api_settings.NON_FIELD_ERRORS_KEY]
    return " ".join(parts).replace("_", " ").capitalize()


def _flatten(detail: Any, path: list[str]) -> list[tuple[str, str]]:
    if isinstance(detail, dict):
        return [pair for key, value in detail.items() for pair in _flatten(value, [*path, str(key)])]
    if isinstance(detail, list):
        return [pair for i, value in enumerate(detail) for pair in _flatten(value, [*path, str(i)])]
    return [(_field_name(path), str(detail))]


def validation_message(detail: Any) -> str:
    """People read the field messages themselves: "Name: Ensure this field has no more than 100 characters."

    Clients that branch per field read `error.details`, which keeps DRF's structure.
    """
    pairs = _flatten(detail, [])
    lines = [f"{field}: {text}" if field else text for field, text in pairs[:MAX_FIELD_MESSAGES]]
    if len(pairs) > MAX_FIELD_MESSAGES:
        lines.append(f"(and {len(pairs) - MAX_FIELD_MESSAGES} more)")
    return " ".join(lines) or "Some fields are invalid."


def _message(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return validation_message(exc.detail)
    return str(exc.detail)


def _coded_error_response(exc: CodedError) -> Response:
    response = error_response(exc.code, exc.message, exc.status, **exc.details)
    if "retry_after" in exc.details:
        response["Retry-After"] = str(exc.details["retry_after"])
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApiError):
        return error_response(exc.error_code, str(exc.detail), exc.status_code, **exc.details)
    if isinstance(exc, CodedError):
        return _coded_error_response(exc)
    if isinstance(exc, BucketError):
        return error_response(exc.code, str(exc), status.HTTP_502_BAD_GATEWAY)
    if isinstance(exc, SuspiciousOperation) and (limit := _request_limit(exc)):
        return error_response(*limit)
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
