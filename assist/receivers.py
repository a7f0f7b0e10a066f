"""Assist hears of the domain's changes here (annotator/domain_events.py), connected in AssistConfig.ready().

- `annotations_changed`: suggestions learn whether people accepted, edited or dropped them (provenance.py).
- `images_added`: with auto-suggest on, arriving images are predicted (services.suggest_arrivals).
"""

from __future__ import annotations

from typing import Any

from annotator import domain_events


def _annotations_changed(sender: Any, project_id: int, image_ids: list[int], **kwargs: Any) -> None:
    from assist import provenance

    provenance.record_decisions(project_id, image_ids)


def _images_added(sender: Any, project_id: int, image_ids: list[int], **kwargs: Any) -> None:
    from assist import services

    services.suggest_arrivals(project_id, image_ids)


def connect() -> None:
    domain_events.annotations_changed.connect(_annotations_changed, dispatch_uid="assist.provenance")
    domain_events.images_added.connect(_images_added, dispatch_uid="assist.auto_suggest")
