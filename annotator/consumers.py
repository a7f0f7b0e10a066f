"""The project websocket: presence, live drafts, and the project's broadcast events.

The socket is never a persistence path: annotations are written through the REST
API only, and a reconnecting client resyncs from it. What travels here is
ephemeral (who looks at which image, a box being dragged) plus the events that
`annotator.events.broadcast` sends after a commit.

Every message a client sends is bounded first: at most `MAX_MESSAGE_CHARS` long and
`MESSAGES_PER_SECOND` a second on average (a token bucket of `MESSAGE_BURST`), so a member
cannot flood the others' browsers or this process; what is over is dropped unread.

Permissions come from the same table as the API (`project_for`): checked at
connect and again for every message a client sends, so a member who is removed
or demoted loses access on their next message, not at their next login. A socket
this side closes (refused, or no longer a member) leaves the group and stops at
once (`_end`), without waiting for a goodbye the client may never send. A refused handshake
is accepted and closed at once with its code (4401 log in, 4404 no access), the only way a
browser sees the code (`_refuse_connection`).

The sign-in is re-checked too: a socket outlives no session. It joins its account's group, and
a logout, a password change or a deactivation tells that group to re-read each socket's own
session (accounts/sockets.py); the socket closes with 4001 unless Django would still accept
that session. 4001 is not final, unlike 4401: the browser reconnects with the cookie it holds
now, so a tab whose own session was only rotated (Django gives the session a password was
changed from a new key) is let in again, and one whose sign-in ended is refused (4401). As a
fallback for a lost message, the session is also re-read at most every
`EVENT_RECHECK_SECONDS` when the socket sends or forwards something.

Presence needs no shared store: a joining socket asks the group to re-announce,
every socket answers the newcomer directly, and a leaving socket says goodbye.
That works unchanged on the in-memory layer and on Redis across processes. An answer that
finds the newcomer's queue full is dropped: presence is a courtesy, and an exception there
would close the answering socket.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any, NoReturn

from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull, StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.sockets import account_group, still_signed_in
from annotator import nesting
from annotator.errors import CodedError
from annotator.events import project_group
from annotator.ids import MAX_ID
from annotator.models import Image
from annotator.permissions import Action, project_for

# Close codes in the application range (4000-4999): clients tell "log in" from "no access".
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_NOT_MEMBER = 4404
# The socket's session no longer signs its user in; reconnecting re-authenticates from the cookie.
CLOSE_SESSION_CHANGED = 4001
# Outbound events re-check membership at most this often, inbound messages always do; both
# re-read the session at most this often (a logout or password change re-reads it at once).
EVENT_RECHECK_SECONDS = 5.0
MAX_DRAFT_BOXES = 50
# A message longer than this is refused unread: a draft of MAX_DRAFT_BOXES boxes is about 6 KB.
# (The production server closes a connection whose frame passes 4 times this, docker/gunicorn.conf.py.)
MAX_MESSAGE_CHARS = 64 * 1024
# Each socket may send this many messages a second on average, in bursts of up to MESSAGE_BURST;
# the editor sends a draft at most every 100 ms, a presence per image and a ping every 30 s. The
# rest is dropped before it costs a query or reaches anyone, with one error a second at most.
MESSAGES_PER_SECOND = 20.0
MESSAGE_BURST = 40.0


class MessageRefused(CodedError):
    """A websocket message the sender may not send, or that makes no sense."""


@database_sync_to_async
def _authorise(user: Any, project_id: int, action: Action, image_id: int | None = None) -> str:
    """The member's role if they may do `action` (and the image is in the project)."""
    _project, role = project_for(user, project_id, action)
    if image_id is not None and not Image.objects.filter(project_id=project_id, pk=image_id).exists():
        raise MessageRefused("unknown_image", "That image is not in this project.")
    return str(role)


_signed_in = database_sync_to_async(still_signed_in)


def _image_id(content: dict) -> int | None:
    image = content.get("image")
    if image is None:
        return None
    if isinstance(image, bool) or not isinstance(image, int) or not 0 < image <= MAX_ID:
        raise MessageRefused("invalid_message", "'image' must be an image id.")
    return image


