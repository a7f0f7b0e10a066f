"""A project keeps exactly one owner, whatever membership changes race each other.

Real threads, each with its own database connection, go through the API: on
PostgreSQL the row locks are exercised under true concurrency; on SQLite the
IMMEDIATE transactions serialise the writers. The database refuses a second
owner row outright; the services keep "at least one" under the project's lock.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from annotator.models import Membership, Project, Role
from tests.conftest import client_for
from tests.factories import UserFactory, member
from tests.security.threads import run_together

ROUNDS = 12


def _owners(project: Project) -> list[int]:
    return list(Membership.objects.filter(project=project, role=Role.OWNER).values_list("user_id", flat=True))


def _in_thread(call: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        try:
            return call()
        finally:
            connection.close()

    return run


def _assert_one_consistent_owner(project: Project) -> None:
    project.refresh_from_db()
    assert _owners(project) == [project.owner_id], f"project {project.pk}"


def _team() -> tuple[Project, object, object, object, object]:
    from annotator.services.projects import create_project

    owner = UserFactory()
    project = create_project(owner, "Race")
    return project, owner, member(project, Role.ADMIN), member(project, Role.ADMIN), member(project, Role.ANNOTATOR)


def _transfer(project: Project, owner, to) -> Callable[[], object]:
    url = f"/api/v1/projects/{project.pk}/transfer-ownership/"
    return _in_thread(lambda: client_for(owner).post(url, {"user": to.pk}, format="json").status_code)


def _patch_role(project: Project, actor, target, role: str) -> Callable[[], object]:
    url = f"/api/v1/projects/{project.pk}/members/{target.pk}/"
    return _in_thread(lambda: client_for(actor).patch(url, {"role": role}, format="json").status_code)


def _remove(project: Project, actor, target) -> Callable[[], object]:
    url = f"/api/v1/projects/{project.pk}/members/{target.pk}/"
    return _in_thread(lambda: client_for(actor).delete(url).status_code)


@pytest.mark.django_db(transaction=True)
def test_transfer_racing_a_role_change_of_the_same_member_leaves_one_owner():
    statuses = []
    for _ in range(ROUNDS):
        project, owner, target, admin, _ = _team()
        statuses.append(
            run_together(_transfer(project, owner, target), _patch_role(project, admin, target, "annotator"))
        )
        _assert_one_consistent_owner(project)
    # Every answer is a decision (done or refused), never a server error.
    assert all(code in (200, 403, 404) for pair in statuses for code in pair), statuses


@pytest.mark.django_db(transaction=True)
def test_transfer_racing_the_removal_of_the_same_member_leaves_one_owner():
    statuses = []
    for _ in range(ROUNDS):
        project, owner, target, admin, _ = _team()
        statuses.append(run_together(_transfer(project, owner, target), _remove(project, admin, target)))
        _assert_one_consistent_owner(project)
    assert all(code in (200, 204, 400, 403, 404, 409) for pair in statuses for code in pair), statuses


@pytest.mark.django_db(transaction=True)
def test_two_transfers_at_once_make_one_owner():
    statuses = []
    for _ in range(ROUNDS):
        project, owner, first, second, _ = _team()
        statuses.append(run_together(_transfer(project, owner, first), _transfer(project, owner, second)))
        _assert_one_consistent_owner(project)
    assert all(sorted(pair)[0] == 200 and sorted(pair)[1] in (200, 403) for pair in statuses), statuses


@pytest.mark.django_db(transaction=True)
def test_owner_leaving_while_transferring_keeps_an_owner():
    for _ in range(ROUNDS):
        project, owner, target, _, _ = _team()
        leave_url = f"/api/v1/projects/{project.pk}/leave/"
        run_together(
            _transfer(project, owner, target),
            _in_thread(lambda owner=owner, url=leave_url: client_for(owner).post(url).status_code),
        )
        _assert_one_consistent_owner(project)


@pytest.mark.django_db
def test_the_database_refuses_a_second_owner(personas):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(project=personas.project, user=personas.admin).update(role=Role.OWNER)

    assert _owners(personas.project) == [personas.owner.pk]


@pytest.mark.django_db
def test_a_demoted_actor_is_refused_under_the_lock(personas):
    """The view checked the actor's role before the transaction; the service checks it again inside."""
    from teams.services import members as member_service

    membership = Membership.objects.get(project=personas.project, user=personas.annotator)
    Membership.objects.filter(project=personas.project, user=personas.admin).update(role=Role.VIEWER)

    with pytest.raises(member_service.MembershipError) as refused:
        member_service.change_role(personas.admin, membership, Role.VIEWER)

    assert refused.value.code == "forbidden"
    assert Membership.objects.get(pk=membership.pk).role == Role.ANNOTATOR


@pytest.mark.django_db(transaction=True)
def test_the_migration_repairs_projects_with_two_owners_or_none():
    """Databases written by the racy code may hold two owner rows or none; the migration mends both."""
    executor = MigrationExecutor(connection)
    before = [("annotator", "0001_initial")]
    after = [("annotator", "0002_project_one_owner")]
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    User, Project_, Membership_ = (
        apps.get_model(*name.split(".")) for name in ("accounts.User", "annotator.Project", "annotator.Membership")
    )
    ada, bob, cy = (User.objects.create(email=f"{n}@example.com") for n in ("ada", "bob", "cy"))
    two = Project_.objects.create(name="two owners", owner=bob)
    none = Project_.objects.create(name="no owner", owner=ada)
    gone = Project_.objects.create(name="owner not a member", owner=cy)
    for user, role in ((ada, "owner"), (bob, "owner"), (cy, "annotator")):
        Membership_.objects.create(project=two, user=user, role=role)
    Membership_.objects.create(project=none, user=ada, role="annotator")
    Membership_.objects.create(project=none, user=bob, role="admin")
    Membership_.objects.create(project=gone, user=ada, role="admin")

    try:
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        roles = {  # no select_related: the current Project model has columns later migrations add
            (project, email.split("@")[0]): role
            for project, email, role in Membership.objects.values_list("project__name", "user__email", "role")
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert roles == {
        ("two owners", "ada"): "admin",
        ("two owners", "bob"): "owner",
        ("two owners", "cy"): "annotator",
        ("no owner", "ada"): "owner",
        ("no owner", "bob"): "admin",
        ("owner not a member", "ada"): "admin",
        ("owner not a member", "cy"): "owner",
    }
