"""The plain-data description of a dataset that every codec reads into and writes from.

Codecs never see Django: the import/export services turn rows into these objects
and back, so a format can be tested with nothing but files on disk.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

DatasetType = Literal["localization", "classification"]
DATASET_TYPES: tuple[DatasetType, ...] = ("localization", "classification")

MAX_LABEL_LENGTH = 200
# Control, surrogate, private-use, unassigned, line/paragraph separators and the
# byte-order mark: none survives every format (XML 1.0, one-name-per-line class
# files that may start with a BOM, CSV cells).
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})


class FormatError(Exception):
    """A precise complaint about input: what is wrong (code), where (file, line, field).

    The import UI shows these to the person who made the file, so the location must
    be good enough to find and fix the record by hand.
    """

    def __init__(
        self,
        code: str,
        message: str,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = ":".join(str(part) for part in (self.file, self.line) if part is not None)
        if self.field:
            where = f"{where} {self.field}" if where else self.field
        return f"{where}: {self.message} [{self.code}]" if where else f"{self.message} [{self.code}]"

    def __repr__(self) -> str:
        return f"FormatError({self.code!r}, {str(self)!r})"

    def as_dict(self) -> dict[str, str | int | None]:
        """JSON-ready form for import reports."""
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "field": self.field,
        }


def label_problem(label: str) -> str | None:
    """Why `label` cannot be a class name, or None when it can.

    Labels end up in XML, CSV cells, one-per-line class files and folder names, so
    only what all of them can carry unchanged is accepted.
    """
    if not label:
        return "label is empty"
    if label != label.strip():
        return "label has leading or trailing whitespace"
    if len(label) > MAX_LABEL_LENGTH:
        return f"label is longer than {MAX_LABEL_LENGTH} characters"
    for char in label:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES or char == "\ufeff":
            return f"label contains the control or unassigned character U+{ord(char):04X}"
    return None


@dataclass(frozen=True, slots=True)
class Box:
    """A box normalised to 0..1 against the image as displayed (after EXIF rotation)."""

    label: str
    x: float
    y: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        coords = (self.x, self.y, self.x2, self.y2)
        if not all(math.isfinite(value) and 0.0 <= value <= 1.0 for value in coords):
            raise ValueError(f"box coordinates must be finite and within 0..1: {coords}")
        if not (self.x < self.x2 and self.y < self.y2):
            raise ValueError(f"box must have x < x2 and y < y2: {coords}")


@dataclass(frozen=True, slots=True)
class DatasetImage:
    """One image: boxes (localization) or labels (classification), or marked negative.

    An image with no boxes, no labels and `negative=False` is unlabelled: nobody has
    looked at it yet, which is different from a background image.
    """

    key: str
    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    negative: bool = False
    source: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"{self.key}: image size must be positive")
        if self.negative and (self.boxes or self.labels):
            raise ValueError(f"{self.key}: a negative image cannot have boxes or labels")

    @property
    def labelled(self) -> bool:
        return self.negative or bool(self.boxes) or bool(self.labels)

    def class_names(self) -> list[str]:
        """Distinct classes on this image, in first-seen order."""
        names = [box.label for box in self.boxes] + list(self.labels)
        return list(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class Dataset:
    type: DatasetType
    labels: list[str]
    images: list[DatasetImage]

    def __post_init__(self) -> None:
        if self.type not in DATASET_TYPES:
            raise ValueError(f"unknown dataset type {self.type!r}")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be unique")
        known = set(self.labels)
        for image in self.images:
            unknown = set(image.class_names()) - known
            if unknown:
                raise ValueError(f"{image.key}: labels not in the dataset: {sorted(unknown)}")


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What a reader found, plus every record it left out when `skip_invalid` was set."""

    dataset: Dataset
    skipped: list[FormatError] = field(default_factory=list)
