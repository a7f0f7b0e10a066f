"""Broadcasts to a project's websocket group, sent only once the data is committed."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # the write is committed; a lost broadcast only delays others until they resync
        log.exception("Broadcast to %s failed", group)


def broadcast(project_id: int, event: str, payload: dict[str, Any]) -> None:
    """Tell everyone in the project about `event` after the current transaction commits."""
    message = {"type": "project.event", "event": event, "payload": payload}
    transaction.on_commit(lambda: _send(project_group(project_id), message))
