"""Hostile websocket messages get an error message and the socket lives on (issue #14, item 5).

Before, a message Python's json could not take (50k-deep nesting, plain text, a binary
frame) or a number beyond what the database or a float holds raised inside the consumer
and ended the connection.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from tests.annotator.test_consumers import ended, joined, signed_in, socket
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = 50_000

HOSTILE = {
    "50k-deep JSON": {"text_data": "[" * DEEP + "]" * DEEP},
    "deep object inside a message": {"text_data": '{"type": "presence", "image": ' + "[" * 900 + "]" * 900 + "}"},
    "not JSON": {"text_data": "hello"},
    "binary frame": {"bytes_data": b"\x00\x01"},
    "image id 10**30": {"text_data": '{"type": "presence", "image": 1' + "0" * 30 + "}"},
    "draft coordinate 10**400": {
        "text_data": '{"type": "draft", "image": 1, "boxes": [{"id": "a", "label": 1, "x": 0, "y": 0, "x2": 1'
        + "0" * 400
        + ', "y2": 1}]}'
    },
}


@pytest.mark.parametrize("frame", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_message_is_answered_with_an_error_and_the_socket_stays_open(personas, frame):
    ImageFactory(project=personas.project)
    headers = signed_in(personas.annotator)

    async def scenario():
        ws = await joined(headers, personas.project.pk)
        await ws.send_to(**frame)
        error = await ws.receive_json_from()
        assert error["type"] == "error" and error["code"] == "invalid_message", error
        await ws.send_json_to({"type": "ping"})
        assert (await ws.receive_json_from()) == {"type": "pong"}
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_project_id_beyond_64_bits_is_refused_at_connect(personas):
    headers = signed_in(personas.owner)

    async def scenario():
        ws = socket(headers, 10**23)
        assert await ws.connect() == (False, 4404)
        assert await ended(ws)

    async_to_sync(scenario)()
