"""Turning class names into file and folder names that are safe on every OS.

A label is user text; as a folder name it must not climb out of the export (`..`,
separators), hide itself (leading dot), trip Windows (reserved names, `:*?`) or
exceed path limits. Two labels may sanitise to the same name (or differ only in
case, which collides on macOS and Windows), so suffixes are added in label order:
the same labels always give the same names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_NAME_LENGTH = 64
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
)


def safe_name(label: str) -> str:
    """A single path component that stands for `label` (not necessarily unique)."""
    name = unicodedata.normalize("NFC", label)
    name = "".join("_" if unicodedata.category(c).startswith("C") else c for c in name)
    name = _UNSAFE.sub("_", name).strip(" .")
    name = name[:MAX_NAME_LENGTH].rstrip(" .")
    if not name:
        return "label"
    if name.split(".")[0].lower() in _WINDOWS_RESERVED:
        name = f"{name}_"
    return name


def unique_names(labels: Iterable[str], reserved: Iterable[str] = ()) -> dict[str, str]:
    """Map each label to a distinct safe name, avoiding `reserved` names too.

    Uniqueness is checked case-insensitively so an export unpacks intact on
    case-insensitive file systems.
    """
    taken = {name.casefold() for name in reserved}
    names: dict[str, str] = {}
    for label in labels:
        base = safe_name(label)
        name, counter = base, 1
        while name.casefold() in taken:
            counter += 1
            suffix = f"-{counter}"
            name = base[: MAX_NAME_LENGTH - len(suffix)] + suffix
        taken.add(name.casefold())
        names[label] = name
    return names
