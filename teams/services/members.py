"""Changing who is in a project and with which role.

Rules beyond the role table: a project has exactly one owner, the member that
`Project.owner` names; ownership moves only by transfer; nobody but the owner
may demote or remove the owner, and the owner can neither leave nor be removed.

How the rules hold under concurrency: every change here runs in one transaction
that first locks the project row, then its memberships in id order (the same
order everywhere, so two changes never deadlock), and re-reads the roles under
that lock — the actor's included, since the view checked it before the lock.
Checks made on rows read before the lock are never trusted.

"At most one owner" is also a database constraint (a partial unique index,
`membership_one_owner`), so no code path can write a second owner. "At least
one owner" cannot be a portable constraint (it would need a deferrable check
across rows), so it is kept by these functions under the lock: none of them
deletes or demotes the owner row except `transfer_ownership`, which promotes
the new owner in the same transaction.

Every change is broadcast (after commit) so open websockets drop a removed
member at once.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from annotator.errors import CodedError
from annotator.events import broadcast
from annotator.models import Membership, Project, Role
from annotator.permissions import Action, role_allows


class MembershipError(CodedError):
    """A membership change refused: 409 unless the refusal says otherwise (403, 404, 400)."""

    status = 409


def _lock(project_id: int) -> tuple[Project, dict[int, Membership]]:
    """The project and its memberships by user id, locked until the transaction ends."""
    project = Project.objects.select_for_update().get(pk=project_id)
    memberships = (
        Membership.objects.select_for_update(of=("self",))
        .filter(project_id=project_id)
        .select_related("user")
        .order_by("pk")
    )
    return project, {m.user_id: m for m in memberships}


def _actor_role(project: Project, members: dict[int, Membership], actor: User, action: Action) -> Role:
    """The actor's role as it is now; refused if it no longer allows `action`."""
    mine = members.get(actor.pk)
    if mine is None:
        raise MembershipError("not_found", "No such project.", 404)
    if not role_allows(mine.role, action, project):
        raise MembershipError("forbidden", f"Your role ({mine.get_role_display()}) may not do this any more.", 403)
    return Role(mine.role)


def _target(members: dict[int, Membership], user_id: int) -> Membership:
    target = members.get(user_id)
    if target is None:
        raise MembershipError("not_member", "They are not a member of this project (any more).", 404)
    return target


def _removed(membership: Membership) -> None:
    """Tell the project (and so the removed user's own sockets) that the membership ended."""
    broadcast(membership.project_id, "membership.removed", {"user": membership.user_id})


def change_role(actor: User, membership: Membership, role: Role | str) -> Membership:
    """Give a member another (non-owner) role; returns the membership as saved."""
    if role not in Role.values:
        raise MembershipError("invalid_role", f"Unknown role {role!r}; use one of {Role.values}.", 400)
    if role == Role.OWNER:
        raise MembershipError("use_transfer", "Make someone the owner by transferring ownership.", 400)
    with transaction.atomic():
        project, members = _lock(membership.project_id)
        _actor_role(project, members, actor, Action.MANAGE_MEMBERS)
        target = _target(members, membership.user_id)
        if target.role == Role.OWNER:
            raise MembershipError("owner_protected", "The owner's role changes only when they transfer ownership.", 403)
        target.role = Role(role)
        target.save(update_fields=["role"])
        broadcast(project.pk, "membership.changed", {"user": target.user_id, "role": target.role})
    return target


def remove_member(actor: User, membership: Membership) -> None:
    with transaction.atomic():
        project, members = _lock(membership.project_id)
        actor_role = _actor_role(project, members, actor, Action.MANAGE_MEMBERS)
        target = _target(members, membership.user_id)
        if target.role == Role.OWNER:
            if actor_role != Role.OWNER:
                raise MembershipError("owner_protected", "Only an owner can remove an owner.", 403)
            raise MembershipError("last_owner", "The owner cannot be removed; transfer ownership first.")
        target.delete()
        _removed(target)


def leave(project: Project, user: User) -> None:
    with transaction.atomic():
        project, members = _lock(project.pk)
        mine = members.get(user.pk)
        if mine is None:
            raise MembershipError("not_found", "No such project.", 404)
        if mine.role == Role.OWNER:
            raise MembershipError("last_owner", "You are the owner: transfer ownership before leaving.")
        mine.delete()
        _removed(mine)


def transfer_ownership(project: Project, owner: User, new_owner_id: int) -> Membership:
    """Make another member the owner; the previous owner stays on as admin."""
    with transaction.atomic():
        project, members = _lock(project.pk)
        mine = members.get(owner.pk)
        if mine is None or mine.role != Role.OWNER:
            raise MembershipError("not_owner", "Only the owner can transfer ownership, and you no longer are.", 403)
        target = members.get(new_owner_id)
        if target is None:
            raise MembershipError("not_member", "Ownership can only go to a member of this project.", 400)
        if target.pk == mine.pk:
            raise MembershipError("already_owner", "You already own this project.", 400)
        # Demote first: the one-owner index refuses a second owner row even for a moment.
        mine.role = Role.ADMIN
        mine.save(update_fields=["role"])
        target.role = Role.OWNER
        target.save(update_fields=["role"])
        project.owner_id = target.user_id
        project.save(update_fields=["owner", "updated_at"])
        for changed in (mine, target):
            broadcast(project.pk, "membership.changed", {"user": changed.user_id, "role": changed.role})
    return target
