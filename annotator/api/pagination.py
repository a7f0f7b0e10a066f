"""Cursor pagination by image key: constant cost per page, however deep."""

from rest_framework.pagination import CursorPagination


class KeyCursorPagination(CursorPagination):
    ordering = ("key",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class IdCursorPagination(CursorPagination):
    ordering = ("id",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
