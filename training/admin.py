"""Training runs for operators: read-only (a run changes by its worker, the reaper or Cancel)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from annotator.admin import ReadOnlyAdmin
from training.models import Artifact, Run


class ArtifactInline(admin.TabularInline):
    model = Artifact
    fields = ("name", "key", "size_bytes", "content_type", "verified", "verification_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "project", "kind", "status", "created_by", "attempts", "worker", "created_at", "finished_at")
    list_filter = ("status", "kind")
    search_fields = ("project__name", "worker", "error")
    list_select_related = ("project", "created_by")
    raw_id_fields = ("project", "created_by", "base_run")
    date_hierarchy = "created_at"
    inlines = [ArtifactInline]
