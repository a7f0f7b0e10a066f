"""JSON from clients nested no deeper than any of our messages needs.

Python's json parses recursively: very deep input raises RecursionError, and input a
little shallower parses but breaks the first recursive `str()`/`repr()` that later walks
it. API bodies and websocket messages are small and never need more than a few levels,
so they are parsed here and refused beyond `MAX_DEPTH` with an ordinary ValueError.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32


class TooDeep(ValueError):
    """The JSON nests more than MAX_DEPTH arrays or objects."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested more than {MAX_DEPTH} levels deep")


def nested_deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` (parsed JSON) has containers more than `limit` levels deep; no recursion."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if not isinstance(current, (dict, list)):
            continue
        if depth > limit:
            return True
        children = current.values() if isinstance(current, dict) else current
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def check_depth(value: Any) -> Any:
    """`value` itself, or TooDeep."""
    if nested_deeper_than(value):
        raise TooDeep
    return value


def loads(text: str | bytes) -> Any:
    """json.loads, with ValueError (TooDeep) instead of RecursionError or a too deep result."""
    try:
        return check_depth(json.loads(text))
    except RecursionError:
        raise TooDeep from None
