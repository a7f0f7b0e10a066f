"""The Django admin for operators: every list answers for staff with data, nobody else gets in,
and nothing that services keep consistent (roles, images, jobs) can be added, edited or deleted there."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from annotator.models import ExportJob, Image, ImportJob, Membership, Project, Role, SyncJob
from teams.models import Invitation
from tests.factories import ImageFactory, UserFactory
from training.models import Artifact, Run

pytestmark = pytest.mark.django_db

OURS = {"annotator", "training", "teams"}
REGISTERED = sorted((m._meta.app_label, m._meta.model_name) for m in admin.site._registry if m._meta.app_label in OURS)
SERVICE_KEPT = [Membership, Image, ImportJob, ExportJob, SyncJob, Run, Invitation]


@pytest.fixture
def data(personas):
    project = personas.project
    ImageFactory(project=project)
    ImportJob.objects.create(project=project, format="coco", created_by=personas.owner)
    ExportJob.objects.create(project=project, format="voc", created_by=personas.owner)
    SyncJob.objects.create(project=project, requested_by=personas.owner)
    run = Run.objects.create(project=project, kind="detection", created_by=personas.owner)
    Artifact.objects.create(run=run, name="model", key="k", size_bytes=1, sha256="0" * 64, content_type="x")
    Invitation.objects.create(
        project=project, email="new@example.com", role=Role.ANNOTATOR, token_hash="h" * 64, invited_by=personas.owner,
        expires_at="2100-01-01T00:00:00Z",
    )  # fmt: skip
    return personas


@pytest.fixture
def operator(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_operators_models_are_registered():
    wanted = {("annotator", m) for m in ("project", "membership", "image", "importjob", "exportjob", "syncjob")}
    assert wanted | {("training", "run"), ("teams", "invitation")} <= set(REGISTERED)


@pytest.mark.parametrize(("app", "model"), REGISTERED)
def test_each_list_and_its_first_row_answer_200_for_staff(operator, data, app, model):
    listing = operator.get(reverse(f"admin:{app}_{model}_changelist"))
    assert listing.status_code == 200
    row = next(m for m in admin.site._registry if (m._meta.app_label, m._meta.model_name) == (app, model))
    first = row.objects.order_by("pk").first()
    assert first is not None, f"no {model} row to show"
    assert operator.get(reverse(f"admin:{app}_{model}_change", args=[first.pk])).status_code == 200
    # searching exercises search_fields' joins
    assert operator.get(reverse(f"admin:{app}_{model}_changelist"), {"q": "x"}).status_code == 200


@pytest.mark.parametrize(("app", "model"), REGISTERED)
def test_people_who_are_not_staff_are_sent_to_log_in(client, data, app, model):
    client.force_login(data.owner)  # a project owner, but no operator
    response = client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("model", SERVICE_KEPT, ids=lambda m: m.__name__)
def test_service_kept_rows_cannot_be_added_changed_or_deleted(operator, data, model):
    meta = model._meta
    first = model.objects.order_by("pk").first()
    assert operator.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add")).status_code == 403
    assert operator.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[first.pk])).status_code == 403


def test_a_second_owner_cannot_be_made_in_the_admin(operator, data):
    """The one-owner rule: a role POSTed to the read-only membership page changes nothing."""
    membership = Membership.objects.get(project=data.project, user=data.viewer)
    url = reverse("admin:annotator_membership_change", args=[membership.pk])
    response = operator.post(url, {"project": data.project.pk, "user": data.viewer.pk, "role": Role.OWNER})
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
    assert Membership.objects.filter(project=data.project, role=Role.OWNER).count() == 1


def test_an_operator_may_rename_a_project_but_not_move_its_owner(operator, data):
    project = data.project
    url = reverse("admin:annotator_project_change", args=[project.pk])
    form = {"name": "Renamed", "annotators_create_labels": "on", "owner": data.outsider.pk, "type": "classification"}
    form |= {"labels-TOTAL_FORMS": "0", "labels-INITIAL_FORMS": "0"}
    labels = list(project.labels.all())
    for i, label in enumerate(labels):
        form |= {f"labels-{i}-id": label.pk, f"labels-{i}-project": project.pk}
    form["labels-TOTAL_FORMS"] = form["labels-INITIAL_FORMS"] = str(len(labels))
    response = operator.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    project = Project.objects.get(pk=project.pk)
    assert (project.name, project.owner, project.type) == ("Renamed", data.owner, "localization")
