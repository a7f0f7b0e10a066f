"""Schemathesis against a live server: every operation of the schema, bounded examples.

Three checks over every answer: no server error (5xx), the body matches the documented
schema (`Error` on errors), and the status code is one the operation documents.

The server is pytest-django's `live_server` (a real HTTP server in a thread, on the test
database, committed data via `transactional_db`); schemathesis loads the schema the
server serves and calls it over HTTP with the owner's token. Path ids are the real rows
half the time (so requests reach the views' logic) and generated the other half (404s).

Order matters only for what destroys the fixture's data: the operations that delete or
hand over things run after all the others, and deleting the project runs last.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from PIL import Image as PILImage
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from annotator.models import ExportJob, ImportJob, Role
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from annotator.services.images import add_images
from annotator.services.projects import create_label, create_project
from assist.models import AutoLabelJob, PredictionJob
from teams.services.invitations import invite
from tests.factories import UserFactory, member
from training.models import Run, RunKind

pytestmark = pytest.mark.integration  # a real HTTP server, over loopback

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
MAX_EXAMPLES = 20
# Operations that take away what the others need: last, in this order.
DESTRUCTIVE = [
    ("DELETE", "/api/v1/projects/{project_id}/images/{image_id}/"),
    ("POST", "/api/v1/projects/{project_id}/images/bulk/delete/"),
    ("DELETE", "/api/v1/projects/{project_id}/labels/{label_id}/"),
    ("POST", "/api/v1/projects/{project_id}/labels/{label_id}/merge/"),
    ("DELETE", "/api/v1/projects/{project_id}/invitations/{invitation_id}/"),
    ("DELETE", "/api/v1/projects/{project_id}/members/{user_id}/"),
    ("POST", "/api/v1/projects/{project_id}/leave/"),  # the owner cannot leave: 409, but keep it late
    ("POST", "/api/v1/projects/{project_id}/transfer-ownership/"),  # the token's user may stop being owner
    ("DELETE", "/api/v1/projects/{project_id}/"),
]


def _jpeg(color: tuple[int, int, int]) -> io.BytesIO:
    out = io.BytesIO()
    PILImage.new("RGB", (64, 48), color).save(out, "JPEG")
    out.seek(0)
    return out


@pytest.fixture
def seeded(transactional_db) -> dict:
    """A project with labels, images (bytes in the bucket), annotations, a member, jobs and a run."""
    owner = UserFactory()
    project = create_project(owner, "Fuzzed", "localization")
    label = create_label(project, "cat", "#ff0000")
    create_label(project, "dog", "")
    outcomes = add_images(project, owner, [("a.jpg", _jpeg((200, 30, 30))), ("b.jpg", _jpeg((30, 200, 30)))])
    image = outcomes[0].image
    box = BoxData(label_id=label.pk, x=0.1, y=0.1, x2=0.5, y2=0.5)
    save_annotations(image, AnnotationSet(boxes=[box], label_ids=[], negative=False), base_version=0, user=owner)
    annotator = member(project, Role.ANNOTATOR)
    invitation = invite(project, owner, ["new@example.com"], Role.ANNOTATOR)[0].invitation
    run = Run.objects.create(project=project, kind=RunKind.DETECTION, created_by=owner)
    return {
        "token": Token.objects.create(user=owner).key,
        "ids": {
            "project_id": project.pk,
            "image_id": image.pk,
            "label_id": label.pk,
            "user_id": annotator.pk,
            "invitation_id": invitation.pk,
            "import_id": ImportJob.objects.create(project=project, format="coco", created_by=owner).pk,
            "export_id": ExportJob.objects.create(project=project, format="coco", created_by=owner).pk,
            "run_id": run.pk,
            "prediction_id": PredictionJob.objects.create(project=project, run=run, created_by=owner).pk,
            "autolabel_id": AutoLabelJob.objects.create(project=project, run=run, threshold=0.5, created_by=owner).pk,
        },
    }


def _ordered(schema: schemathesis.BaseSchema) -> Iterator[schemathesis.APIOperation]:
    operations = [result.ok() for result in schema.get_all_operations()]
    last = {key: i for i, key in enumerate(DESTRUCTIVE)}
    return iter(sorted(operations, key=lambda op: last.get((op.method.upper(), op.path), -1)))


def _run(operation: schemathesis.APIOperation, ids: dict, headers: dict, base_url: str) -> str | None:
    """Fuzz one operation; the first failure as text, or None."""
    names = set(re.findall(r"{(\w+)}", operation.path))
    real = {name: ids[name] for name in names if name in ids}
    strategy = st.one_of(operation.as_strategy(path_parameters=real), operation.as_strategy())

    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # no shrinking: report, don't minimise
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=30)

    try:
        fuzz()
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup: reported per operation below
        return f"{operation.method.upper()} {operation.path}: {str(exc).strip()[:1500]}"
    return None


def test_every_operation_conforms_to_the_schema(live_server, seeded: dict):
    headers = {"Authorization": f"Token {seeded['token']}"}
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/v1/schema/?format=json", headers=headers, config=schemathesis.Config()
    )
    failures = []
    count = 0
    for operation in _ordered(schema):
        count += 1
        if failure := _run(operation, seeded["ids"], headers, live_server.url):
            failures.append(failure)
    assert count >= 50, f"only {count} operations in the schema"
    assert not failures, f"{len(failures)} of {count} operations failed:\n\n" + "\n\n".join(failures)
