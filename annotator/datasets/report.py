"""What a dataset import did, filled in by each phase as it runs.

Its own module so that the phases (importing.py reads and stores, db_writes.py writes the rows)
both fill it in without importing each other: importing.py calls db_writes.py, never the reverse.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ImportReport:
    """What an import did; `skipped` lists every record left out (skip_invalid only)."""

    format: str
    images: int = 0  # dataset images now in the project (created + matched)
    created: int = 0  # new image rows
    matched: int = 0  # already in the project under the same key with the same bytes
    renamed: int = 0  # a different image already had the key: stored as name-2.jpg etc.
    annotated: int = 0  # images whose annotations were written
    kept: int = 0  # already annotated in the project: the project's annotations win
    boxes: int = 0
    labels: int = 0  # distinct labels in the dataset
    labels_created: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
