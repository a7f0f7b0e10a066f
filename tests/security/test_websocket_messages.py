"""Hostile websocket messages get an error message and the socket lives on (issue #14, item 5).

Before, a message Python's json could not take (20k-deep nesting, plain text, a binary
frame) or a number beyond what the database or a float holds raised inside the consumer
and ended the connection. A message too long, or too many of them, is dropped unread with its
own error code, and the socket lives on too.
"""

from __future__ import annotations

import asyncio
import runpy
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync

from annotator import consumers
from tests.annotator.test_consumers import drain, joined, refused_with, signed_in, socket
from tests.factories import ImageFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = 20_000  # 40,000 characters: under MAX_MESSAGE_CHARS, so the parser meets it

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
        assert await refused_with(socket(headers, 10**23)) == 4404

    async_to_sync(scenario)()


def test_a_message_over_the_size_limit_is_refused_unread(personas):
    headers = signed_in(personas.annotator)

    async def scenario():
        ws = await joined(headers, personas.project.pk)
        long = '{"type": "ping", "pad": "' + "x" * consumers.MAX_MESSAGE_CHARS + '"}'
        await ws.send_to(text_data=long)
        error = await ws.receive_json_from()
        assert (error["type"], error["code"]) == ("error", "message_too_large")
        await ws.send_json_to({"type": "ping"})
        assert (await ws.receive_json_from()) == {"type": "pong"}
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_flood_is_dropped_past_the_burst_with_one_error_and_the_socket_recovers(personas, monkeypatch):
    monkeypatch.setattr(consumers, "MESSAGE_BURST", 5.0)
    monkeypatch.setattr(consumers, "MESSAGES_PER_SECOND", 5.0)
    headers = signed_in(personas.annotator)

    async def scenario():
        ws = await joined(headers, personas.project.pk)
        for _ in range(30):  # within a few milliseconds: the bucket refills a fraction of a message
            await ws.send_json_to({"type": "ping"})
        answers = await drain(ws)
        pongs = [a for a in answers if a == {"type": "pong"}]
        errors = [a for a in answers if a["type"] == "error"]
        assert 5 <= len(pongs) <= 6, answers
        assert [e["code"] for e in errors] == ["too_many_messages"]
        await asyncio.sleep(0.5)  # 2.5 messages' worth refilled
        await ws.send_json_to({"type": "ping"})
        assert (await ws.receive_json_from()) == {"type": "pong"}
        await ws.disconnect()

    async_to_sync(scenario)()


def test_the_production_server_closes_a_frame_past_four_times_the_message_limit():
    """Characters of up to 4 bytes: every message the consumer answers with an error gets to it."""
    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "docker" / "gunicorn.conf.py"))
    assert config["worker_class"].CONFIG_KWARGS["ws_max_size"] == 4 * consumers.MAX_MESSAGE_CHARS