def _draft_boxes(content: dict) -> list[dict]:
    """A dragged box's outline, validated so nothing but numbers reaches other browsers."""
    boxes = content.get("boxes", [])
    if not isinstance(boxes, list) or len(boxes) > MAX_DRAFT_BOXES:
        raise MessageRefused("invalid_message", f"'boxes' must be a list of at most {MAX_DRAFT_BOXES}.")
    clean = []
    for box in boxes:
        try:
            coords = [float(box[k]) for k in ("x", "y", "x2", "y2")]
            label = int(box["label"])
            uid = str(box["id"])[:36]
        except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: float(10**400)
            raise MessageRefused("invalid_message", "Each draft box needs id, label, x, y, x2, y2.") from None
        if not all(math.isfinite(c) and -0.01 <= c <= 1.01 for c in coords):
            raise MessageRefused("invalid_message", "Draft coordinates are normalised to 0..1.")
        clean.append({"id": uid, "label": label, **dict(zip(("x", "y", "x2", "y2"), coords, strict=True))})
    return clean


class ProjectConsumer(AsyncJsonWebsocketConsumer):
    """One socket per browser tab on a project's labelling page."""

    async def connect(self) -> None:
        self.project_id = int(self.scope["url_route"]["kwargs"]["project_id"])
        self.user = self.scope.get("user")
        self.image: int | None = None
        self.joined = False
        if self.user is None or not self.user.is_authenticated:
            await self._refuse_connection(CLOSE_NOT_AUTHENTICATED)
        try:
            await _authorise(self.user, self.project_id, Action.VIEW)
        except Http404:
            await self._refuse_connection(CLOSE_NOT_MEMBER)
        self.group = project_group(self.project_id)
        self.account_group = account_group(self.user.pk)
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        self.checked_at = self.session_checked_at = self.allowance_at = time.monotonic()
        self.allowance = MESSAGE_BURST
        self.told_too_many_at = -math.inf
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(self.account_group, self.channel_name)
        self.joined = True
        await self.accept()
        await self.send_json({"type": "hello", "channel": self.channel_name, "user": self._who()})
        await self.channel_layer.group_send(self.group, {"type": "presence.sync", "channel": self.channel_name})

    async def disconnect(self, code: int) -> None:
        if not self.joined:
            return
        await self.channel_layer.group_send(self.group, {"type": "presence.left", "channel": self.channel_name})
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.channel_layer.group_discard(self.account_group, self.channel_name)

    async def _refuse_connection(self, code: int) -> NoReturn:
        """Refuse a handshake with ``code``: accepted only to be closed at once, because a browser
        never learns the code of a handshake refused outright (it reads 1006, as for a network
        error, and would retry for ever instead of asking to log in). Nothing is sent first."""
        await self.accept()
        await self._end(code)

    async def _end(self, code: int) -> NoReturn:
        """Close the socket from this side and stop now: leave the group and end the consumer
        instead of waiting for the client's goodbye, which a refused or removed client may
        never send (its channel-layer receive would run until then)."""
        await self.close(code=code)
        await self.disconnect(code)
        raise StopConsumer()

    async def _check_session(self, now: bool = False) -> None:
        """End the socket (4001) if its session no longer signs its user in; unless ``now``, only
        when the last look is ``EVENT_RECHECK_SECONDS`` old."""
        if not now and time.monotonic() - self.session_checked_at <= EVENT_RECHECK_SECONDS:
            return
        if not await _signed_in(self.user.pk, self.session_key):
            await self._end(CLOSE_SESSION_CHANGED)
        self.session_checked_at = time.monotonic()

    def _who(self) -> dict:
        return {"id": self.user.pk, "name": self.user.name}

    # --- messages from the browser -------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Bound, then parse with a depth limit: bad JSON gets an error message instead of ending
        the consumer."""
        if not self._allowed():
            if time.monotonic() - self.told_too_many_at >= 1.0:
                self.told_too_many_at = time.monotonic()
                await self._refuse(
                    "too_many_messages",
                    f"At most {MESSAGES_PER_SECOND:g} messages a second; the ones over were dropped.",
                )
            return
        if text_data is not None and len(text_data) > MAX_MESSAGE_CHARS:
            await self._refuse("message_too_large", f"Messages are at most {MAX_MESSAGE_CHARS} characters.")
            return
        try:
            content = nesting.loads(text_data) if text_data else None
        except ValueError:
            await self._refuse("invalid_message", "Messages are JSON objects with a 'type', not deeply nested.")
            return
        await self.receive_json(content, **kwargs)

    def _allowed(self) -> bool:
        """Take one message from the socket's token bucket; False when it is empty."""
        now = time.monotonic()
        self.allowance = min(MESSAGE_BURST, self.allowance + (now - self.allowance_at) * MESSAGES_PER_SECOND)
        self.allowance_at = now
        if self.allowance < 1.0:
            return False
        self.allowance -= 1.0
        return True

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._refuse("invalid_message", "Messages are JSON objects with a 'type'.")
            return
        handler = {"ping": self._ping, "presence": self._presence, "draft": self._draft}.get(content["type"])
        if handler is None:
            await self._refuse("unknown_message", f"Unknown message type {content['type']!r}.")
            return
        await self._check_session()
        try:
            await handler(content)
        except Http404:
            await self._refuse("not_member", "You are no longer a member of this project.")
            await self._end(CLOSE_NOT_MEMBER)
        except PermissionDenied as exc:
            await self._refuse("forbidden", str(exc))
        except MessageRefused as exc:
            await self._refuse(exc.code, exc.message)

    async def _refuse(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def _ping(self, content: dict) -> None:
        await _authorise(self.user, self.project_id, Action.VIEW)
        await self.send_json({"type": "pong"})

    async def _presence(self, content: dict) -> None:
        image = _image_id(content)
        await _authorise(self.user, self.project_id, Action.VIEW, image)
        self.image = image
        await self.channel_layer.group_send(self.group, self._presence_message())

    async def _draft(self, content: dict) -> None:
        """Someone's box in mid-drag, shown to the others before it is saved."""
        image = _image_id(content)
        if image is None:
            raise MessageRefused("invalid_message", "A draft names its image.")
        boxes = _draft_boxes(content)
        await _authorise(self.user, self.project_id, Action.ANNOTATE, image)
        await self.channel_layer.group_send(
            self.group,
            {"type": "draft.update", "channel": self.channel_name, "user": self._who(), "image": image, "boxes": boxes},
        )

    def _presence_message(self) -> dict:
        return {"type": "presence.update", "channel": self.channel_name, "user": self._who(), "image": self.image}

    # --- messages from the group ---------------------------------------------------

    async def presence_sync(self, message: dict) -> None:
        """A newcomer asks; answer them directly with where this socket is."""
        if message["channel"] != self.channel_name:
            # A crowd joined at once and the newcomer's queue is full: it misses one marker,
            # and this socket stays open.
            with contextlib.suppress(ChannelFull):
                await self.channel_layer.send(message["channel"], self._presence_message())

    async def presence_update(self, message: dict) -> None:
        if message["channel"] != self.channel_name:
            await self.send_json({"type": "presence", **{k: message[k] for k in ("channel", "user", "image")}})

    async def presence_left(self, message: dict) -> None:
        if message["channel"] != self.channel_name:
            await self.send_json({"type": "left", "channel": message["channel"]})

    async def draft_update(self, message: dict) -> None:
        if message["channel"] != self.channel_name:
            await self.send_json({"type": "draft", **{k: message[k] for k in ("channel", "user", "image", "boxes")}})

    async def session_recheck(self, message: dict) -> None:
        """The account logged out, changed its password or was deactivated (accounts/sockets.py)."""
        await self._check_session(now=True)

    async def project_event(self, message: dict) -> None:
        """A committed change (annotations, images); forwarded while the user is still signed in
        and a member."""
        await self._check_session()
        about_me = message["event"].startswith("membership.") and message["payload"].get("user") == self.user.pk
        if about_me or time.monotonic() - self.checked_at > EVENT_RECHECK_SECONDS:
            try:
                await _authorise(self.user, self.project_id, Action.VIEW)
            except Http404:
                await self._end(CLOSE_NOT_MEMBER)
            self.checked_at = time.monotonic()
        await self.send_json({"type": "event", "event": message["event"], "payload": message["payload"]})
