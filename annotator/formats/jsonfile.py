"""Loading JSON annotation files with errors that point at the broken line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .dataset import FormatError


def load_json(path: Path, file: str) -> Any:
    """Parse a JSON file; bad syntax or encoding is a `bad_json` error with its line.

    Nesting too deep for Python's recursive parser is `bad_json` too. Shallower nesting
    parses; readers then quote values only through `checks.shown`, which never recurses far.

    NaN and Infinity literals are let through here so that the field check can name
    the exact coordinate that holds them.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FormatError("missing_file", "the annotation file is missing", file=file) from None
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise FormatError("bad_json", f"malformed JSON: {exc.msg}", file=file, line=exc.lineno) from None
    except ValueError as exc:
        raise FormatError("bad_json", f"malformed JSON: {exc}", file=file) from None
    except RecursionError:
        raise FormatError("bad_json", "malformed JSON: arrays or objects nested too deeply", file=file) from None
