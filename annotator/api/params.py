"""Whole numbers and switches in query strings: read once, held to a range, refused with a code naming them."""

from __future__ import annotations

from rest_framework.request import Request

from annotator.api.errors import ApiError
from annotator.ids import MAX_ID, parse_count


def int_param(
    request: Request, name: str, *, code: str = "invalid_parameter", minimum: int = 1, maximum: int = MAX_ID
) -> int | None:
    """`?name=` as an int within minimum..maximum, None when absent or empty, else a 400 `code`."""
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    number = parse_count(raw, maximum=maximum)
    if number is None or number < minimum:
        raise ApiError(code, f"{name} must be a whole number from {minimum} to {maximum}.")
    return number


def bool_param(request: Request, name: str, *, code: str = "invalid_parameter") -> bool | None:
    """`?name=true|false` as a bool, None when absent or empty, else a 400 `code`."""
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    if raw not in ("true", "false"):
        raise ApiError(code, f"{name} must be true or false.")
    return raw == "true"
