"""Broadcasts to a project's websocket group, sent only once the data is committed.

The project websocket (annotator/consumers.py) forwards each broadcast to browsers as
`{"type": "event", "event": NAME, "payload": {...}}`. `EVENTS` is the whole catalogue of
NAMEs, each with its meaning; a broadcast outside it is a bug, and the frontend's
`ProjectEvent` union (frontend/src/lib/events.ts) names exactly the same events
(tests/annotator/test_events_catalogue.py checks both). Adding an event means adding it here
and there, in the same change.

`job.progress` carries every background job (sync, import, export, training run, prediction,
auto-label): its payload always has `kind` ("sync" | "import" | "export" | "run" | "predict" |
"autolabel"), `id` and `status` ("queued" |
"running" | "succeeded" | "failed" | "cancelled"); the other keys are that kind's REST
representation, possibly partial (a running training run's frequent ticks send only `progress`,
`point` and `eval_point`). Clients merge the payload into their copy of the job identified by
(kind, id); an id they do not know yet is a new job.

Presence and draft messages (`hello`, `presence`, `left`, `draft`, `pong`, `error`) are the
consumer's own and are not events.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.sockets import send_to_group

EVENTS: dict[str, str] = {
    "annotations.changed": "an image's annotations changed: its id and new version",
    "image.created": "an image was added to the project: its id and key",
    "image.deleted": "an image was deleted: its id",
    "image.reviewed": "an image was approved, rejected or sent back to review: status, version, review",
    "images.imported": "a dataset import wrote its rows: how many images were created and annotated",
    "job.progress": "a background job (sync, import, export, run, predict, autolabel) was created, progressed or ended",
    "labels.changed": "the project's labels changed: all of them, and how many images moved",
    "membership.changed": "a member's role changed (an ownership transfer too): the user and the new role",
    "membership.removed": "a member left or was removed: the user",
    "suggestions.changed": "the assist model's suggestions on some images changed (new, or decided): run and image ids",
}


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def broadcast(project_id: int, event: str, payload: dict[str, Any]) -> None:
    """Tell everyone in the project about `event` after the current transaction commits."""
    message = {"type": "project.event", "event": event, "payload": payload}
    # A lost broadcast only delays the others until they resync.
    transaction.on_commit(lambda: send_to_group(project_group(project_id), message))
