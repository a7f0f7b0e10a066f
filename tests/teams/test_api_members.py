"""Members through the API: roles, removal, leaving, ownership, and the rules around the owner."""

from __future__ import annotations

import pytest

from annotator.models import Membership, Role
from teams.models import Invitation
from tests.conftest import client_for
from tests.teams.helpers import invite

pytestmark = pytest.mark.django_db


def members_url(project, user=None) -> str:
    base = f"/api/v1/projects/{project.pk}/members/"
    return f"{base}{user.pk}/" if user else base


def role_of(project, user) -> str | None:
    return Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()


def test_every_member_sees_the_team(personas):
    response = client_for(personas.viewer).get(members_url(personas.project))

    assert response.status_code == 200
    rows = {row["user"]: row["role"] for row in response.json()}
    assert rows == {
        personas.owner.pk: "owner", personas.admin.pk: "admin", personas.annotator.pk: "annotator",
        personas.reviewer.pk: "reviewer", personas.viewer.pk: "viewer",
    }  # fmt: skip


def test_admin_changes_a_role(personas):
    response = client_for(personas.admin).patch(
        members_url(personas.project, personas.annotator), {"role": "reviewer"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["role"] == "reviewer"
    assert role_of(personas.project, personas.annotator) == Role.REVIEWER


@pytest.mark.parametrize("actor", ["admin", "owner"])
def test_nobody_makes_an_owner_by_role_change(personas, actor):
    response = client_for(personas.of(actor)).patch(
        members_url(personas.project, personas.annotator), {"role": "owner"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "use_transfer"


def test_admin_cannot_demote_or_remove_the_owner(personas):
    client = client_for(personas.admin)

    demote = client.patch(members_url(personas.project, personas.owner), {"role": "viewer"}, format="json")
    remove = client.delete(members_url(personas.project, personas.owner))

    assert (demote.status_code, remove.status_code) == (403, 403)
    assert demote.json()["error"]["code"] == remove.json()["error"]["code"] == "owner_protected"
    assert role_of(personas.project, personas.owner) == Role.OWNER


def test_removed_member_is_refused_at_once(personas):
    removed = client_for(personas.annotator)
    assert removed.get(f"/api/v1/projects/{personas.project.pk}/").status_code == 200

    response = client_for(personas.admin).delete(members_url(personas.project, personas.annotator))

    assert response.status_code == 204
    assert removed.get(f"/api/v1/projects/{personas.project.pk}/").status_code == 404


def test_the_last_owner_cannot_leave_or_be_removed(personas):
    leave = client_for(personas.owner).post(f"/api/v1/projects/{personas.project.pk}/leave/")
    remove = client_for(personas.owner).delete(members_url(personas.project, personas.owner))

    assert (leave.status_code, remove.status_code) == (409, 409)
    assert leave.json()["error"]["code"] == "last_owner"


def test_a_member_leaves(personas):
    response = client_for(personas.viewer).post(f"/api/v1/projects/{personas.project.pk}/leave/")

    assert response.status_code == 204
    assert role_of(personas.project, personas.viewer) is None


def test_owner_transfers_ownership_and_stays_as_admin(personas):
    url = f"/api/v1/projects/{personas.project.pk}/transfer-ownership/"

    response = client_for(personas.owner).post(url, {"user": personas.annotator.pk}, format="json")

    assert response.status_code == 200
    personas.project.refresh_from_db()
    assert personas.project.owner == personas.annotator
    assert role_of(personas.project, personas.annotator) == Role.OWNER
    assert role_of(personas.project, personas.owner) == Role.ADMIN
    # The former owner has lost the owner-only actions.
    assert client_for(personas.owner).delete(f"/api/v1/projects/{personas.project.pk}/").status_code == 403


def test_ownership_goes_only_to_a_member(personas):
    url = f"/api/v1/projects/{personas.project.pk}/transfer-ownership/"

    response = client_for(personas.owner).post(url, {"user": personas.outsider.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_member"


def test_admin_cannot_transfer_or_delete(personas):
    client = client_for(personas.admin)

    transfer = client.post(
        f"/api/v1/projects/{personas.project.pk}/transfer-ownership/", {"user": personas.admin.pk}, format="json"
    )
    delete = client.delete(f"/api/v1/projects/{personas.project.pk}/")

    assert (transfer.status_code, delete.status_code) == (403, 403)


def test_invitations_are_listed_for_admins_without_tokens(personas):
    invite(personas.project, personas.admin, "a@example.com")

    response = client_for(personas.admin).get(f"/api/v1/projects/{personas.project.pk}/invitations/?state=pending")

    (row,) = response.json()
    assert row["email"] == "a@example.com" and row["state"] == "pending" and row["send_count"] == 1
    assert not any("token" in key for key in row)


def test_revoking_twice_is_a_conflict(personas):
    invite(personas.project, personas.admin, "a@example.com")
    url = f"/api/v1/projects/{personas.project.pk}/invitations/{Invitation.objects.get().pk}/"

    first = client_for(personas.admin).delete(url)
    second = client_for(personas.admin).delete(url)

    assert (first.status_code, second.status_code) == (204, 409)
    assert second.json()["error"]["code"] == "invitation_closed"
