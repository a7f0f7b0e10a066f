"""Cursor pagination by key or id: constant cost per page, however deep.

A cursor is the client's to send back, so its position is checked before it reaches a
query: an id the database can hold, a key without NUL (PostgreSQL refuses NUL in text).
A cursor that fails is DRF's "Invalid cursor" 404, as for any cursor we did not issue.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from annotator.ids import parse_id


class KeyCursorPagination(CursorPagination):
    ordering = ("key",)
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
