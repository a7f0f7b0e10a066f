"""The operators' view of projects, members, images and jobs: read-mostly.

Everything that changes what a project holds goes through its services (which keep the
one-owner rule, the image counts, the bucket and the websocket in step), so the admin never
adds or deletes these rows and edits none of their service-kept fields: roles change on the
project's Team page or through the API, ownership moves with "Transfer ownership", images
and jobs change by their own work. Lists are built for big tables: related rows joined in
the same query, foreign keys as raw ids, no full count of a filtered list.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from annotator.models import ExportJob, Image, ImportJob, Label, Membership, Project, SyncJob


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only: rows are made, changed and removed by the app's services, never here."""

    show_full_result_count = False  # COUNT(*) over every image of the instance on each page: no

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class LabelInline(admin.TabularInline):
    model = Label
    fields = ("name", "color", "order", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    """Settings an operator may fix (name, the two team switches); the rest is read-only."""

    list_display = ("name", "type", "owner", "bucket", "prefix", "created_at")
    list_filter = ("type", "annotators_create_labels", "reviewers_review_own_work")
    search_fields = ("name", "owner__email", "bucket")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = ("type", "owner", "bucket", "prefix", "created_at", "updated_at")
    fields = ("name", "annotators_create_labels", "reviewers_review_own_work", *readonly_fields)
    inlines = [LabelInline]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # create_project makes the owner's membership with it

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the owner deletes on the Team page, with its confirmation


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Read-only: a role edited here would skip the one-owner rule and the members' notices."""

    list_display = ("project", "user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("project__name", "user__email", "user__display_name")
    list_select_related = ("project", "user")
    raw_id_fields = ("project", "user")


@admin.register(Image)
class ImageAdmin(ReadOnlyAdmin):
    list_display = ("key", "project", "status", "width", "height", "missing", "annotated_by", "annotated_at")
    list_filter = ("status", "missing", "negative")
    search_fields = ("key", "sha256", "project__name")
    list_select_related = ("project", "annotated_by")
    raw_id_fields = ("project", "uploaded_by", "annotated_by", "last_review", "labels")
    exclude = ("last_write_key",)


class JobAdmin(ReadOnlyAdmin):
    search_fields = ("project__name", "error")
    date_hierarchy = "created_at"


@admin.register(ImportJob)
class ImportJobAdmin(JobAdmin):
    list_display = ("pk", "project", "format", "file_name", "status", "phase", "done", "total", "created_at")
    list_filter = ("status", "format")
    list_select_related = ("project", "created_by")
    raw_id_fields = ("project", "created_by")


@admin.register(ExportJob)
class ExportJobAdmin(JobAdmin):
    list_display = ("pk", "project", "format", "status", "size_bytes", "created_at", "finished_at")
    list_filter = ("status", "format")
    list_select_related = ("project", "created_by")
    raw_id_fields = ("project", "created_by")


@admin.register(SyncJob)
class SyncJobAdmin(JobAdmin):
    list_display = ("pk", "project", "status", "listed", "added", "missing", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("project", "requested_by")
    raw_id_fields = ("project", "requested_by")
