"""The permission matrix, generated: each project-scoped route, method and role, plus outsider and anonymous.

Nothing here lists routes or answers by hand. The routes come from the URL
resolver (and are checked against the OpenAPI schema), the action each method
needs comes from the view's own declaration (`ProjectScopedMixin.actions` or
`annotator.access.project_page`), and the answer comes from the role table
(`annotator.permissions.role_allows`) — the same data the code enforces. A new
project-scoped route without a declared action fails `test_route_declares_*`.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from annotator.access import declared_actions
from annotator.models import ExportJob, ImportJob, JobStatus, Role, SyncJob
from annotator.permissions import role_allows
from annotator.services import images as image_service
from annotator.storage import project_bucket
from assist.models import AutoLabelJob, PredictionJob
from teams.models import Invitation
from teams.services.invitations import invite
from tests.conftest import make_image_bytes
from tests.factories import LabelFactory, make_persona_project, member
from tests.teams.helpers import age_sends
from training.models import Artifact, Run, RunKind, RunStatus

pytestmark = pytest.mark.django_db

SUBJECTS = [*Role.values, "outsider", "anonymous"]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# What an allowed request may answer: success, a redirect, or a refusal of its (empty) body.
ACCEPTABLE_WHEN_ALLOWED = {400, 409, 415, 422, 428}


@dataclass(frozen=True)
class Route:
    route: str
    name: str
    kwargs: tuple[str, ...]
    callback: Callable[..., Any]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    def __str__(self) -> str:
        return self.route


def _walk(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            route = prefix + str(pattern.pattern)
            kwargs = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))
            yield Route(route, namespace + pattern.name, kwargs, pattern.callback)


def project_routes() -> list[Route]:
    return [r for r in _walk(get_resolver().url_patterns) if "project_id" in r.kwargs]


def supported_methods(route: Route) -> list[str]:
    """Methods the view implements: handler methods of a class view, the declared map of a function view."""
    view_class = getattr(route.callback, "view_class", None) or getattr(route.callback, "cls", None)
    if view_class is not None:
        return [m for m in METHODS if hasattr(view_class, m.lower())]
    return [m for m in METHODS if m in (declared_actions(route.callback) or {"GET": None})]


ROUTES = project_routes()


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_declares_an_action_for_every_method(route: Route):
    declared = declared_actions(route.callback)

    assert declared is not None, (
        f"{route} declares no method→action map: use ProjectScopedMixin.actions (API) "
        "or annotator.access.project_page (pages)"
    )
    missing = [m for m in supported_methods(route) if m not in declared]
    assert not missing, f"{route} implements {missing} without a declared action"


# --- one object of each kind, so every detail route resolves --------------------------------------


def _image(world: dict) -> int:
    outcome = image_service.add_images(world["project"], world["owner"], [("a.jpg", ContentFile(make_image_bytes()))])
    return outcome[0].image.pk


def _run(world: dict) -> int:
    run = Run.objects.create(
        project=world["project"], kind=RunKind.CLASSIFICATION, status=RunStatus.SUCCEEDED, created_by=world["owner"]
    )
    key = f"_annotator/runs/{run.pk}/model_web.zip"
    # A zip the run page's model routes can read: they check its sha256 and serve its members.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("model_web/model.json", "{}")
    data = out.getvalue()
    project_bucket(world["project"]).put(key, data, "application/zip")
    Artifact.objects.create(
        run=run, name="model_web", key=key, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
        content_type="application/zip",
    )  # fmt: skip
    world["name"] = "model_web"
    world["filename"] = "model.json"
    return run.pk


def _invitation(world: dict) -> int:
    invite(world["project"], world["owner"], ["invited@example.com"], Role.ANNOTATOR)
    invitation = Invitation.objects.get(project=world["project"])
    age_sends(invitation, 61)  # so that an allowed resend is not refused by the one-a-minute throttle
    return invitation.pk


# kwarg name → how to make the object it names. A route with another kwarg fails below: add a maker here.
MAKERS: dict[str, Callable[[dict], Any]] = {
    "project_id": lambda world: world["project"].pk,
    "image_id": _image,
    "label_id": lambda world: LabelFactory(project=world["project"]).pk,
    # The member that member routes act on: not the owner, so removing them is possible.
    "user_id": lambda world: member(world["project"], Role.ANNOTATOR).pk,
    "invitation_id": _invitation,
    "run_id": _run,
    "job_id": lambda world: SyncJob.objects.create(project=world["project"], status=JobStatus.SUCCEEDED).pk,
    "name": lambda world: world["name"],
    "filename": lambda world: world["filename"],
    "import_id": lambda world: ImportJob.objects.create(project=world["project"], format="voc").pk,
    "export_id": lambda world: ExportJob.objects.create(project=world["project"], format="coco").pk,
    "prediction_id": lambda world: PredictionJob.objects.create(project=world["project"], run_id=world["run_id"]).pk,
    "autolabel_id": lambda world: (
        AutoLabelJob.objects.create(project=world["project"], run_id=world["run_id"], threshold=0.5).pk
    ),
}


# Query strings a route needs to show anything, by URL name, from the same objects.
QUERIES: dict[str, Callable[[dict], dict]] = {
    "training:run-compare": lambda world: {"run": world["run_id"]},
}


def build_world() -> dict:
    personas = make_persona_project()
    world: dict[str, Any] = {"project": personas.project, "owner": personas.owner, "personas": personas}
    for name, make in MAKERS.items():
        world[name] = make(world)
    return world


def _client(route: Route, user) -> Client:
    client = APIClient() if route.is_api else Client()
    if user is not None:
        client.force_login(user)
    return client


CASES = [
    pytest.param(route, method, subject, id=f"{route} {method} {subject}")
    for route in ROUTES
    if declared_actions(route.callback) is not None
    for method in supported_methods(route)
    for subject in SUBJECTS
]


@pytest.mark.parametrize(("route", "method", "subject"), CASES)
def test_permission_matrix(route: Route, method: str, subject: str, mailoutbox):
    missing = [k for k in route.kwargs if k not in MAKERS]
    assert not missing, f"{route}: no fixture makes {missing}; add a maker to MAKERS"
    world = build_world()
    personas = world["personas"]
    user = None if subject == "anonymous" else personas.of(subject)
    url = reverse(route.name, kwargs={k: world[k] for k in route.kwargs})
    if route.name in QUERIES:
        url += "?" + urlencode(QUERIES[route.name](world))
    client = _client(route, user)

    body = {"format": "json"} if route.is_api and method != "GET" else {}
    response = getattr(client, method.lower())(url, {} if method != "GET" else None, **body)

    status = response.status_code
    if subject == "anonymous":
        if route.is_api:
            assert status == 401, (status, url)
        else:
            assert status == 302 and response.url.startswith(reverse("accounts:login")), (status, url)
        return
    if subject == "outsider":
        assert status == 404, (status, url)
        return
    action = declared_actions(route.callback)[method]
    if role_allows(subject, action, personas.project):
        assert status < 400 or status in ACCEPTABLE_WHEN_ALLOWED, (status, url, action, _text(response))
        if 300 <= status < 400:
            assert not response.url.startswith(reverse("accounts:login")), response.url
    else:
        assert status == 403, (status, url, action, _text(response))


def _text(response) -> str:
    return response.content[:300].decode(errors="replace") if hasattr(response, "content") else ""


# --- the OpenAPI schema: every project-scoped path in it is walked above --------------------------


def _schema_path(route: Route) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.route)


def test_every_schema_path_of_a_project_is_covered(personas):
    client = APIClient()
    client.force_authenticate(personas.owner)

    schema = client.get("/api/v1/schema/", {"format": "json"}).json()

    covered = {_schema_path(r): r for r in ROUTES if r.is_api}
    scoped = {path: ops for path, ops in schema["paths"].items() if "{project_id}" in path}
    assert scoped, "the schema lists no project-scoped path"
    assert set(scoped) <= set(covered), f"schema paths not walked: {sorted(set(scoped) - set(covered))}"
    for path, operations in scoped.items():
        methods = {m.upper() for m in operations if m.upper() in METHODS}
        assert methods <= set(supported_methods(covered[path])), (path, methods)
        assert methods <= set(declared_actions(covered[path].callback)), (path, methods)
