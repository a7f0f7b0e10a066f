"""What follows from an account's credentials changing.

A new (or disabled) password ends every way in that the old one opened:
`password_changed` deletes the account's API tokens, and Django's session
hash — derived from the password hash — logs out every session on its next
request. Views that keep the person's own session call
`update_session_auth_hash` (the profile page does); a reset keeps none. The account's open
websockets re-check their sessions at once (`sockets.recheck_sockets`): a socket has no next
request to be logged out on.
"""

from __future__ import annotations

from rest_framework.authtoken.models import Token

from accounts.sockets import recheck_sockets


def password_changed(user_id: int) -> None:
    """Revoke what the old password gave out. Called by `User.save` whenever a new password is saved.

    It takes the account's id, not the User: the model calls this, so this module stays below
    accounts.models and never imports it back.
    """
    Token.objects.filter(user_id=user_id).delete()
    recheck_sockets(user_id)
