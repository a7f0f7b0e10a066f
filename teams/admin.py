from django.contrib import admin

from teams.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "project", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    search_fields = ("email", "project__name")
    readonly_fields = ("token_hash",)
