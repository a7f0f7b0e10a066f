"""An open project websocket ends with its sign-in: logout, password change, deactivation.

Real sessions (Django's test client logs in through the login page), the real ASGI stack with
its session cookie, and the HTTP views a person uses. A socket whose session changed closes with
4001, after which a browser reconnects with the cookie it holds then: the tests reconnect the
same way and show who is let in again (a session only rotated) and who is refused (a sign-in
that ended), and that other sessions of the account keep their sockets.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.sockets import still_signed_in
from annotator import consumers
from config.asgi import application
from tests.annotator.test_consumers import ORIGIN, ended, joined

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery"  # the factories' password
NEW_PASSWORD = "a new long phrase 7"


def browser(user) -> Client:
    """A logged-in browser (its cookie jar follows the session as the server changes it)."""
    client = Client()
    assert client.post("/accounts/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def cookie(client: Client) -> list[tuple[bytes, bytes]]:
    """The websocket handshake headers the browser sends now."""
    headers = [ORIGIN]
    if client.cookies.get("sessionid") and client.cookies["sessionid"].value:
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


async def let_in_again(client: Client, project_id: int) -> bool:
    """Whether the browser's reconnect (after a 4001) is let in; else it was refused with 4401."""
    ws = WebsocketCommunicator(application, f"/ws/projects/{project_id}/", headers=cookie(client))
    connected, _ = await ws.connect()
    assert connected  # a refusal too is accepted first, then closed with its code
    first = await ws.receive_output()
    if first["type"] == "websocket.close":
        assert first["code"] == consumers.CLOSE_NOT_AUTHENTICATED
        assert await ended(ws)
        return False
    assert json.loads(first["text"])["type"] == "hello"
    await ws.disconnect()
    return True


async def closed_with(ws: WebsocketCommunicator) -> int:
    """The close code of a socket the server ends, once its consumer has stopped."""
    message = await ws.receive_output(timeout=5)
    while message["type"] != "websocket.close":  # presence chatter of the other socket
        message = await ws.receive_output(timeout=5)
    assert await ended(ws)
    return message["code"]


async def still_open(ws: WebsocketCommunicator) -> bool:
    await ws.send_json_to({"type": "ping"})
    while (answer := await ws.receive_json_from(timeout=5))["type"] != "pong":
        assert answer["type"] in {"presence", "left"}
    return not await ended(ws, timeout=0.1)


def test_a_password_change_ends_the_other_sessions_sockets_and_the_changer_reconnects(personas):
    user, project = personas.annotator, personas.project
    changer, other = browser(user), browser(user)
    change = database_sync_to_async(
        lambda: changer.post(
            "/accounts/profile/",
            {
                "change_password": "1",
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
    )

    async def scenario():
        mine = await joined(cookie(changer), project.pk)
        theirs = await joined(cookie(other), project.pk)
        assert (await change()).status_code == 302
        assert await closed_with(theirs) == consumers.CLOSE_SESSION_CHANGED
        assert not await let_in_again(other, project.pk)
        # Django keeps the changer signed in under a new session key: their tab's socket, on
        # the old key, closes too, and its reconnect with the browser's new cookie is let in.
        assert await closed_with(mine) == consumers.CLOSE_SESSION_CHANGED
        assert await let_in_again(changer, project.pk)

    async_to_sync(scenario)()


def test_a_password_set_elsewhere_closes_every_socket(personas):
    """A reset link or an admin sets the password without keeping any session."""
    user, project = personas.annotator, personas.project
    client = browser(user)

    def reset() -> None:
        user.set_password(NEW_PASSWORD)
        user.save()

    async def scenario():
        ws = await joined(cookie(client), project.pk)
        await database_sync_to_async(reset)()
        assert await closed_with(ws) == consumers.CLOSE_SESSION_CHANGED
        assert not await let_in_again(client, project.pk)

    async_to_sync(scenario)()


def test_logout_closes_that_sessions_socket_only(personas):
    user, project = personas.annotator, personas.project
    leaving, staying = browser(user), browser(user)
    log_out = database_sync_to_async(lambda: leaving.post("/accounts/logout/"))

    async def scenario():
        gone = await joined(cookie(leaving), project.pk)
        stays = await joined(cookie(staying), project.pk)
        assert (await log_out()).status_code == 302
        assert await closed_with(gone) == consumers.CLOSE_SESSION_CHANGED
        assert not await let_in_again(leaving, project.pk)
        assert await still_open(stays)
        await stays.disconnect()

    async_to_sync(scenario)()


def test_deactivating_an_account_closes_its_sockets(personas):
    user, project = personas.annotator, personas.project
    client = browser(user)

    def deactivate() -> None:
        user.is_active = False
        user.save()

    async def scenario():
        ws = await joined(cookie(client), project.pk)
        await database_sync_to_async(deactivate)()
        assert await closed_with(ws) == consumers.CLOSE_SESSION_CHANGED
        assert not await let_in_again(client, project.pk)

    async_to_sync(scenario)()


def test_a_session_ended_without_a_message_closes_the_socket_on_its_next_message(personas, monkeypatch):
    """The fallback for a lost message: an expired or deleted session is noticed on the next
    message after EVENT_RECHECK_SECONDS."""
    monkeypatch.setattr(consumers, "EVENT_RECHECK_SECONDS", 0.0)
    user, project = personas.annotator, personas.project
    client = browser(user)
    forget = database_sync_to_async(lambda: Session.objects.all().delete())

    async def scenario():
        ws = await joined(cookie(client), project.pk)
        await forget()
        await ws.send_json_to({"type": "ping"})
        assert await closed_with(ws) == consumers.CLOSE_SESSION_CHANGED

    async_to_sync(scenario)()


def test_still_signed_in_reads_the_session_afresh(personas):
    user = personas.annotator
    client = browser(user)
    key = client.cookies["sessionid"].value
    assert still_signed_in(user.pk, key)
    assert not still_signed_in(personas.viewer.pk, key)  # another account's session
    assert not still_signed_in(user.pk, None)
    assert not still_signed_in(user.pk, "no-such-session")
    client.post("/accounts/logout/")
    assert not still_signed_in(user.pk, key)
