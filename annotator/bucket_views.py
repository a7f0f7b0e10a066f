"""Pages for bringing your own bucket: create a project from one, and a project's storage settings.

Both pages are forms over the storage API (frontend/src/bucket.ts); the views only
authorise and hand the template what the form starts with.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotator.access import project_page
from annotator.api.bucket_serializers import CREDENTIAL_MAX_LENGTH, BucketConnectionSerializer
from annotator.models import AddressingStyle, Project, ProjectType, Role
from annotator.permissions import Action

_INTERVALS = [(0, "never: I press Sync"), (15, "15 minutes"), (60, "hour"), (360, "6 hours"), (1440, "day")]


def _form_context() -> dict:
    return {
        "styles": AddressingStyle.choices,
        "intervals": _INTERVALS,
        "allow_private": settings.ANNOTATOR_ALLOW_PRIVATE_ENDPOINTS,
        "credential_max": CREDENTIAL_MAX_LENGTH,
    }


@login_required
def project_from_bucket(request: HttpRequest) -> HttpResponse:
    return render(request, "annotator/bucket_new.html", _form_context() | {"types": ProjectType.choices})


@project_page({"GET": Action.MANAGE_PROJECT})
def project_bucket(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    connection = getattr(project, "bucket_connection", None)
    context = {
        "project": project,
        "connection": BucketConnectionSerializer(connection).data if connection else None,
    }
    return render(request, "annotator/project_bucket.html", _form_context() | context)
