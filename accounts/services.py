"""What follows from an account's credentials changing.

A new (or disabled) password ends every way in that the old one opened:
`password_changed` deletes the account's API tokens, and Django's session
hash — derived from the password hash — logs out every session on its next
request. Views that keep the person's own session call
`update_session_auth_hash` (the profile page does); a reset keeps none.
"""

from __future__ import annotations

from rest_framework.authtoken.models import Token

from accounts.models import User


def password_changed(user: User) -> None:
    """Revoke what the old password gave out. Called by `User.save` whenever a new password is saved."""
    Token.objects.filter(user=user).delete()
