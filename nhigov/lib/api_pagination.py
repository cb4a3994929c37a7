"""Cursor pagination for the API: constant cost per page at any table size, no COUNT(*)."""

from rest_framework.pagination import CursorPagination


class CodeCursorPagination(CursorPagination):
    # Ordered by id by default; views with an OrderingFilter let clients pick the column,
    # and DRF's cursor keeps the position stable across inserts.
    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000
