"""The project websocket through the real ASGI stack: session cookie, origin check, router.

Each test is a sync function driving an async scenario with async_to_sync, so the
consumer's database calls run on the test's own connection and see its rows.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from annotator.models import Image, Membership
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from config.asgi import application
from tests.factories import ImageFactory, LabelFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")


def signed_in(user, origin: tuple = ORIGIN) -> list[tuple[bytes, bytes]]:
    """Handshake headers: the browser's Origin and, for a user, their session cookie."""
    headers = [origin]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


def socket(headers: list, project_id: int) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/projects/{project_id}/", headers=headers)


async def joined(headers: list, project_id: int) -> WebsocketCommunicator:
    """A connected socket whose greeting has been read."""
    ws = socket(headers, project_id)
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_json_from())["type"] == "hello"
    return ws


async def refused_with(ws: WebsocketCommunicator) -> int:
    """The close code of a refused handshake: accepted only to be closed at once, with nothing
    sent first (a browser learns the code of a closed socket, never that of a refused handshake)."""
    connected, _ = await ws.connect()
    assert connected
    closing = await ws.receive_output()
    assert closing["type"] == "websocket.close", closing
    assert await ended(ws)  # without waiting for a goodbye that a refused client may never send
    return closing["code"]


async def drain(ws: WebsocketCommunicator) -> list[dict]:
    out = []
    while not await ws.receive_nothing(timeout=0.05):
        out.append(await ws.receive_json_from())
    return out


async def ended(ws: WebsocketCommunicator, timeout: float = 1.0) -> bool:
    """Whether the socket's consumer stops by itself within `timeout` (the client says nothing)."""
    done, _ = await asyncio.wait({ws.future}, timeout=timeout)
    return bool(done)


def first_box_save(project) -> tuple[Image, Callable[[Any], Awaitable[Image]]]:
    """A new image of `project` and a coroutine function saving one box on it as `user` (version 1)."""
    image = ImageFactory(project=project)
    data = AnnotationSet(
        boxes=[BoxData(LabelFactory(project=project).pk, 0.1, 0.1, 0.5, 0.5)], label_ids=[], negative=False
    )
    save = database_sync_to_async(save_annotations)

    async def save_as(user) -> Image:
        return await save(image, data, base_version=0, user=user)

    return image, save_as


def changed(image: Image) -> dict:
    """The event every member's socket gets for `image`'s first save."""
    return {"type": "event", "event": "annotations.changed", "payload": {"image": image.pk, "version": 1}}


@pytest.mark.parametrize("role", ["outsider", "anonymous"])
def test_non_members_are_refused_at_connect(personas, role):
    headers = signed_in(personas.of(role))

    async def scenario():
        code = await refused_with(socket(headers, personas.project.pk))
        assert code == (4401 if role == "anonymous" else 4404)

    async_to_sync(scenario)()


def test_unknown_project_and_foreign_origin_are_refused(personas):
    owner, foreign = signed_in(personas.owner), signed_in(personas.owner, (b"origin", b"https://evil.example"))

    async def scenario():
        assert await refused_with(socket(owner, 999_999)) == 4404
        refused = socket(foreign, personas.project.pk)
        connected, _ = await refused.connect()
        assert not connected
        await refused.disconnect()  # channels' origin check waits for the browser's goodbye

    async_to_sync(scenario)()


def test_member_is_greeted_with_who_they_are(personas):
    headers = signed_in(personas.viewer)

    async def scenario():
        ws = socket(headers, personas.project.pk)
        assert (await ws.connect())[0]
        hello = await ws.receive_json_from()
        assert hello["type"] == "hello"
        assert hello["user"] == {"id": personas.viewer.pk, "name": personas.viewer.name}
        await ws.disconnect()

    async_to_sync(scenario)()


def test_viewer_may_be_present_but_not_send_edits(personas):
    image = ImageFactory(project=personas.project)

    as_viewer = signed_in(personas.viewer)

    async def scenario():
        viewer = await joined(as_viewer, personas.project.pk)
        await viewer.send_json_to({"type": "presence", "image": image.pk})
        assert await drain(viewer) == []
        box = {"id": str(uuid.uuid4()), "label": 1, "x": 0.1, "y": 0.1, "x2": 0.2, "y2": 0.2}
        await viewer.send_json_to({"type": "draft", "image": image.pk, "boxes": [box]})
        error = await viewer.receive_json_from()
        assert (error["type"], error["code"]) == ("error", "forbidden")
        await viewer.disconnect()

    async_to_sync(scenario)()


