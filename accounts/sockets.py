"""An account's open websockets re-check their sign-in whenever it may have ended.

A websocket is authenticated once, by its session cookie at the handshake; Django re-checks a
session on every HTTP request, but nothing re-reads it for a socket that stays open. So each
project socket (annotator/consumers.py) also joins its account's group, `account_group`, and
`recheck_sockets` tells that group to re-read its session when the sign-in may have ended:

- a new or disabled password (`services.password_changed`): the session hash no longer matches,
  except in the session the person changed it from, which the profile page keeps;
- a logout (`views.LogoutView`, after Django flushed the session);
- an account deactivated (`User.save`).

Each socket then asks `still_signed_in` about its own session, exactly as Django's HTTP
middleware would (`django.contrib.auth.get_user`: the session exists, names this account, its
hash matches the current password, the backend still accepts the account), and closes if not.
Other sessions of the same account keep their sockets. The message is sent after the change
commits, so a socket never re-reads the session before the change is visible.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import auth
from django.db import transaction
from django.http import HttpRequest

log = logging.getLogger(__name__)

# The consumer method the message reaches (Channels maps "session.recheck" to session_recheck).
RECHECK = "session.recheck"


def account_group(user_id: int) -> str:
    return f"account-{user_id}"


def send_to_group(group: str, message: dict[str, Any]) -> None:
    """Send now; a failure is logged, never raised: the change it follows is already committed."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a lost message leaves the sockets to their periodic re-check
        log.exception("Message to %s failed", group)


def recheck_sockets(user_id: int) -> None:
    """Tell the account's open sockets to re-check their sessions once this transaction commits."""
    transaction.on_commit(lambda: send_to_group(account_group(user_id), {"type": RECHECK}))


def still_signed_in(user_id: int, session_key: str | None) -> bool:
    """Whether session ``session_key`` still signs in account ``user_id``, read afresh from the
    session store (a socket's own session object caches what it read at the handshake)."""
    if not session_key:
        return False
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return auth.get_user(request).pk == user_id
