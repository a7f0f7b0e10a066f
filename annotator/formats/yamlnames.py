"""Reading the `names:` entry of an Ultralytics `data.yaml` without a YAML library.

The formats package stays dependency-free, and `names` comes in only four shapes:
a block list (`- cat`), a block mapping (`0: cat`), or the same two in flow style
on one line (`[cat, dog]`, `{0: cat, 1: dog}`). Scalars may be plain, 'single' or
"double" quoted.
"""

from __future__ import annotations

import json
import re

from .checks import shown
from .dataset import FormatError

_NAMES = re.compile(r"^names\s*:\s*(.*)$")
# ASCII digits, and few of them: int() refuses more than 4300 digits and no dataset has 10^9 classes.
_INDEX = re.compile(r"^([0-9]{1,9})\s*:\s*(.*)$")


def read_names(text: str, file: str) -> list[str]:
    """Class names in id order, or FormatError when `names` is missing or malformed."""
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        match = _NAMES.match(line.rstrip())
        if not match:
            continue
        rest = _strip_comment(match.group(1))
        if rest:
            return _flow(rest, file, number)
        return _block(lines[number:], file, number)
    raise FormatError("missing_field", "data.yaml has no `names` entry", file=file, field="names")


def _block(lines: list[str], file: str, start: int) -> list[str]:
    items: list[tuple[int, str]] = []
    for offset, raw in enumerate(lines, start=start + 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw[0].isspace():
            break
        entry = _strip_comment(raw.strip())
        if entry.startswith("- ") or entry == "-":
            items.append((len(items), _scalar(entry[1:].strip(), file, offset)))
            continue
        match = _INDEX.match(entry)
        if not match:
            raise FormatError("bad_value", f"cannot read class name {shown(entry)}", file, offset, "names")
        items.append((int(match.group(1)), _scalar(match.group(2), file, offset)))
    return _ordered(items, file, start)


def _flow(text: str, file: str, line: int) -> list[str]:
    if len(text) < 2 or (text[0], text[-1]) not in (("[", "]"), ("{", "}")):
        raise FormatError("bad_value", "names must be a list or a mapping", file, line, "names")
    parts = [part.strip() for part in _split_commas(text[1:-1], file, line) if part.strip()]
    if text[0] == "[":
        return [_scalar(part, file, line) for part in parts]
    items = []
    for part in parts:
        match = _INDEX.match(part)
        if not match:
            raise FormatError("bad_value", f"cannot read class name {shown(part)}", file, line, "names")
        items.append((int(match.group(1)), _scalar(match.group(2), file, line)))
    return _ordered(items, file, line)


def _ordered(items: list[tuple[int, str]], file: str, line: int) -> list[str]:
    ids = sorted(index for index, _ in items)
    if ids != list(range(len(items))):
        raise FormatError("bad_value", "class ids must run 0, 1, 2, ... without gaps", file, line, "names")
    return [name for _, name in sorted(items)]


def _split_commas(text: str, file: str, line: int) -> list[str]:
    parts, current, quote = [], [], ""
    chars = iter(text)
    for char in chars:
        if quote:
            current.append(char)
            if char == "\\" and quote == '"':
                current.append(next(chars, ""))
            elif char == quote:
                quote = ""
        elif char in "'\"" and _opens_quote(current):
            quote = char
            current.append(char)
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quote:
        raise FormatError("bad_value", "unterminated quoted class name", file, line, "names")
    parts.append("".join(current))
    return parts


def _scalar(text: str, file: str, line: int) -> str:
    text = text.strip()
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise FormatError("bad_value", f"cannot read quoted name {text}", file, line, "names") from None
        return str(value)
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    return text


def _strip_comment(text: str) -> str:
    """Drop a trailing ` # comment` that is outside quotes."""
    quote, escaped = "", False
    for position, char in enumerate(text):
        if escaped:
            escaped = False
        elif quote:
            escaped = char == "\\" and quote == '"'
            quote = "" if char == quote else quote
        elif char in "'\"" and _opens_quote(text[:position]):
            quote = char
        elif char == "#" and (position == 0 or text[position - 1].isspace()):
            return text[:position].strip()
    return text.strip()


def _opens_quote(before: str | list[str]) -> bool:
    """A quote starts a quoted scalar only where a scalar starts; `dog's` is plain."""
    text = "".join(before).rstrip(" \t")
    return not text or text[-1] in "[{,:-"
