from django.contrib import admin

from annotator.admin import ReadOnlyAdmin
from teams.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Read-only: invitations are sent, resent and revoked on the Team page (links, e-mail, throttle)."""

    list_display = ("email", "project", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("email", "project__name")
    list_select_related = ("project",)
    raw_id_fields = ("project", "invited_by", "accepted_by")
    exclude = ("token_hash",)