def test_drafts_and_presence_reach_the_other_members(personas):
    image = ImageFactory(project=personas.project)
    box = {"id": str(uuid.uuid4()), "label": 7, "x": 0.1, "y": 0.2, "x2": 0.3, "y2": 0.4}

    as_annotator = signed_in(personas.annotator)
    as_owner = signed_in(personas.owner)

    async def scenario():
        annotator = await joined(as_annotator, personas.project.pk)
        await annotator.send_json_to({"type": "presence", "image": image.pk})
        assert await annotator.receive_nothing(timeout=0.1)  # let it announce before the owner joins
        owner = await joined(as_owner, personas.project.pk)
        # The newcomer hears where everyone already is.
        seen = await owner.receive_json_from()
        assert seen == {"type": "presence", "channel": seen["channel"], "image": image.pk,
                        "user": {"id": personas.annotator.pk, "name": personas.annotator.name}}  # fmt: skip
        await drain(annotator)
        await annotator.send_json_to({"type": "draft", "image": image.pk, "boxes": [box]})
        draft = await owner.receive_json_from()
        assert (draft["type"], draft["image"], draft["boxes"]) == ("draft", image.pk, [box])
        assert await drain(annotator) == []  # nobody hears their own draft back
        await annotator.disconnect()
        assert (await owner.receive_json_from()) == {"type": "left", "channel": seen["channel"]}
        await owner.disconnect()

    async_to_sync(scenario)()


def test_committed_annotation_changes_are_broadcast_to_members(personas):
    image, save = first_box_save(personas.project)

    as_outsider = signed_in(personas.outsider)
    as_viewer = signed_in(personas.viewer)

    async def scenario():
        viewer = await joined(as_viewer, personas.project.pk)
        other = await joined(as_outsider, personas.other_project.pk)
        await save(personas.annotator)
        assert await viewer.receive_json_from() == changed(image)
        assert await other.receive_nothing(timeout=0.1)  # another project's socket hears nothing
        await viewer.disconnect()
        await other.disconnect()

    async_to_sync(scenario)()


class PresenceQueueFullLayer(InMemoryChannelLayer):
    """A layer whose newcomers' queues are full: every direct presence answer is refused."""

    async def send(self, channel: str, message: dict) -> None:
        if message["type"] == "presence.update":
            raise ChannelFull()
        await super().send(channel, message)


def test_a_full_newcomer_queue_costs_a_presence_marker_not_a_socket(personas, settings):
    # As when dozens of sockets (re)join at once and the newcomer's queue overflows with answers.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.PresenceQueueFullLayer"}}
    image, save = first_box_save(personas.project)
    as_annotator, as_owner = signed_in(personas.annotator), signed_in(personas.owner)

    async def scenario():
        annotator = await joined(as_annotator, personas.project.pk)
        owner = await joined(as_owner, personas.project.pk)  # the annotator's answer is refused
        assert await owner.receive_nothing(timeout=0.1)
        await save(personas.owner)
        assert await annotator.receive_json_from() == changed(image)  # the answering socket is still open
        assert await owner.receive_json_from() == changed(image)
        await annotator.disconnect()
        await owner.disconnect()

    async_to_sync(scenario)()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the Redis channel layer (REDIS_URL) is under test")
def test_an_idle_socket_outlives_the_redis_layers_blocking_read(personas):
    # channels_redis waits for messages in 5 s BZPOPMINs; a client read timeout no longer than
    # that failed the idle process's receive and closed a socket every 5 s.
    image, save = first_box_save(personas.project)
    as_viewer = signed_in(personas.viewer)
    idle = get_channel_layer().brpop_timeout + 1.5

    async def scenario():
        viewer = await joined(as_viewer, personas.project.pk)
        assert await viewer.receive_nothing(timeout=idle)
        await save(personas.annotator)
        assert await viewer.receive_json_from(timeout=5) == changed(image)
        await viewer.disconnect()

    async_to_sync(scenario)()


def test_every_message_rechecks_membership(personas):
    image = ImageFactory(project=personas.project)
    remove = database_sync_to_async(lambda: Membership.objects.filter(user=personas.annotator).delete())

    as_annotator = signed_in(personas.annotator)

    async def scenario():
        ws = await joined(as_annotator, personas.project.pk)
        await remove()
        await ws.send_json_to({"type": "presence", "image": image.pk})
        error = await ws.receive_json_from()
        assert (error["type"], error["code"]) == ("error", "not_member")
        assert (await ws.receive_output())["code"] == 4404
        assert await ended(ws)

    async_to_sync(scenario)()


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": "teleport"}, "unknown_message"),
        (["not", "an", "object"], "invalid_message"),
        ({"type": "presence", "image": "seven"}, "invalid_message"),
        ({"type": "draft", "image": None, "boxes": []}, "invalid_message"),
        ({"type": "draft", "image": 1, "boxes": [{"id": "a", "label": 1, "x": "NaN", "y": 0, "x2": 1, "y2": 1}]},
         "invalid_message"),
    ],
)  # fmt: skip
def test_malformed_messages_are_refused_with_a_code(personas, message, code):
    as_owner = signed_in(personas.owner)

    async def scenario():
        ws = await joined(as_owner, personas.project.pk)
        await ws.send_json_to(message)
        assert (await ws.receive_json_from())["code"] == code
        await ws.disconnect()

    async_to_sync(scenario)()


def test_presence_on_another_projects_image_is_refused(personas):
    foreign = ImageFactory(project=personas.other_project)

    as_owner = signed_in(personas.owner)

    async def scenario():
        ws = await joined(as_owner, personas.project.pk)
        await ws.send_json_to({"type": "presence", "image": foreign.pk})
        assert (await ws.receive_json_from())["code"] == "unknown_image"
        await ws.disconnect()

    async_to_sync(scenario)()
