"""A removed member's open websocket is closed by the membership.removed event; the others stay."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from annotator.models import Membership
from annotator.routing import websocket_urlpatterns
from teams.services.members import remove_member
from tests.annotator.test_consumers import ended, refused_with

pytestmark = pytest.mark.django_db(transaction=True)


async def _open(user, project_id: int) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/projects/{project_id}/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _next_close_or_event(communicator: WebsocketCommunicator, event: str) -> dict:
    """Skip presence chatter until the socket closes or forwards `event`."""
    while True:
        message = await communicator.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            return message
        if '"event": "' + event in message.get("text", ""):
            return message


def test_removed_members_socket_closes_and_others_stay(personas):
    project = personas.project

    async def scenario() -> tuple[dict, dict]:
        removed = await _open(personas.annotator, project.pk)
        staying = await _open(personas.viewer, project.pk)
        membership = await database_sync_to_async(Membership.objects.get)(project=project, user=personas.annotator)
        await database_sync_to_async(remove_member)(personas.admin, membership)
        closed = await _next_close_or_event(removed, "membership.removed")
        assert await ended(removed)  # its consumer left the group and stopped
        told = await _next_close_or_event(staying, "membership.removed")
        await staying.disconnect()
        return closed, told

    closed, told = async_to_sync(scenario)()

    assert closed == {"type": "websocket.close", "code": 4404}
    assert told["type"] == "websocket.send"


def test_outsider_cannot_connect(personas):
    async def scenario() -> int:
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/projects/{personas.project.pk}/")
        communicator.scope["user"] = personas.outsider
        return await refused_with(communicator)

    assert async_to_sync(scenario)() == 4404
