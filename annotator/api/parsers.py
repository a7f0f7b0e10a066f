"""The API's JSON parser: DRF's, refusing input nested deeper than annotator.nesting allows.

DRF turns ValueError into a 400 `malformed_request` but lets RecursionError through as
a 500, and a body just shallow enough to parse would break later in a recursive str().
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from annotator.nesting import MAX_DEPTH, nested_deeper_than


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        too_deep = ParseError(f"JSON parse error - nested more than {MAX_DEPTH} levels deep.")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if nested_deeper_than(data):
            raise too_deep
        return data
