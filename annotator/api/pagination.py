"""Cursor pagination by key, id or uncertainty: constant cost per page, however deep.

A cursor is the client's to send back, so its position is checked before it reaches a
query: an id the database can hold, a key without NUL (PostgreSQL refuses NUL in text),
a finite uncertainty.
A cursor that fails is DRF's "Invalid cursor" 404, as for any cursor we did not issue.
"""

from __future__ import annotations

import math

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from annotator.ids import parse_id


class KeyCursorPagination(CursorPagination):
    ordering: tuple[str, ...] = ("key",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        # The stub types position as int; decoded from the query string, it is text.
        if cursor is not None and cursor.position is not None and not self.valid_position(cursor.position):  # type: ignore[arg-type]
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def valid_position(self, position: str) -> bool:
        return "\x00" not in position


class IdCursorPagination(KeyCursorPagination):
    ordering = ("id",)

    def valid_position(self, position: str) -> bool:
        return parse_id(position) is not None


class UncertaintyCursorPagination(KeyCursorPagination):
    """Most uncertain first (`Image.uncertainty`), ties by key; the queryset holds only predicted images.

    The cursor's position is the last uncertainty shown; equal uncertainties are told apart by
    DRF's offset within the position, so the order is total and no image is shown twice.
    """

    ordering = ("-uncertainty", "key")

    def valid_position(self, position: str) -> bool:
        try:
            return math.isfinite(float(position))
        except ValueError:
            return False
