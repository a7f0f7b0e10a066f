"""Changing who is in a project and with which role.

Rules beyond the role table: a project always has an owner; ownership moves
only by transfer; nobody but an owner may demote or remove an owner. Every
change is broadcast so open websockets drop a removed member at once.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from annotator.events import broadcast
from annotator.models import Membership, Project, Role


class MembershipError(Exception):
    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _owner_count(project: Project) -> int:
    return Membership.objects.filter(project=project, role=Role.OWNER).count()


def _removed(membership: Membership) -> None:
    """Tell the project (and so the removed user's own sockets) that the membership ended."""
    broadcast(membership.project_id, "membership.removed", {"user": membership.user_id})


def change_role(membership: Membership, role: Role | str) -> Membership:
    if role not in Role.values:
        raise MembershipError("invalid_role", f"Unknown role {role!r}; use one of {Role.values}.", 400)
    if role == Role.OWNER:
        raise MembershipError("use_transfer", "Make someone the owner by transferring ownership.", 400)
    if membership.role == Role.OWNER:
        raise MembershipError("owner_protected", "The owner's role changes only when they transfer ownership.", 403)
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    broadcast(membership.project_id, "membership.changed", {"user": membership.user_id, "role": membership.role})
    return membership


@transaction.atomic
def remove_member(actor_role: Role, membership: Membership) -> None:
    if membership.role == Role.OWNER:
        if actor_role != Role.OWNER:
            raise MembershipError("owner_protected", "Only an owner can remove an owner.", 403)
        if _owner_count(membership.project) <= 1:
            raise MembershipError("last_owner", "The last owner cannot be removed; transfer ownership first.")
    membership.delete()
    _removed(membership)


@transaction.atomic
def leave(project: Project, user: User) -> None:
    membership = Membership.objects.select_for_update().get(project=project, user=user)
    if membership.role == Role.OWNER and _owner_count(project) <= 1:
        raise MembershipError("last_owner", "You are the last owner: transfer ownership before leaving.")
    membership.delete()
    _removed(membership)


@transaction.atomic
def transfer_ownership(project: Project, owner: User, new_owner_id: int) -> Membership:
    """Make another member the owner; the previous owner stays on as admin."""
    target = (
        Membership.objects.select_for_update()
        .filter(project=project, user_id=new_owner_id)
        .select_related("user")
        .first()
    )
    if target is None:
        raise MembershipError("not_member", "Ownership can only go to a member of this project.", 400)
    if target.user_id == owner.pk:
        raise MembershipError("already_owner", "You already own this project.", 400)
    Membership.objects.filter(project=project, user=owner).update(role=Role.ADMIN)
    target.role = Role.OWNER
    target.save(update_fields=["role"])
    project.owner = target.user
    project.save(update_fields=["owner", "updated_at"])
    for user_id, role in ((owner.pk, Role.ADMIN), (target.user_id, Role.OWNER)):
        broadcast(project.pk, "membership.changed", {"user": user_id, "role": role})
    return target
